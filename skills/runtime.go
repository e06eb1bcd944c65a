package skills

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
)

// Config tunes the runtime. Zero values take the defaults in brackets.
type Config struct {
	// CacheDir keeps compiled code across restarts ("" = memory only).
	CacheDir string
	// MemoryPages caps each instance's memory in 64 KiB pages [1024 = 64 MiB].
	MemoryPages uint32
	// Timeout is the longest a call may run [10s]; a manifest may ask for less.
	Timeout time.Duration
	// Limits are the host-side maxima; a manifest may ask for less.
	Limits abi.Limits
	// PoolPerUser is how many warm instances are kept per (module, user) [2];
	// MaxIdle bounds warm instances in total [256].
	PoolPerUser int
	MaxIdle     int
	// Fresh instantiates every call afresh and keeps no warm instances.
	Fresh bool
	// MaxWarmBytes: an instance whose memory grew past this is not kept warm
	// [16 MiB]; a Go guest starts near 4 MiB.
	MaxWarmBytes uint32
	// MaxActive bounds calls running at once [8 × GOMAXPROCS, at least 8];
	// further calls wait their turn (bounded by their request's context), so
	// a burst of cold starts does not thrash the CPUs into timeouts.
	MaxActive int
	// InitTimeout bounds instantiating a cold instance [30s]. It is separate
	// from Timeout: a cold start is the platform's cost, not the skill's run.
	InitTimeout time.Duration
	Log         *slog.Logger
}

func (c *Config) defaults() {
	if c.MemoryPages == 0 {
		c.MemoryPages = 1024
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.PoolPerUser == 0 {
		c.PoolPerUser = 2
	}
	if c.MaxIdle == 0 {
		c.MaxIdle = 256
	}
	if c.MaxWarmBytes == 0 {
		c.MaxWarmBytes = 16 << 20
	}
	if c.InitTimeout == 0 {
		c.InitTimeout = 30 * time.Second
	}
	if c.MaxActive == 0 {
		c.MaxActive = max(8, 8*runtime.GOMAXPROCS(0))
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Runtime compiles skills once and runs their calls in per-user instance
// pools: an instance is only ever reused for the same user (never shared
// between two), and is discarded after any trap, timeout or failure of the
// host's limits.
type Runtime struct {
	cfg     Config
	rt      wazero.Runtime
	cache   wazero.CompilationCache
	active  chan struct{}
	mu      sync.Mutex
	modules map[string]*Module
	idle    map[poolKey][]*instance
	lru     *list.List // of *instance, least recently used at the front
	closed  bool
}

// Module is a compiled skill module.
type Module struct {
	SHA256 string
	cm     wazero.CompiledModule
}

type poolKey struct{ sha, user string }

type instance struct {
	key    poolKey
	mod    api.Module
	elem   *list.Element
	stderr head
}

// New creates the runtime (one wazero runtime for every skill).
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg.defaults()
	rc := abi.RuntimeConfig(cfg.MemoryPages)
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("skills cache dir: %w", err)
		}
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("skills cache dir: %w", err)
		}
		rc = rc.WithCompilationCache(cache)
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
	return &Runtime{cfg: cfg, rt: rt, cache: cache, active: make(chan struct{}, cfg.MaxActive),
		modules: map[string]*Module{}, idle: map[poolKey][]*instance{}, lru: list.New()}, nil
}

// ImportError is a module refused for its imports or exports.
type ImportError struct{ Err error }

func (e *ImportError) Error() string { return e.Err.Error() }
func (e *ImportError) Unwrap() error { return e.Err }

// Compile validates and compiles a module, once per SHA-256.
func (r *Runtime) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	sha := hex.EncodeToString(sum[:])
	r.mu.Lock()
	m, ok := r.modules[sha]
	r.mu.Unlock()
	if ok {
		return m, nil
	}
	cm, err := r.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, &ImportError{Err: fmt.Errorf("not a valid WebAssembly module: %v", err)}
	}
	if err := abi.CheckImports(cm); err != nil {
		cm.Close(ctx)
		return nil, &ImportError{Err: err}
	}
	m = &Module{SHA256: sha, cm: cm}
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.modules[sha]; ok {
		cm.Close(ctx)
		return prev, nil
	}
	r.modules[sha] = m
	return m, nil
}

// Request is one call of a skill.
type Request struct {
	UserID  string
	Input   []byte
	Caps    abi.Capabilities
	Limits  abi.Limits
	Timeout time.Duration // 0: the runtime's
}

// Errors of Call that are not the skill's own failures.
var (
	ErrTimeout = errors.New("skill call exceeded its deadline")
	ErrCrashed = errors.New("skill crashed")
)

