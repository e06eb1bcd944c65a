package skills

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/skills/internal/interrupt"
)

// Config tunes the runtime. Zero values take the defaults in brackets.
type Config struct {
	// CacheDir keeps compiled code across restarts ("" = memory only). The
	// runtime owns the directory: files it did not write are removed.
	CacheDir string
	// CacheMaxBytes bounds CacheDir, least recently used modules removed
	// first [1 GiB]; negative: unbounded and unmanaged (tests that share one
	// directory between runtimes).
	CacheMaxBytes int64
	// Shared, if set and CacheDir is empty, keeps compiled code for every
	// runtime given the same cache, and is not closed with the runtime.
	// Nothing is ever evicted from it: it is for a process that starts many
	// short-lived runtimes of the same modules (a test suite), not a server.
	Shared wazero.CompilationCache
	// MaxModules bounds the compiled modules kept in memory, least recently
	// used evicted first [32]; a compiled Go guest takes ≈ 13 MB.
	MaxModules int
	// MemoryPages caps each instance's memory in 64 KiB pages [1024 = 64 MiB].
	MemoryPages uint32
	// Timeout is the longest a call may run [10s]; a manifest may ask for less.
	Timeout time.Duration
	// Limits are the operator's maxima, which always apply; a manifest may ask
	// for less [output 1 MiB, 10,000 host calls, KV values 100 KiB, log 64 KiB].
	Limits abi.Limits
	// PoolPerUser is how many warm instances are kept per (module, user) [2];
	// MaxIdle bounds warm instances in total [256], MaxIdleBytes their memory
	// in total [512 MiB].
	PoolPerUser  int
	MaxIdle      int
	MaxIdleBytes int64
	// Fresh instantiates every call afresh and keeps no warm instances,
	// whatever the skills' manifests say. Calls without a user (anonymous
	// machine payers) always get a fresh instance.
	Fresh bool
	// FreshMaxStart: a module published without an isolation of its own gets
	// IsolationFresh when instantiating it takes at most this (see
	// Runtime.Isolation) [DefaultFreshMaxStart]; negative: never.
	FreshMaxStart time.Duration
	// MaxWarmBytes: an instance whose memory grew past this is not kept warm
	// [16 MiB]; a Go guest starts near 4 MiB.
	MaxWarmBytes uint32
	// MaxActive bounds calls running at once [8 × GOMAXPROCS, at least 8];
	// further calls wait their turn (bounded by their request's context), so
	// a burst of calls does not thrash the CPUs into timeouts.
	MaxActive int
	// MaxStarting bounds cold starts (instantiation with _initialize) at once
	// [2 × GOMAXPROCS, at least 4]. A cold start holds none of MaxActive's
	// slots, and waiting for its turn (bounded by the request's context)
	// holds nothing.
	MaxStarting int
	// InitTimeout bounds a cold start's instantiation [Timeout / 5]; it stays
	// well below Timeout, so that a skill whose initialisation never ends
	// holds a start slot briefly and no run slot at all.
	InitTimeout time.Duration
	Log         *slog.Logger
}

// Default operator maxima of a call.
const (
	DefaultMaxOutput    = 1 << 20
	DefaultMaxHostCalls = 10_000
)

