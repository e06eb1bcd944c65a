package abi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/agentbot/gateway/sdk/skill"
	"github.com/agentbot/gateway/sdk/skill/internal/testguests"
)

// cache shares compiled guests between the tests' runtimes, and with
// skilltest's runs (same directory).
var cache = func() wazero.CompilationCache {
	c, err := wazero.NewCompilationCacheWithDir(filepath.Join(os.TempDir(), "agentbot-skilltest-cache"))
	if err != nil {
		return wazero.NewCompilationCache()
	}
	return c
}()

// newRuntime returns a runtime set up as the platform's: WASI, the host
// module, a memory cap of pages and close-on-context-done.
func newRuntime(t testing.TB, pages uint32) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, RuntimeConfig(pages).WithCompilationCache(cache))
	t.Cleanup(func() { _ = r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	if _, err := Instantiate(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

func compile(t testing.TB, r wazero.Runtime, wasm []byte) wazero.CompiledModule {
	t.Helper()
	m, err := r.CompileModule(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// run runs one call in a fresh instance.
func run(t testing.TB, r wazero.Runtime, m wazero.CompiledModule, timeout time.Duration, input string, caps Capabilities, limits Limits) (*Call, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	mod, err := r.InstantiateModule(ctx, m, ModuleConfig(""))
	if err != nil {
		t.Fatalf("instantiating: %v", err)
	}
	defer mod.Close(context.Background())
	call := NewCall([]byte(input), caps, limits)
	return call, Run(ctx, mod, call)
}

// The guest SDK and the host must agree on every name and number of the ABI.
func TestGuestAndHostAgree(t *testing.T) {
	if Module != skill.ABIModule || Version != skill.ABIVersion {
		t.Errorf("host ABI %s v%d; guest %s v%d", Module, Version, skill.ABIModule, skill.ABIVersion)
	}
	if !strings.HasSuffix(Module, "/v"+string(rune('0'+Version))) {
		t.Errorf("Module %q does not end in its version %d", Module, Version)
	}
	for _, c := range []struct {
		name        string
		host, guest int
	}{
		{"NotFound", ErrnoNotFound, skill.ErrnoNotFound},
		{"OutputFull", ErrnoOutputFull, skill.ErrnoOutputFull},
		{"HostCallLimit", ErrnoHostCallLimit, skill.ErrnoHostCallLimit},
		{"NotGranted", ErrnoNotGranted, skill.ErrnoNotGranted},
		{"HostFailure", ErrnoHostFailure, skill.ErrnoHostFailure},
		{"Invalid", ErrnoInvalid, skill.ErrnoInvalid},
		{"TooLarge", ErrnoTooLarge, skill.ErrnoTooLarge},
		{"Quota", ErrnoQuota, skill.ErrnoQuota},
	} {
		if c.host != c.guest {
			t.Errorf("Errno%s: host %d, guest %d", c.name, c.host, c.guest)
		}
	}
	if CodeOutputTooLarge != skill.CodeOutputTooLarge || CodeHostCallLimit != skill.CodeHostCallLimit {
		t.Errorf("limit codes differ: host %s %s, guest %s %s", CodeOutputTooLarge, CodeHostCallLimit,
			skill.CodeOutputTooLarge, skill.CodeHostCallLimit)
	}
	if MaxKeyLen != 512 || DefaultMaxKVValue != 100<<10 {
		t.Errorf("MaxKeyLen %d, DefaultMaxKVValue %d; the guest doc promises 512 and 100 KiB", MaxKeyLen, DefaultMaxKVValue)
	}
	// Every host function is documented, with its signature, in the guest
	// SDK's package doc, which is the ABI's reference.
	doc, err := os.ReadFile(filepath.Join("..", "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range hostFuncs {
		if !strings.Contains(string(doc), "//\t"+f.name+"(") {
			t.Errorf("host function %s is not documented in package skill", f.name)
		}
	}
}

func TestCheckImports(t *testing.T) {
	r := newRuntime(t, 1024)
	for _, tt := range []struct {
		fixture string
		want    []string // substrings of the error; none: accepted
	}{
		{"forbidden", []string{`"env.system"`, "not allowed"}},
		{"badsig", []string{`"agentbot:skill/v1.spawn"`, `"agentbot:skill/v1.kv_get" has signature (i32, i32) -> (i32)`}},
		{"command", []string{`"_start"`}},
		{"loop", nil},
		{"grow", nil},
	} {
		err := CheckImports(compile(t, r, testguests.Fixture(t, tt.fixture)))
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("CheckImports(%s) = %v; want nil", tt.fixture, err)
		case tt.want != nil && err == nil:
			t.Errorf("CheckImports(%s) = nil; want an error naming %q", tt.fixture, tt.want)
		}
		for _, w := range tt.want {
			if err != nil && !strings.Contains(err.Error(), w) {
				t.Errorf("CheckImports(%s) = %v; want it to mention %s", tt.fixture, err, w)
			}
		}
	}
	for _, g := range []string{"echo", "verbs", "limits", "sandbox"} {
		if err := CheckImports(compile(t, r, testguests.Wasm(t, g))); err != nil {
			t.Errorf("CheckImports(Go guest %s) = %v; want nil", g, err)
		}
	}
	// A module the host provides itself is allowed, and no other.
	forbidden := compile(t, r, testguests.Fixture(t, "forbidden"))
	if err := CheckImports(forbidden, "env"); err != nil {
		t.Errorf(`CheckImports(forbidden, "env") = %v; want nil`, err)
	}
	if err := CheckImports(forbidden, "other"); err == nil || !strings.Contains(err.Error(), `"env.system"`) {
		t.Errorf(`CheckImports(forbidden, "other") = %v; want env.system refused`, err)
	}
}

func TestInstantiateOnce(t *testing.T) {
	r := newRuntime(t, 16)
	a, err := Instantiate(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if a != r.Module(Module) {
		t.Errorf("second Instantiate returned a different module")
	}
	// The host module's functions are exactly hostFuncs, with their
	// signatures.
	defs := a.ExportedFunctionDefinitions()
	if len(defs) != len(hostFuncs) {
		t.Errorf("host module exports %d functions; want %d", len(defs), len(hostFuncs))
	}
	for _, f := range hostFuncs {
		d := defs[f.name]
		if d == nil || !slices.Equal(d.ParamTypes(), f.params) || !slices.Equal(d.ResultTypes(), f.results) {
			t.Errorf("host function %s missing or mis-typed", f.name)
		}
	}
}

func TestDeadlineStopsInfiniteLoop(t *testing.T) {
	r := newRuntime(t, 16)
	m := compile(t, r, testguests.Fixture(t, "loop"))
	start := time.Now()
	_, err := run(t, r, m, 100*time.Millisecond, "", Capabilities{}, Limits{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run(loop) = %v; want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run(loop) took %v with a 100ms deadline", d)
	}
}

func TestTrap(t *testing.T) {
	r := newRuntime(t, 16)
	for fixture, want := range map[string]string{
		"trap": "unreachable",
		"oob":  "out of range", // the host refuses a pointer past the guest's memory
	} {
		call, err := run(t, r, compile(t, r, testguests.Fixture(t, fixture)), 5*time.Second, "", Capabilities{}, Limits{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run(%s) = %v; want an error mentioning %q", fixture, err, want)
		}
		if _, f, _ := call.Result(); f == nil || f.Code != CodeSkillFailed {
			t.Errorf("Result after a trap = %v; want %s", f, CodeSkillFailed)
		}
	}
}

func TestHostCallOutsideRunTraps(t *testing.T) {
	r := newRuntime(t, 16)
	_, err := r.InstantiateModule(context.Background(), compile(t, r, testguests.Fixture(t, "initcall")), ModuleConfig(""))
	if err == nil || !strings.Contains(err.Error(), "outside a call") {
		t.Errorf("instantiating a module whose _initialize calls the host = %v; want a trap", err)
	}
}

func TestMemoryLimit(t *testing.T) {
	const pages = 32
	r := newRuntime(t, pages)
	call, err := run(t, r, compile(t, r, testguests.Fixture(t, "grow")), 5*time.Second, "", Capabilities{}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out, f, _ := call.Result()
	if f != nil || len(out) != 4 {
		t.Fatalf("grow = %q, %v", out, f)
	}
	if got := uint32(out[0]) | uint32(out[1])<<8 | uint32(out[2])<<16 | uint32(out[3])<<24; got != pages {
		t.Errorf("memory grew to %d pages; want it stopped at the limit, %d", got, pages)
	}

	// A Go guest that allocates past the cap dies (Go's runtime exits with
	// "out of memory"), and the call errs.
	r = newRuntime(t, 256) // 16 MiB
	call, err = run(t, r, compile(t, r, testguests.Wasm(t, "limits")), 10*time.Second,
		`{"action":"alloc","chunk":1048576,"times":64}`, Capabilities{}, Limits{})
	if err == nil {
		out, f, _ := call.Result()
		t.Errorf("allocating 64 MiB under a 16 MiB cap = %q, %v; want an error", out, f)
	}
}

func TestOutputCap(t *testing.T) {
	r := newRuntime(t, 1024)
	m := compile(t, r, testguests.Wasm(t, "limits"))
	for _, ignore := range []bool{false, true} {
		// 100 MB in 64 KiB writes; the host must keep no more than the cap
		// whether or not the guest stops at the first refusal.
		in := `{"action":"flood","bytes":100000000,"chunk":65536,"ignore":` + map[bool]string{false: "false", true: "true"}[ignore] + `}`
		start := time.Now()
		call, err := run(t, r, m, 30*time.Second, in, Capabilities{}, Limits{MaxOutput: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		out, f, _ := call.Result()
		if f == nil || f.Code != CodeOutputTooLarge || out != nil {
			t.Errorf("flood(ignore=%v) = %d bytes, %v; want %s", ignore, len(out), f, CodeOutputTooLarge)
		}
		if len(call.output) > 1<<20 || cap(call.output) > 2<<20 {
			t.Errorf("flood(ignore=%v): host buffered %d bytes (cap %d); want at most the 1 MiB limit", ignore, len(call.output), cap(call.output))
		}
		t.Logf("flood(ignore=%v): %v", ignore, time.Since(start))
	}
}

func TestHostCallBudget(t *testing.T) {
	r := newRuntime(t, 1024)
	m := compile(t, r, testguests.Wasm(t, "limits"))
	kv := memKV{}
	for _, in := range []string{
		`{"action":"kv-spin","times":50}`,               // the guest returns ErrHostCallLimit
		`{"action":"kv-spin","times":50,"ignore":true}`, // the guest ignores it and succeeds
		`{"action":"log-spin","times":50,"bytes":10}`,   // log returns nothing: lines are dropped
		`{"action":"kv-spin","times":9}`,                // with the output write, exactly the budget: fine
		`{"action":"log-spin","times":9,"bytes":10000}`, // over the log allowance but within budget: fine
		`{"action":"flood","bytes":110,"chunk":10}`,     // 11 output writes: output_write is budgeted too
		`{"action":"flood","bytes":100,"chunk":10}`,     // 10 output writes: fine
	} {
		call, err := run(t, r, m, 10*time.Second, in, Capabilities{KV: kv}, Limits{MaxHostCalls: 10, MaxLogBytes: 1000})
		if err != nil {
			t.Fatal(err)
		}
		out, f, logs := call.Result()
		within := strings.Contains(in, `"times":9`) || strings.Contains(in, `"bytes":100,`)
		switch {
		case within && f != nil:
			t.Errorf("%s failed with %v; want success", in, f)
		case !within && (f == nil || f.Code != CodeHostCallLimit || f.Status != 500):
			t.Errorf("%s = %q, %v; want 500 %s", in, out, f, CodeHostCallLimit)
		}
		if call.HostCalls() > 10 {
			t.Errorf("%s: %d host calls counted; want at most 10", in, call.HostCalls())
		}
		// Lines past the budget never reach the host: 10 over it, 9 within.
		if wantLogs := map[bool]int{true: 9, false: 10}[within]; strings.Contains(in, "log") && logs != wantLogs {
			t.Errorf("%s: %d log lines counted; want %d", in, logs, wantLogs)
		}
	}
}

func TestLogAllowance(t *testing.T) {
	r := newRuntime(t, 1024)
	m := compile(t, r, testguests.Wasm(t, "limits"))
	var got []string
	caps := Capabilities{Log: func(level int, msg string) { got = append(got, msg) }}
	call, err := run(t, r, m, 10*time.Second, `{"action":"log-spin","times":5,"bytes":400}`, caps, Limits{MaxLogBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, f, logs := call.Result(); f != nil || logs != 5 {
		t.Errorf("log-spin = %v, %d lines; want success, 5 lines", f, logs)
	}
	var lens []int
	for _, l := range got {
		lens = append(lens, len(l))
	}
	if !slices.Equal(lens, []int{400, 400, 200}) {
		t.Errorf("delivered line lengths %v; want [400 400 200] under a 1000-byte allowance", lens)
	}
}

func TestKVLimitsAndErrors(t *testing.T) {
	r := newRuntime(t, 1024)
	limits := compile(t, r, testguests.Wasm(t, "limits"))
	verbs := compile(t, r, testguests.Wasm(t, "verbs"))
	for _, tt := range []struct {
		name  string
		m     wazero.CompiledModule
		in    string
		kv    KV
		limit Limits
		code  string
	}{
		{"value over limit", limits, `{"action":"big-value","bytes":2000}`, memKV{}, Limits{MaxKVValue: 1000}, skill.CodeValueTooLarge},
		{"value at limit", limits, `{"action":"big-value","bytes":1000}`, memKV{}, Limits{MaxKVValue: 1000}, ""},
		{"default limit", limits, `{"action":"big-value","bytes":102401}`, memKV{}, Limits{}, skill.CodeValueTooLarge},
		{"not granted", verbs, `{"action":"kv","op":"get","key":"k"}`, nil, Limits{}, skill.CodeNotGranted},
		{"backend error", verbs, `{"action":"kv","op":"list","key":"k"}`, brokenKV{}, Limits{}, skill.CodeHostFailure},
		{"quota", limits, `{"action":"big-value","bytes":10}`, fullKV{memKV{}}, Limits{}, skill.CodeKVQuota},
	} {
		call, err := run(t, r, tt.m, 10*time.Second, tt.in, Capabilities{KV: tt.kv}, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		_, f, _ := call.Result()
		if (tt.code == "" && f != nil) || (tt.code != "" && (f == nil || f.Code != tt.code)) {
			t.Errorf("%s: failure %v; want %q", tt.name, f, tt.code)
		}
		if tt.kv == (brokenKV{}) {
			if err := call.HostError(); err == nil || !strings.Contains(err.Error(), "disk on fire") {
				t.Errorf("%s: HostError() = %v; want the backend's error", tt.name, err)
			}
			if f != nil && strings.Contains(f.Message, "disk on fire") {
				t.Errorf("%s: the backend's error reached the skill: %q", tt.name, f.Message)
			}
		}
	}
}

// A skill sees none of the host: no files, environment, arguments or real
// clock, and only a deterministic random source.
func TestSandbox(t *testing.T) {
	r := newRuntime(t, 1024)
	m := compile(t, r, testguests.Wasm(t, "sandbox"))
	probe := func() map[string]any {
		t.Helper()
		start := time.Now()
		call, err := run(t, r, m, 10*time.Second, "", Capabilities{}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		out, f, _ := call.Result()
		if f != nil {
			t.Fatal(f)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		got["realElapsed"] = time.Since(start)
		return got
	}
	got := probe()
	t.Logf("sandbox probe: %v", got)
	for _, k := range []string{"readFile", "readDir", "create"} {
		if got[k] == "" {
			t.Errorf("%s succeeded in the sandbox; want an error", k)
		}
	}
	if host, _ := os.Hostname(); got["hostname"] == host {
		t.Errorf("the guest sees the host's name %q", host)
	}
	for _, k := range []string{"home", "path"} {
		if got[k] != "" {
			t.Errorf("%s = %q in the sandbox; want empty", k, got[k])
		}
	}
	for _, k := range []string{"environ", "args"} {
		if l, _ := got[k].([]any); len(l) != 0 {
			t.Errorf("%s = %v in the sandbox; want none", k, l)
		}
	}
	fake := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Unix(0, int64(got["now"].(float64)))
	if d := now.Sub(fake); d < 0 || d > time.Minute {
		t.Errorf("guest time.Now() = %v; want wazero's fake clock near %v", now, fake)
	}
	if d := time.Since(now); d < 365*24*time.Hour {
		t.Errorf("guest time.Now() = %v is within a year of the host's clock", now)
	}
	if slept, _ := time.ParseDuration(got["slept"].(string)); slept < 50*time.Millisecond || got["realElapsed"].(time.Duration) > 5*time.Second {
		t.Errorf("time.Sleep(50ms) took %v of guest time, %v of real time; want ≥ 50ms of fake time at once", slept, got["realElapsed"])
	}
	if again := probe(); again["random"] != got["random"] {
		t.Errorf("random bytes differ between instances (%v, %v); want wazero's fixed seed", got["random"], again["random"])
	}
}

func TestRun(t *testing.T) {
	r := newRuntime(t, 1024)
	m := compile(t, r, testguests.Wasm(t, "echo"))
	ctx := context.Background()
	mod, err := r.InstantiateModule(ctx, m, ModuleConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	// An instance serves calls one after another (a warm pool may reuse it).
	for _, in := range []string{"one", "two"} {
		call := NewCall([]byte(in), Capabilities{}, Limits{})
		if err := Run(ctx, mod, call); err != nil {
			t.Fatal(err)
		}
		if out, f, _ := call.Result(); f != nil || string(out) != in {
			t.Errorf("echo(%q) = %q, %v", in, out, f)
		}
		if err := Run(ctx, mod, call); err == nil {
			t.Errorf("running a Call twice succeeded; want an error")
		}
	}
	if _, f, _ := NewCall(nil, Capabilities{}, Limits{}).Result(); f == nil {
		t.Errorf("Result of a Call never run = success; want a failure")
	}
}

// Fail's status is clamped and its code and message bounded by the host,
// whatever the guest passes.
func TestFailClamps(t *testing.T) {
	mem := make([]byte, 10000)
	copy(mem, strings.Repeat("C", 100))
	copy(mem[100:], strings.Repeat("m", 5000))
	for _, tt := range []struct {
		status, want int32
	}{{404, 404}, {399, 500}, {600, 500}, {-1, 500}} {
		c := NewCall(nil, Capabilities{}, Limits{})
		fail(context.Background(), c, fakeModule{mem: mem}, []uint64{api.EncodeI32(tt.status), 0, 100, 100, 5000})
		if c.failure.Status != int(tt.want) || len(c.failure.Code) != maxCodeLen || len(c.failure.Message) != maxMessageLen {
			t.Errorf("fail(%d, 100-byte code, 5000-byte message) recorded %d, %d bytes, %d bytes; want %d, %d, %d",
				tt.status, c.failure.Status, len(c.failure.Code), len(c.failure.Message), tt.want, maxCodeLen, maxMessageLen)
		}
	}
}

type memKV map[string][]byte

func (m memKV) Get(_ context.Context, k string) ([]byte, bool, error) {
	v, ok := m[k]
	return v, ok, nil
}
func (m memKV) Set(_ context.Context, k string, v []byte) error { m[k] = v; return nil }
func (m memKV) Delete(_ context.Context, k string) error        { delete(m, k); return nil }
func (m memKV) List(context.Context, string) ([]string, error)  { return nil, nil }

// fullKV refuses every Set for its quota.
type fullKV struct{ memKV }

func (fullKV) Set(context.Context, string, []byte) error { return fmt.Errorf("store: %w", ErrQuota) }

type brokenKV struct{}

var errFire = errors.New("disk on fire")

func (brokenKV) Get(context.Context, string) ([]byte, bool, error) { return nil, false, errFire }
func (brokenKV) Set(context.Context, string, []byte) error         { return errFire }
func (brokenKV) Delete(context.Context, string) error              { return errFire }
func (brokenKV) List(context.Context, string) ([]string, error)    { return nil, errFire }

// fakeModule is just enough api.Module for a host function's memory access.
type fakeModule struct {
	api.Module
	mem []byte
}

func (f fakeModule) Memory() api.Memory { return fakeMemory{mem: f.mem} }

type fakeMemory struct {
	api.Memory
	mem []byte
}

func (f fakeMemory) Read(off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(f.mem)) {
		return nil, false
	}
	return f.mem[off : off+n], true
}

// A Runner serves one call after another on its instance, each with its own
// input and output, and refuses a Call twice, as Run does.
func TestRunnerServesCallsInTurn(t *testing.T) {
	r := newRuntime(t, 1024)
	m := compile(t, r, testguests.Wasm(t, "echo"))
	ctx := context.Background()
	mod, err := r.InstantiateModule(ctx, m, ModuleConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	run, err := NewRunner(mod)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{`{"n":1}`, `{"n":2,"s":"two"}`, `{}`} {
		call := NewCall([]byte(in), Capabilities{}, Limits{})
		if err := run.Run(ctx, call); err != nil {
			t.Fatal(err)
		}
		if out, f, _ := call.Result(); f != nil || string(out) != in {
			t.Errorf("call with %s = %s, %v; want its input echoed", in, out, f)
		}
		if err := run.Run(ctx, call); err == nil {
			t.Error("a Call ran twice")
		}
	}
	empty, err := r.Instantiate(ctx, []byte("\x00asm\x01\x00\x00\x00"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRunner(empty); err == nil {
		t.Error("a Runner for a module that is not a skill")
	}
}
