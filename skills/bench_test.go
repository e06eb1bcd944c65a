package skills

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/skills/internal/interrupt"
	"github.com/agentbot/gateway/skills/internal/testguests"
)

// measure runs call b.N times and reports p50 and p99 in microseconds.
func measure(b *testing.B, call func()) {
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		call()
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// workRounds makes the work guest compute for about a millisecond (without
// close-on-context-done).
const workRounds = 500_000

// BenchmarkSkillIsolation compares the ways of isolating calls, on the echo
// guest (a small JSON input, answered through OutputJSON):
//
//	baseline    a fresh instance per call (instantiate with _initialize, call, close): Config.Fresh
//	pooled      a warm instance of the same user's pool (the default)
//	snapshot-restore-memory-copy
//	            writing back the memory image taken after _initialize, the
//	            cost a memory-level reset would add to a pooled call (it
//	            cannot restore Go's runtime: see TestMemorySnapshotIsNotARestore)
//	close-on-context-done-off / -on
//	            a warm call of the CPU-bound work guest (~1 ms, no host calls)
//	            on runtimes without and with WithCloseOnContextDone: the cost
//	            of its checks in the guest's loop
//	interrupt-budget
//	            the same call as the runtime makes it: the guest instrumented
//	            (package interrupt), armed for the call's deadline, on a
//	            runtime without WithCloseOnContextDone
//
// Run with go test -run '^$' -bench SkillIsolation ./skills/ | go run ./tools/benchratio
func BenchmarkSkillIsolation(b *testing.B) {
	ctx := context.Background()
	in := []byte(`{"agentId":"agt_1","action":"echo","text":"hello","numbers":[1,2,3]}`)
	call := func(b *testing.B, r *Runtime, m *Module) {
		_, f, err := r.Call(ctx, m, Request{UserID: "bench", Input: in})
		if err != nil || f != nil {
			b.Fatal(f, err)
		}
	}
	b.Run("baseline", func(b *testing.B) {
		r := newRuntime(b, Config{Fresh: true})
		m := guest(b, r, "echo")
		measure(b, func() { call(b, r, m) })
	})
	b.Run("pooled", func(b *testing.B) {
		r := newRuntime(b, Config{})
		m := guest(b, r, "echo")
		call(b, r, m)
		measure(b, func() { call(b, r, m) })
	})
	b.Run("snapshot-restore-memory-copy", func(b *testing.B) {
		mod, snap := rawInstance(b, "echo")
		b.SetBytes(int64(len(snap)))
		measure(b, func() {
			if !mod.Memory().Write(0, snap) {
				b.Fatal("restore failed")
			}
		})
	})
	work := []byte(`{"n":` + itoa(workRounds) + `}`)
	for _, tc := range []struct {
		name       string
		closeOnCtx bool
		instrument bool
	}{
		{"close-on-context-done-off", false, false},
		{"close-on-context-done-on", true, false},
		{"interrupt-budget", false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rc := abi.RuntimeConfig(1024).WithCloseOnContextDone(tc.closeOnCtx)
			wasm := testguests.Wasm(b, "work")
			if tc.instrument {
				var err error
				if wasm, err = interrupt.Instrument(wasm); err != nil {
					b.Fatal(err)
				}
			}
			mod := warmInstance(b, rc, wasm)
			measure(b, func() {
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if tc.instrument {
					defer interrupt.Arm(cctx, mod)()
				}
				c := abi.NewCall(work, abi.Capabilities{}, abi.Limits{})
				if err := abi.Run(cctx, mod, c); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// warmInstance instantiates a module on a runtime of its own, compiled
// afresh: WithCloseOnContextDone changes the code (every loop head calls
// out of the compiled code to check whether the module was closed).
func warmInstance(b *testing.B, rc wazero.RuntimeConfig, wasm []byte) api.Module {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	b.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if _, err := abi.Instantiate(ctx, rt); err != nil {
		b.Fatal(err)
	}
	if err := interrupt.Instantiate(ctx, rt); err != nil {
		b.Fatal(err)
	}
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, cm, abi.ModuleConfig(""))
	if err != nil {
		b.Fatal(err)
	}
	return mod
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// BenchmarkWarmInstanceMemory reports what one warm instance costs the
// process while it waits in its user's pool: its linear memory as the runtime
// counts it against MaxIdleBytes ("linear-KiB"), and the growth of the Go
// heap and stacks per instance ("process-KiB"), each over 64 users'
// instances (one per user; a user's pool keeps its own). For a Go guest
// (echo) and an AssemblyScript one (verbs-as).
func BenchmarkWarmInstanceMemory(b *testing.B) {
	const users = 64
	for _, g := range []struct {
		name, input string
		wasm        func(testing.TB) []byte
	}{
		{"go", `{}`, func(b testing.TB) []byte { return testguests.Wasm(b, "echo") }},
		{"assemblyscript", `{"action":"echo"}`, func(b testing.TB) []byte { return testguests.AS(b, "verbs") }}} {
		b.Run(g.name, func(b *testing.B) {
			for b.Loop() {
				r, err := New(context.Background(), Config{CacheDir: testCache, CacheMaxBytes: -1, Log: quiet, MaxIdle: users * 2})
				if err != nil {
					b.Fatal(err)
				}
				m, err := r.Compile(context.Background(), g.wasm(b))
				if err != nil {
					b.Fatal(err)
				}
				call := func(user string) {
					if _, f, err := r.Call(context.Background(), m, Request{UserID: user, Input: []byte(g.input)}); err != nil || f != nil {
						b.Fatal(f, err)
					}
				}
				// One call first, so that what a runtime allocates once (the
				// compiled code, the first pool) is not counted per instance.
				call("warm-up")
				before, idle0 := inUse(), r.IdleBytes()
				for i := range users {
					call(fmt.Sprint("user-", i))
				}
				if n := r.Idle(); n != users+1 {
					b.Fatalf("%d warm instances; want %d", n, users+1)
				}
				after := inUse()
				b.ReportMetric(float64(r.IdleBytes()-idle0)/users/1024, "linear-KiB")
				b.ReportMetric(float64(after-before)/users/1024, "process-KiB")
				r.Close(context.Background())
			}
		})
	}
}

// inUse is the process's heap and stack memory in use after a collection.
func inUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}