func (c *Config) defaults() {
	if c.CacheMaxBytes == 0 {
		c.CacheMaxBytes = 1 << 30
	}
	if c.MaxModules == 0 {
		c.MaxModules = 32
	}
	if c.MemoryPages == 0 {
		c.MemoryPages = 1024
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Limits.MaxOutput <= 0 {
		c.Limits.MaxOutput = DefaultMaxOutput
	}
	if c.Limits.MaxHostCalls <= 0 {
		c.Limits.MaxHostCalls = DefaultMaxHostCalls
	}
	if c.Limits.MaxKVValue <= 0 {
		c.Limits.MaxKVValue = abi.DefaultMaxKVValue
	}
	if c.Limits.MaxLogBytes <= 0 {
		c.Limits.MaxLogBytes = abi.DefaultMaxLogBytes
	}
	if c.PoolPerUser == 0 {
		c.PoolPerUser = 2
	}
	if c.MaxIdle == 0 {
		c.MaxIdle = 256
	}
	if c.MaxIdleBytes == 0 {
		c.MaxIdleBytes = 512 << 20
	}
	if c.MaxWarmBytes == 0 {
		c.MaxWarmBytes = 16 << 20
	}
	if c.FreshMaxStart == 0 {
		c.FreshMaxStart = DefaultFreshMaxStart
	}
	if c.InitTimeout == 0 {
		c.InitTimeout = c.Timeout / 5
	}
	if c.MaxActive == 0 {
		c.MaxActive = max(8, 8*runtime.GOMAXPROCS(0))
	}
	if c.MaxStarting == 0 {
		c.MaxStarting = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Runtime compiles skills and runs their calls in per-user instance pools: an
// instance is only ever reused for the same user (never shared between two,
// never kept for a call without a user), and is discarded after any trap,
// timeout or failure of the host's limits. Compiled modules, warm instances
// and the on-disk cache are each bounded, least recently used dropped first.
type Runtime struct {
	cfg       Config
	rt        wazero.Runtime
	cache     wazero.CompilationCache
	disk      *diskCache
	active    chan struct{} // run slots
	starting  chan struct{} // cold-start slots
	compiling chan struct{} // one compile at a time
	mu        sync.Mutex
	modules   map[string]*Module
	mlru      *list.List // of *Module, least recently used at the front
	idle      map[poolKey][]*instance
	lru       *list.List // of *instance, least recently used at the front
	idleBytes int64
	closed    bool
}

// New creates the runtime (one wazero runtime for every skill).
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg.defaults()
	rc := runtimeConfig(abi.RuntimeConfig(cfg.MemoryPages))
	var cache wazero.CompilationCache
	var disk *diskCache
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("skills cache dir: %w", err)
		}
		var err error
		if disk, err = openDiskCache(cfg.CacheDir, cfg.CacheMaxBytes, cfg.Log); err != nil {
			return nil, fmt.Errorf("skills cache dir: %w", err)
		}
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("skills cache dir: %w", err)
		}
		rc = rc.WithCompilationCache(cache)
	} else if cfg.Shared != nil {
		rc = rc.WithCompilationCache(cfg.Shared)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if err := instantiateWASI(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	if _, err := abi.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	if err := interrupt.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return &Runtime{cfg: cfg, rt: rt, cache: cache, disk: disk,
		active: make(chan struct{}, cfg.MaxActive), starting: make(chan struct{}, cfg.MaxStarting),
		compiling: make(chan struct{}, 1),
		modules:   map[string]*Module{}, mlru: list.New(), idle: map[poolKey][]*instance{}, lru: list.New()}, nil
}

// Maxima are the operator's bounds on what a manifest may ask for.
type Maxima struct {
	Timeout        time.Duration
	MemoryMB       int
	MaxOutputBytes int
	MaxHostCalls   int
}

// Maxima reports the runtime's bounds, which publishing holds manifests to.
func (r *Runtime) Maxima() Maxima {
	return Maxima{Timeout: r.cfg.Timeout, MemoryMB: int(r.cfg.MemoryPages / 16),
		MaxOutputBytes: r.cfg.Limits.MaxOutput, MaxHostCalls: r.cfg.Limits.MaxHostCalls}
}

// Request is one call of a skill.
type Request struct {
	// UserID keys the warm pool; "" (an anonymous caller) always gets a
	// fresh instance, so two anonymous payers never share one.
	UserID string
	// Fresh gives this call an instance of its own, closed after it (the
	// skill's isolation is IsolationFresh).
	Fresh   bool
	Input   []byte
	Caps    abi.Capabilities
	Limits  abi.Limits
	Timeout time.Duration // 0: the runtime's
	// Started, if set, is called when this call started an instance (not
	// when it took a warm one), with the time that took.
	Started func(took time.Duration)
}

// Errors of Call that are not the skill's own failures.
var (
	ErrTimeout = errors.New("skill call exceeded its deadline")
	ErrCrashed = errors.New("skill crashed")
	// ErrEvicted: the module was dropped from memory since it was compiled;
	// compile it again (from the disk cache, usually) and retry.
	ErrEvicted = errors.New("skill module evicted; compile it again")
)

// Call runs one call. A nil error means the skill ran to the end: the output,
// or its failure (which includes host-limit failures such as
// OUTPUT_TOO_LARGE). ErrTimeout and ErrCrashed (a trap, out of memory) are the
// runtime's own verdicts.
func (r *Runtime) Call(ctx context.Context, m *Module, req Request) ([]byte, *abi.Failure, error) {
	if err := r.pin(m); err != nil {
		return nil, nil, err
	}
	defer r.unpin(m)
	key := poolKey{sha: m.SHA256, user: req.UserID}
	var inst *instance
	if !req.Fresh {
		inst = r.takeIdle(key)
	}
	if inst == nil {
		var err error
		t0 := time.Now()
		if inst, err = r.coldStart(ctx, m, key); err != nil {
			return nil, nil, err
		}
		if req.Started != nil {
			req.Started(time.Since(t0))
		}
		inst.fresh = req.Fresh
	}
	// Only now take a run slot: a cold start waits for and holds none.
	select {
	case r.active <- struct{}{}:
	case <-ctx.Done():
		r.release(inst)
		return nil, nil, ctx.Err()
	}
	defer func() { <-r.active }()
	timeout := r.cfg.Timeout
	if req.Timeout > 0 && req.Timeout < timeout {
		timeout = req.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	call := abi.NewCall(req.Input, req.Caps, r.limits(req.Limits))
	inst.stderr.Reset()
	disarm := interrupt.Arm(ctx, inst.mod)
	err := inst.run.Run(ctx, call)
	disarm() // a deadline that zeroed the budget as the call returned costs the next call one host call
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			inst.mod.Close(context.Background())
			return nil, nil, ErrTimeout
		}
		reason := crashReason(err, inst.stderr.String(), inst.mod.Memory(), r.cfg.MemoryPages)
		inst.mod.Close(context.Background())
		// A module that recorded its failure and then trapped ended the call
		// on purpose: the AssemblyScript SDK's abort (a thrown error, a failed
		// bounds check) reports 500 SKILL_PANIC so, as the Go SDK reports a
		// recovered panic. Running out of memory stays the platform's verdict.
		if _, f, _ := call.Result(); f != nil && f.Code != abi.CodeSkillFailed && reason != reasonOOM {
			r.cfg.Log.Debug("skill aborted", "module", m.SHA256[:12], "code", f.Code, "err", err)
			return nil, f, nil
		}
		r.cfg.Log.Warn("skill crashed", "module", m.SHA256[:12], "err", err, "stderr", inst.stderr.String())
		return nil, nil, fmt.Errorf("%w: %s", ErrCrashed, reason)
	}
	out, failure, _ := call.Result()
	if failure != nil && (failure.Code == abi.CodeOutputTooLarge || failure.Code == abi.CodeHostCallLimit) {
		// The guest was stopped mid-work by a host limit: start afresh next time.
		inst.mod.Close(context.Background())
	} else {
		r.release(inst)
	}
	return out, failure, nil
}

