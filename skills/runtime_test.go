package skills

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/skills/internal/interrupt"
	"github.com/agentbot/gateway/skills/internal/testguests"
	"github.com/tetratelabs/wazero"
)

// instanceCalls calls the echo guest for user and reports how many calls the
// instance that served it has served (1: a fresh instance).
func instanceCalls(t *testing.T, r *Runtime, m *Module, user string) float64 {
	t.Helper()
	out, f, err := r.Call(context.Background(), m, Request{UserID: user, Input: []byte(`{"user":"` + user + `"}`)})
	if err != nil || f != nil {
		t.Fatalf("echo for %s = %v, %v", user, f, err)
	}
	v := decode(t, out)
	if in := v["input"].(map[string]any); in["user"] != user {
		t.Fatalf("echo for %s answered %v", user, in)
	}
	return v["instanceCalls"].(float64)
}

func TestPoolReusesInstancesOnlyWithinAUser(t *testing.T) {
	r := newRuntime(t, Config{})
	m := guest(t, r, "echo")
	if n := instanceCalls(t, r, m, "alice"); n != 1 || r.Idle() != 1 {
		t.Fatalf("alice's first call: instance calls %v, idle %d; want a new instance kept warm", n, r.Idle())
	}
	if n := instanceCalls(t, r, m, "alice"); n != 2 || r.Idle() != 1 {
		t.Errorf("alice's second call: instance calls %v, idle %d; want her warm instance reused", n, r.Idle())
	}
	if n := instanceCalls(t, r, m, "bob"); n != 1 || r.Idle() != 2 {
		t.Errorf("bob's first call: instance calls %v, idle %d; want a new instance of his own (two kept)", n, r.Idle())
	}
	if n := instanceCalls(t, r, m, "alice"); n != 3 {
		t.Errorf("alice's third call: instance calls %v; want her own instance again", n)
	}
	if n := instanceCalls(t, r, m, "bob"); n != 2 {
		t.Errorf("bob's second call: instance calls %v; want his own instance", n)
	}

	// Concurrent calls of one user each get an instance; the pool keeps at
	// most PoolPerUser of them.
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			instanceCalls(t, r, m, "carol")
		}()
	}
	wg.Wait()
	if got := r.Idle(); got > 2+2 || got < 3 {
		t.Errorf("idle = %d after carol's concurrent calls; want alice's, bob's and at most 2 of carol's", got)
	}
}

func TestFreshKeepsNoInstance(t *testing.T) {
	r := newRuntime(t, Config{Fresh: true})
	m := guest(t, r, "echo")
	for range 3 {
		if n := instanceCalls(t, r, m, "alice"); n != 1 {
			t.Errorf("fresh mode: instance calls %v; want a new instance every call", n)
		}
	}
	if r.Idle() != 0 {
		t.Errorf("fresh mode keeps %d instances; want none", r.Idle())
	}
}

func TestMaxIdleEvictsLeastRecentlyUsed(t *testing.T) {
	r := newRuntime(t, Config{MaxIdle: 2})
	m := guest(t, r, "echo")
	for _, u := range []string{"a", "b", "c"} {
		instanceCalls(t, r, m, u)
	}
	if r.Idle() != 2 {
		t.Fatalf("idle = %d; want MaxIdle (2)", r.Idle())
	}
	if n := instanceCalls(t, r, m, "c"); n != 2 {
		t.Errorf("most recent user's instance: calls %v; want it kept", n)
	}
	if n := instanceCalls(t, r, m, "a"); n != 1 {
		t.Errorf("least recent user's instance: calls %v; want it evicted", n)
	}
}

