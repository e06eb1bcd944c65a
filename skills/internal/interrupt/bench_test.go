package interrupt

import (
	"context"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/skills/internal/testguests"
)

// appendFlagCheck is the check this package's first version put at loop
// heads: trap once the host sets a flag (here the budget global). It never
// calls out, so that a looping guest holds up the garbage collector's
// stop-the-world (TestLoopingGuestLetsTheGarbageCollectorIn in skills/):
// measured only, for what calling out costs.
func appendFlagCheck(m *module, b []byte) []byte {
	b = appendU32(append(b, opGlobalGet), m.globals)
	return append(b, opIf, blockEmpty, 0x00, opEnd)
}

// BenchmarkLoopCheck compares the ways of stopping a guest's loops, on a
// warm call of the CPU-bound work guest (500,000 rounds of a hash loop with
// no calls, ≈ 1 ms), and of the echo guest (JSON in and out: many calls,
// few iterations per loop). Each runs on a runtime of its own, its calls
// alternating with the baseline's; x-baseline is the ratio of their times
// (ns/op counts both):
//
//	baseline                no check: wazero's optimizing compiler, WithCloseOnContextDone off
//	close-on-context-done   wazero's check: a call out of the compiled code at every loop head
//	budget-N                the instrumentation with Budget N: a countdown at every function's
//	                        entry and loop head, a host call when it runs out (4096: the platform's)
//	budget-4096-loops       the same at loop heads only
//	flag                    a trap at loop heads once a global is set, never calling out (unsafe)
//	interpreter…            wazero's interpreter: without a check, with WithCloseOnContextDone,
//	                        instrumented
//
// Run with go test -run '^$' -bench LoopCheck -count 5 ./skills/internal/interrupt/ and read x-baseline.
func BenchmarkLoopCheck(b *testing.B) {
	for _, g := range []struct{ guest, input string }{
		{"work", `{"n":500000}`},
		{"echo", `{"agentId":"agt_1","action":"echo","text":"hello","numbers":[1,2,3]}`},
	} {
		b.Run(g.guest, func(b *testing.B) { benchLoopCheck(b, testguests.Wasm(b, g.guest), []byte(g.input)) })
	}
}

func benchLoopCheck(b *testing.B, wasm []byte, input []byte) {
	compiler, interpreter := wazero.NewRuntimeConfigCompiler(), wazero.NewRuntimeConfigInterpreter()
	// A variant's instance, and a baseline instance to alternate with: one
	// each, since a Go guest's instance traps inside Go's allocator after
	// some 500,000 calls (with or without instrumenting).
	var mods, bases []api.Module
	var names []string
	for _, tc := range []struct {
		name       string
		rc         wazero.RuntimeConfig
		closeOnCtx bool
		budget     int32 // 0: not instrumented; -1: the flag
		loopsOnly  bool
		flag       bool
	}{
		{name: "baseline", rc: compiler},
		{name: "close-on-context-done", rc: compiler, closeOnCtx: true},
		{name: "budget-256", rc: compiler, budget: 256},
		{name: "budget-4096", rc: compiler, budget: 4096},
		{name: "budget-65536", rc: compiler, budget: 65536},
		{name: "budget-4096-loops", rc: compiler, budget: 4096, loopsOnly: true},
		{name: "flag", rc: compiler, budget: -1, loopsOnly: true, flag: true},
		{name: "interpreter", rc: interpreter},
		{name: "interpreter-close-on-context-done", rc: interpreter, closeOnCtx: true},
		{name: "interpreter-budget-4096", rc: interpreter, budget: 4096},
	} {
		// Every instance is made before any is measured, so that each runs
		// with the same heap around it.
		code := wasm
		if tc.budget != 0 {
			Budget, checkCalls = tc.budget, !tc.loopsOnly
			if tc.flag {
				Budget, appendCheck = 0, appendFlagCheck // the global, the flag, starts at 0
			}
			var err error
			code, err = Instrument(wasm)
			Budget, checkCalls, appendCheck = 1<<12, true, (*module).appendCheck
			if err != nil {
				b.Fatal(err)
			}
		}
		mods = append(mods, warm(b, tc.rc.WithCloseOnContextDone(tc.closeOnCtx).WithMemoryLimitPages(1024), code))
		bases = append(bases, warm(b, compiler.WithMemoryLimitPages(1024), wasm))
		names = append(names, tc.name)
	}
	ctx := context.Background()
	call := func(b *testing.B, mod api.Module) time.Duration {
		t0 := time.Now()
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		defer Arm(cctx, mod)()
		if err := abi.Run(cctx, mod, abi.NewCall(input, abi.Capabilities{}, abi.Limits{})); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	for i := range mods {
		b.Run(names[i], func(b *testing.B) {
			// Calls alternate with the baseline's, so that both see the same
			// machine (another job on the cores, the heap, the GC):
			// x-baseline is their ratio.
			var base, own time.Duration
			for b.Loop() {
				base += call(b, bases[i])
				own += call(b, mods[i])
			}
			b.ReportMetric(float64(own.Nanoseconds())/float64(b.N), "ns/call")
			b.ReportMetric(float64(own)/float64(base), "x-baseline")
		})
	}
}

// warm instantiates wasm, a skill, on a runtime of its own.
func warm(b *testing.B, rc wazero.RuntimeConfig, wasm []byte) api.Module {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	b.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if _, err := abi.Instantiate(ctx, rt); err != nil {
		b.Fatal(err)
	}
	if err := Instantiate(ctx, rt); err != nil {
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