// coldStart waits for a start slot (as long as ctx allows), then
// instantiates a module, running its initialisation, within InitTimeout: past
// it, ErrTimeout; if the caller's own context ends first, its error.
func (r *Runtime) coldStart(ctx context.Context, m *Module, key poolKey) (*instance, error) {
	select {
	case r.starting <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.starting }()
	ictx, cancel := context.WithTimeout(ctx, r.cfg.InitTimeout)
	defer cancel()
	inst := &instance{key: key}
	mod, err := r.instantiate(ictx, m, abi.ModuleConfig("").WithStderr(&inst.stderr))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if ictx.Err() != nil {
			return nil, ErrTimeout
		}
		return nil, fmt.Errorf("%w: %v", ErrCrashed, err)
	}
	if inst.run, err = abi.NewRunner(mod); err != nil {
		mod.Close(context.Background())
		return nil, fmt.Errorf("%w: %v", ErrCrashed, err)
	}
	inst.mod = mod
	return inst, nil
}

const reasonOOM = "out of memory"

// crashReason names a crash for the caller. Go's runtime reports running out
// of memory by writing "fatal error: out of memory" to its standard error and
// trapping (unreachable), so the instance's standard error tells, as does a
// trap with the memory grown to its cap.
func crashReason(err error, stderr string, mem api.Memory, maxPages uint32) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "out of memory"), strings.Contains(stderr, "out of memory"),
		mem != nil && uint64(mem.Size()) >= uint64(maxPages)*65536:
		return reasonOOM
	case strings.Contains(s, "memory"):
		return "out of memory or memory fault"
	case strings.Contains(s, "unreachable"):
		return "trap (unreachable)"
	}
	return "trap"
}

// limits caps a request's limits at the operator's maxima: a manifest may
// ask for less, never more (whatever it was published with).
func (r *Runtime) limits(l abi.Limits) abi.Limits {
	max := r.cfg.Limits // every field set by defaults
	pick := func(want, cap int) int {
		if want > 0 && want < cap {
			return want
		}
		return cap
	}
	return abi.Limits{MaxOutput: pick(l.MaxOutput, max.MaxOutput), MaxHostCalls: pick(l.MaxHostCalls, max.MaxHostCalls),
		MaxKVValue: pick(l.MaxKVValue, max.MaxKVValue), MaxLogBytes: pick(l.MaxLogBytes, max.MaxLogBytes)}
}

// Running is how many calls hold a run slot now, and Starting how many are
// instantiating a cold instance: a gauge for operators, and what tests wait on.
func (r *Runtime) Running() int  { return len(r.active) }
func (r *Runtime) Starting() int { return len(r.starting) }

// Close releases every instance, module and the runtime.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	for _, pool := range r.idle {
		for _, inst := range pool {
			inst.mod.Close(ctx)
		}
	}
	r.idle = map[poolKey][]*instance{}
	r.lru.Init()
	r.idleBytes = 0
	r.mu.Unlock()
	err := r.rt.Close(ctx)
	if r.cache != nil {
		err = errors.Join(err, r.cache.Close(ctx))
	}
	if r.disk != nil {
		err = errors.Join(err, r.disk.save())
	}
	return err
}