func TestTimeoutEndsTheCallAndDiscardsTheInstance(t *testing.T) {
	r := newRuntime(t, Config{})
	m := guest(t, r, "spin")
	ctx := context.Background()
	if _, f, err := r.Call(ctx, m, Request{UserID: "u", Input: []byte(`{"n":10}`)}); err != nil || f != nil || r.Idle() != 1 {
		t.Fatalf("short spin = %v, %v, idle %d", f, err, r.Idle())
	}
	start := time.Now()
	_, _, err := r.Call(ctx, m, Request{UserID: "u", Input: []byte(`{}`), Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("endless spin = %v; want ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("endless spin stopped after %v; want about its 200ms deadline", d)
	}
	if r.Idle() != 0 {
		t.Errorf("idle = %d after a timeout; want the instance discarded", r.Idle())
	}
	out, _, err := r.Call(ctx, m, Request{UserID: "u", Input: []byte(`{"n":10}`)})
	if err != nil || decode(t, out)["instanceCalls"] != 1.0 {
		t.Errorf("call after the timeout = %s, %v; want a fresh instance", out, err)
	}

	// The runtime's own timeout caps a request's longer one.
	r2 := newRuntime(t, Config{Timeout: 150 * time.Millisecond})
	m2 := guest(t, r2, "spin")
	start = time.Now()
	if _, _, err := r2.Call(ctx, m2, Request{UserID: "u", Input: []byte(`{}`), Timeout: time.Hour}); !errors.Is(err, ErrTimeout) {
		t.Errorf("endless spin under a 150ms runtime timeout = %v; want ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stopped after %v; want the runtime's 150ms", d)
	}
	// So does the caller's context.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, _, err := r.Call(cctx, m, Request{UserID: "u", Input: []byte(`{}`)}); !errors.Is(err, ErrTimeout) {
		t.Errorf("endless spin under a 100ms caller deadline = %v; want ErrTimeout", err)
	}
}

func TestCrashDiscardsTheInstance(t *testing.T) {
	r := newRuntime(t, Config{MemoryPages: 512}) // 32 MiB
	m := guest(t, r, "hog")
	ctx := context.Background()
	if _, f, err := r.Call(ctx, m, Request{UserID: "u", Input: []byte(`{"chunk":1048576,"times":1}`)}); err != nil || f != nil {
		t.Fatalf("small allocation = %v, %v", f, err)
	}
	if r.Idle() != 1 {
		t.Fatalf("idle = %d; want the instance kept", r.Idle())
	}
	_, f, err := r.Call(ctx, m, Request{UserID: "u", Input: []byte(`{"chunk":1048576,"times":64}`)})
	if !errors.Is(err, ErrCrashed) || f != nil {
		t.Fatalf("allocating 64 MiB under a 32 MiB cap = %v, %v; want ErrCrashed", f, err)
	}
	if !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("crash = %q; want it to say out of memory", err)
	}
	if r.Idle() != 0 {
		t.Errorf("idle = %d after a crash; want the instance discarded", r.Idle())
	}
	if _, f, err := r.Call(ctx, m, Request{UserID: "u", Input: []byte(`{"chunk":1024,"times":1}`)}); err != nil || f != nil {
		t.Errorf("call after the crash = %v, %v; want a fresh instance that works", f, err)
	}
	// One allocation far past the cap: the memory never reaches it, Go's
	// runtime says why on its standard error.
	_, _, err = r.Call(ctx, m, Request{UserID: "u", Input: []byte(`{"chunk":268435456,"times":1}`)})
	if !errors.Is(err, ErrCrashed) || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("allocating 256 MiB at once under a 32 MiB cap = %v; want ErrCrashed: out of memory", err)
	}

	trap, err := r.Compile(ctx, testguests.Fixture(t, "trap"))
	if err != nil {
		t.Fatal(err)
	}
	before := r.Idle()
	_, _, err = r.Call(ctx, trap, Request{UserID: "u"})
	if !errors.Is(err, ErrCrashed) || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("trap = %v; want ErrCrashed naming the trap", err)
	}
	if r.Idle() != before {
		t.Errorf("idle %d → %d after a trap; want the trapped instance discarded", before, r.Idle())
	}
}