// Call runs one call. A nil error means the skill ran to the end: the output,
// or its failure (which includes host-limit failures such as
// OUTPUT_TOO_LARGE). ErrTimeout and ErrCrashed (a trap, out of memory) are the
// runtime's own verdicts.
func (r *Runtime) Call(ctx context.Context, m *Module, req Request) ([]byte, *abi.Failure, error) {
	select {
	case r.active <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	defer func() { <-r.active }()
	key := poolKey{sha: m.SHA256, user: req.UserID}
	ictx, icancel := context.WithTimeout(ctx, r.cfg.InitTimeout)
	inst, err := r.acquire(ictx, m, key)
	icancel()
	if err != nil {
		if ictx.Err() != nil {
			return nil, nil, ErrTimeout
		}
		return nil, nil, fmt.Errorf("%w: %v", ErrCrashed, err)
	}
	timeout := r.cfg.Timeout
	if req.Timeout > 0 && req.Timeout < timeout {
		timeout = req.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	call := abi.NewCall(req.Input, req.Caps, r.limits(req.Limits))
	inst.stderr.Reset()
	err = abi.Run(ctx, inst.mod, call)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			inst.mod.Close(context.Background())
			return nil, nil, ErrTimeout
		}
		reason := crashReason(err, inst.stderr.String(), inst.mod.Memory(), r.cfg.MemoryPages)
		inst.mod.Close(context.Background())
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

// crashReason names a crash for the caller. Go's runtime reports running out
// of memory by writing "fatal error: out of memory" to its standard error and
// trapping (unreachable), so the instance's standard error tells, as does a
// trap with the memory grown to its cap.
func crashReason(err error, stderr string, mem api.Memory, maxPages uint32) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "out of memory"), strings.Contains(stderr, "out of memory"),
		mem != nil && uint64(mem.Size()) >= uint64(maxPages)*65536:
		return "out of memory"
	case strings.Contains(s, "memory"):
		return "out of memory or memory fault"
	case strings.Contains(s, "unreachable"):
		return "trap (unreachable)"
	}
	return "trap"
}

func (r *Runtime) limits(l abi.Limits) abi.Limits {
	max := r.cfg.Limits
	pick := func(want, cap int) int {
		if want > 0 && (cap <= 0 || want < cap) {
			return want
		}
		return cap
	}
	return abi.Limits{MaxOutput: pick(l.MaxOutput, max.MaxOutput), MaxHostCalls: pick(l.MaxHostCalls, max.MaxHostCalls),
		MaxKVValue: pick(l.MaxKVValue, max.MaxKVValue), MaxLogBytes: pick(l.MaxLogBytes, max.MaxLogBytes)}
}

// acquire takes a warm instance of the user's pool, or instantiates one.
func (r *Runtime) acquire(ctx context.Context, m *Module, key poolKey) (*instance, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errors.New("runtime closed")
	}
	if pool := r.idle[key]; len(pool) > 0 {
		inst := pool[len(pool)-1]
		r.idle[key] = pool[:len(pool)-1]
		r.lru.Remove(inst.elem)
		r.mu.Unlock()
		return inst, nil
	}
	r.mu.Unlock()
	inst := &instance{key: key}
	mod, err := r.rt.InstantiateModule(ctx, m.cm, abi.ModuleConfig("").WithStderr(&inst.stderr))
	if err != nil {
		return nil, err
	}
	inst.mod = mod
	return inst, nil
}

// head keeps the first KiB an instance wrote to its standard error during a
// call, which nobody else sees, to tell why it crashed (Go's runtime writes
// "fatal error: …" first, then every goroutine's stack).
type head struct{ b []byte }

const headMax = 1 << 10

func (h *head) Write(p []byte) (int, error) {
	if room := headMax - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (h *head) String() string { return string(h.b) }

func (h *head) Reset() { h.b = h.b[:0] }

// release returns an instance to its user's pool, evicting the least recently
// used instance when too many are idle.
func (r *Runtime) release(inst *instance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.cfg.Fresh || len(r.idle[inst.key]) >= r.cfg.PoolPerUser ||
		(inst.mod.Memory() != nil && inst.mod.Memory().Size() > r.cfg.MaxWarmBytes) {
		inst.mod.Close(context.Background())
		return
	}
	r.idle[inst.key] = append(r.idle[inst.key], inst)
	inst.elem = r.lru.PushBack(inst)
	for r.lru.Len() > r.cfg.MaxIdle {
		old := r.lru.Remove(r.lru.Front()).(*instance)
		pool := r.idle[old.key]
		for i, p := range pool {
			if p == old {
				r.idle[old.key] = append(pool[:i], pool[i+1:]...)
				break
			}
		}
		if len(r.idle[old.key]) == 0 {
			delete(r.idle, old.key)
		}
		old.mod.Close(context.Background())
	}
}

// Idle reports how many warm instances are kept.
func (r *Runtime) Idle() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lru.Len()
}

// Close releases every instance and the runtime.
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
	r.mu.Unlock()
	err := r.rt.Close(ctx)
	if r.cache != nil {
		err = errors.Join(err, r.cache.Close(ctx))
	}
	return err
}