func TestHostLimitDiscardsTheInstance(t *testing.T) {
	r := newRuntime(t, Config{})
	m := guest(t, r, "flood")
	_, f, err := r.Call(context.Background(), m, Request{UserID: "u", Input: []byte(`{"bytes":2000000,"chunk":65536}`),
		Limits: abi.Limits{MaxOutput: 1 << 20}})
	if err != nil || f == nil || f.Code != abi.CodeOutputTooLarge {
		t.Fatalf("flood = %v, %v; want OUTPUT_TOO_LARGE", f, err)
	}
	if r.Idle() != 0 {
		t.Errorf("idle = %d after a host limit; want the instance discarded", r.Idle())
	}
	// A failure of the skill's own keeps the instance.
	kv := guest(t, r, "kvuser")
	_, f, err = r.Call(context.Background(), kv, Request{UserID: "u", Input: []byte(`{"action":"nope"}`)})
	if err != nil || f == nil || f.Code != "INVALID_ACTION" || f.Status != 400 {
		t.Fatalf("unknown action = %v, %v; want 400 INVALID_ACTION", f, err)
	}
	if r.Idle() != 1 {
		t.Errorf("idle = %d after the skill's own failure; want the instance kept", r.Idle())
	}
}

func TestRuntimeLimitsCapTheRequest(t *testing.T) {
	r := newRuntime(t, Config{Limits: abi.Limits{MaxOutput: 100}})
	m := guest(t, r, "flood")
	for _, asked := range []int{0, 1000} { // none, or more than the runtime allows
		_, f, err := r.Call(context.Background(), m, Request{UserID: "u", Input: []byte(`{"bytes":150,"chunk":10}`),
			Limits: abi.Limits{MaxOutput: asked}})
		if err != nil || f == nil || f.Code != abi.CodeOutputTooLarge {
			t.Errorf("150 bytes under a runtime cap of 100 (request %d) = %v, %v; want OUTPUT_TOO_LARGE", asked, f, err)
		}
	}
	out, f, err := r.Call(context.Background(), m, Request{UserID: "u", Input: []byte(`{"bytes":50,"chunk":10}`)})
	if err != nil || f != nil || len(out) != 50 {
		t.Errorf("50 bytes = %d bytes, %v, %v", len(out), f, err)
	}
	_, f, _ = r.Call(context.Background(), m, Request{UserID: "u", Input: []byte(`{"bytes":50,"chunk":10}`), Limits: abi.Limits{MaxOutput: 20}})
	if f == nil || f.Code != abi.CodeOutputTooLarge {
		t.Errorf("50 bytes under a request cap of 20 = %v; want OUTPUT_TOO_LARGE", f)
	}
}

func TestMaxActiveMakesCallsWait(t *testing.T) {
	r := newRuntime(t, Config{MaxActive: 1})
	m := guest(t, r, "spin")
	done := make(chan error, 1)
	go func() {
		_, _, err := r.Call(context.Background(), m, Request{UserID: "a", Input: []byte(`{}`), Timeout: 500 * time.Millisecond})
		done <- err
	}()
	eventually(t, "the spinning call holds the slot", func() bool { return r.Running() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := r.Call(ctx, m, Request{UserID: "b", Input: []byte(`{"n":1}`)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a call while the only slot is busy = %v; want it to wait until its context ends", err)
	}
	if err := <-done; !errors.Is(err, ErrTimeout) {
		t.Errorf("spin = %v", err)
	}
	if _, f, err := r.Call(context.Background(), m, Request{UserID: "b", Input: []byte(`{"n":1}`)}); err != nil || f != nil {
		t.Errorf("a call once the slot is free = %v, %v", f, err)
	}
}

func TestCompile(t *testing.T) {
	r := newRuntime(t, Config{})
	ctx := context.Background()
	wasm := testguests.Wasm(t, "echo")
	m1, err1 := r.Compile(ctx, wasm)
	m2, err2 := r.Compile(ctx, wasm)
	if err1 != nil || err2 != nil || m1 != m2 || len(m1.SHA256) != 64 {
		t.Errorf("compiling one module twice = %p, %p (%v, %v); want the same module", m1, m2, err1, err2)
	}
	for _, tc := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"forbidden", testguests.Fixture(t, "forbidden"), `"env.system"`},
		{"command", testguests.Fixture(t, "command"), "_start"},
		{"garbage", []byte("\x00asm garbage"), "not a valid WebAssembly module"},
		{"empty", nil, "not a valid WebAssembly module"},
		{"a reserved export", withExport(testguests.Fixture(t, "loop"), interrupt.GlobalExport), "reserved"},
	} {
		_, err := r.Compile(ctx, tc.wasm)
		var ie *ImportError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%s) = %v; want an ImportError naming %s", tc.name, err, tc.want)
		}
	}
}

// A shared compilation cache outlives the runtimes that use it: closing one
// leaves it working for the next.
func TestSharedCacheOutlivesARuntime(t *testing.T) {
	shared := wazero.NewCompilationCache()
	defer shared.Close(context.Background())
	for i := range 2 {
		r, err := New(context.Background(), Config{Shared: shared, Log: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if n := instanceCalls(t, r, guest(t, r, "echo"), "u"); n != 1 {
			t.Errorf("runtime %d: instanceCalls = %v; want 1", i, n)
		}
		if err := r.Close(context.Background()); err != nil {
			t.Fatalf("runtime %d: Close = %v", i, err)
		}
	}
}

func TestClose(t *testing.T) {
	r, err := New(context.Background(), Config{CacheDir: testCache, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	m := guest(t, r, "echo")
	instanceCalls(t, r, m, "u")
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Idle() != 0 {
		t.Errorf("idle = %d after Close", r.Idle())
	}
	if _, _, err := r.Call(context.Background(), m, Request{UserID: "u", Input: []byte(`{}`)}); err == nil {
		t.Error("a call after Close succeeded")
	}
}

func TestHeadKeepsTheStart(t *testing.T) {
	var h head
	h.Write([]byte("fatal error: out of memory\n"))
	if n, _ := h.Write([]byte(strings.Repeat("x", 3000))); n != 3000 {
		t.Errorf("Write = %d; want all of it taken", n)
	}
	h.Write([]byte("more"))
	if got := h.String(); len(got) != headMax || !strings.HasPrefix(got, "fatal error: out of memory\n") {
		t.Errorf("head = %d bytes starting %q; want the first %d", len(got), got[:30], headMax)
	}
	h.Reset()
	if h.String() != "" {
		t.Errorf("after Reset: %q", h.String())
	}
}

// Two calls without a user (anonymous machine payers) never share an
// instance: each gets a fresh one, and none is kept.
func TestAnonymousCallsGetFreshInstances(t *testing.T) {
	r := newRuntime(t, Config{})
	m := guest(t, r, "echo")
	for range 3 {
		out, f, err := r.Call(context.Background(), m, Request{Input: []byte(`{}`)})
		if err != nil || f != nil {
			t.Fatalf("anonymous echo = %v, %v", f, err)
		}
		if n := decode(t, out)["instanceCalls"]; n != 1.0 {
			t.Errorf("anonymous call on an instance that served %v calls; want a fresh one", n)
		}
	}
	if r.Idle() != 0 {
		t.Errorf("idle = %d after anonymous calls; want none kept", r.Idle())
	}
}

// The defaults are the operator maxima of a call, and a cold start is
// bounded well below the call's timeout.
func TestRuntimeDefaults(t *testing.T) {
	r := newRuntime(t, Config{Timeout: 10 * time.Second})
	c := r.cfg
	if c.Limits.MaxOutput != 1<<20 || c.Limits.MaxHostCalls != 10_000 || c.Limits.MaxKVValue != abi.DefaultMaxKVValue ||
		c.Limits.MaxLogBytes != abi.DefaultMaxLogBytes {
		t.Errorf("default maxima = %+v; want 1 MiB of output, 10,000 host calls and the ABI's KV and log limits", c.Limits)
	}
	if c.InitTimeout <= 0 || c.InitTimeout > c.Timeout/4 {
		t.Errorf("InitTimeout = %v with a %v call timeout; want at most a quarter of it", c.InitTimeout, c.Timeout)
	}
	if mx := r.Maxima(); mx.MaxOutputBytes != 1<<20 || mx.MaxHostCalls != 10_000 || mx.Timeout != 10*time.Second || mx.MemoryMB != 64 {
		t.Errorf("Maxima() = %+v", mx)
	}
}

// A cold start whose initialisation never ends is stopped at InitTimeout and
// meanwhile holds no run slot: another user's warm call goes through.
func TestColdStartHoldsNoRunSlot(t *testing.T) {
	r := newRuntime(t, Config{MaxActive: 1, InitTimeout: 2 * time.Second})
	echo := guest(t, r, "echo")
	slow := guest(t, r, "slowinit")
	instanceCalls(t, r, echo, "bob") // bob's instance is warm
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, _, err := r.Call(context.Background(), slow, Request{UserID: "alice", Input: []byte(`{}`)})
		done <- err
	}()
	eventually(t, "alice's cold start is spinning", func() bool { return r.Starting() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, f, err := r.Call(ctx, echo, Request{UserID: "bob", Input: []byte(`{"user":"bob"}`)}); err != nil || f != nil {
		t.Errorf("bob's warm call during alice's cold start = %v, %v; want it served", f, err)
	}
	if err := <-done; !errors.Is(err, ErrTimeout) {
		t.Errorf("a never-ending initialisation = %v; want ErrTimeout", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("the never-ending initialisation stopped after %v; want its 2s bound, well below the 10s call timeout", d)
	}
}

// Warm instances are bounded by their total memory, least recently used
// dropped first.
func TestWarmPoolMemoryBudget(t *testing.T) {
	probe := newRuntime(t, Config{})
	instanceCalls(t, probe, guest(t, probe, "echo"), "u")
	size := probe.IdleBytes()
	if size <= 0 {
		t.Fatalf("a warm echo instance takes %d bytes", size)
	}
	r := newRuntime(t, Config{MaxIdleBytes: 2*size + size/2})
	m := guest(t, r, "echo")
	for _, u := range []string{"a", "b", "c", "d"} {
		instanceCalls(t, r, m, u)
	}
	if r.Idle() != 2 || r.IdleBytes() > 2*size+size/2 {
		t.Errorf("idle %d instances, %d bytes, under a budget of 2.5 instances (%d bytes each); want 2", r.Idle(), r.IdleBytes(), size)
	}
	if n := instanceCalls(t, r, m, "d"); n != 2 {
		t.Errorf("most recent user's instance: calls %v; want it kept", n)
	}
	if n := instanceCalls(t, r, m, "a"); n != 1 {
		t.Errorf("least recent user's instance: calls %v; want it dropped", n)
	}
}

// Compiled modules are bounded in memory, least recently used evicted first,
// never while a call uses one.
func TestModulesAreBoundedInMemory(t *testing.T) {
	r := newRuntime(t, Config{MaxModules: 2})
	ctx := context.Background()
	compile := func(name string) *Module {
		t.Helper()
		m, err := r.Compile(ctx, testguests.Fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	loop, grow := compile("loop"), compile("grow")
	r.Module(loop.SHA256) // loop is used again: grow is now the least recent
	compile("oob")
	if r.Modules() != 2 || r.Module(grow.SHA256) != nil || r.Module(loop.SHA256) == nil {
		t.Fatalf("modules %d, grow kept %v, loop kept %v; want 2, grow evicted", r.Modules(), r.Module(grow.SHA256) != nil, r.Module(loop.SHA256) != nil)
	}
	if _, _, err := r.Call(ctx, grow, Request{UserID: "u"}); !errors.Is(err, ErrEvicted) {
		t.Errorf("calling an evicted module = %v; want ErrEvicted", err)
	}
	if again := compile("grow"); again == grow || r.Module(grow.SHA256) != again {
		t.Errorf("compiling an evicted module again did not bring it back")
	}

	// A module with a call under way stays, over the bound, until the call ends.
	spin := guest(t, r, "spin")
	done := make(chan error, 1)
	go func() {
		_, _, err := r.Call(ctx, spin, Request{UserID: "u", Input: []byte(`{}`), Timeout: 700 * time.Millisecond})
		done <- err
	}()
	eventually(t, "the spinning call runs", func() bool { return r.Running() == 1 })
	compile("loop")
	compile("trap")
	if r.Module(spin.SHA256) == nil {
		t.Errorf("a module with a call under way was evicted")
	}
	if err := <-done; !errors.Is(err, ErrTimeout) {
		t.Errorf("spin = %v; want ErrTimeout", err)
	}
	if r.Modules() != 2 {
		t.Errorf("modules = %d after the call ended; want the bound, 2", r.Modules())
	}
}

// cacheFiles lists a cache directory's files (the index aside) with sizes.
func cacheFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	d := &diskCache{dir: dir}
	return d.files()
}

// The on-disk compilation cache is bounded, least recently used modules
// removed first; files nobody indexed go at start; a refused module leaves
// no file.
func TestDiskCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	// How big is each fixture's compiled file?
	probeDir := t.TempDir()
	probe := newRuntime(t, Config{CacheDir: probeDir, CacheMaxBytes: 1 << 30})
	sizes := map[string]int64{}
	for _, name := range []string{"loop", "grow", "oob"} {
		before := cacheFiles(t, probeDir)
		if _, err := probe.Compile(ctx, testguests.Fixture(t, name)); err != nil {
			t.Fatal(err)
		}
		for f, n := range cacheFiles(t, probeDir) {
			if _, ok := before[f]; !ok {
				sizes[name] += n
			}
		}
		if sizes[name] == 0 {
			t.Fatalf("compiling %s wrote no cache file", name)
		}
	}

	dir := t.TempDir()
	bound := sizes["grow"] + sizes["oob"]
	r := newRuntime(t, Config{CacheDir: dir, CacheMaxBytes: bound})
	for _, name := range []string{"loop", "grow", "oob"} {
		if _, err := r.Compile(ctx, testguests.Fixture(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	for _, n := range cacheFiles(t, dir) {
		total += n
	}
	if total != bound || r.disk.bytes() != bound {
		t.Errorf("cache holds %d bytes (index: %d) under a bound of %d (grow + oob); want loop's file removed", total, r.disk.bytes(), bound)
	}

	// A refused module leaves nothing behind, on disk or in memory.
	before, modules := cacheFiles(t, dir), r.Modules()
	if _, err := r.Compile(ctx, testguests.Fixture(t, "forbidden")); err == nil {
		t.Fatal("forbidden compiled")
	}
	if after := cacheFiles(t, dir); len(after) != len(before) || r.Modules() != modules {
		t.Errorf("a refused module left %d files (was %d) and %d modules (was %d)", len(after), len(before), r.Modules(), modules)
	}

	// At start, files the index does not know go; the indexed ones stay.
	r.Close(ctx)
	var sub string
	for f := range cacheFiles(t, dir) {
		sub = filepath.Dir(f)
	}
	stray := filepath.Join(dir, sub, "stray")
	if err := os.WriteFile(stray, make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	r2 := newRuntime(t, Config{CacheDir: dir, CacheMaxBytes: bound})
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("a file the index does not know survived a restart: %v", err)
	}
	if r2.disk.bytes() != bound {
		t.Errorf("after a restart the index holds %d bytes; want %d", r2.disk.bytes(), bound)
	}
}
