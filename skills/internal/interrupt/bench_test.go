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
// few iterations per loop). Each runs on a runtime of its own:
//
//	baseline                no check: wazero's optimizing compiler, WithCloseOnContextDone off
//	close-on-context-done   wazero's check: a call out of the compiled code at every loop head
//	budget-N                the instrumentation with Budget N: a countdown at every loop head,
//	                        a host call when it runs out (4096 is the platform's)
//	budget-4096-calls       the same, also at every function's entry
//	flag                    a trap at loop heads once a global is set, never calling out (unsafe)
//	interpreter…            wazero's interpreter: without a check, with WithCloseOnContextDone,
//	                        instrumented
//
// Run with go test -run '^$' -bench LoopCheck ./skills/internal/interrupt/ | go run ./tools/benchratio
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
	for _, tc := range []struct {
		name       string
		rc         wazero.RuntimeConfig
		closeOnCtx bool
		budget     int32 // 0: not instrumented; -1: the flag
		calls      bool
		flag       bool
	}{
		{name: "baseline", rc: compiler},
		{name: "close-on-context-done", rc: compiler, closeOnCtx: true},
		{name: "budget-256", rc: compiler, budget: 256},
		{name: "budget-4096", rc: compiler, budget: 4096},
		{name: "budget-65536", rc: compiler, budget: 65536},
		{name: "budget-4096-calls", rc: compiler, budget: 4096, calls: true},
		{name: "flag", rc: compiler, budget: -1, flag: true},
		{name: "interpreter", rc: interpreter},
		{name: "interpreter-close-on-context-done", rc: interpreter, closeOnCtx: true},
		{name: "interpreter-budget-4096", rc: interpreter, budget: 4096},
	} {
		b.Run(tc.name, func(b *testing.B) {
			code := wasm
			if tc.budget != 0 {
				Budget, checkCalls = tc.budget, tc.calls
				if tc.flag {
					Budget, appendCheck = 0, appendFlagCheck // the global, the flag, starts at 0
				}
				var err error
				code, err = Instrument(wasm)
				Budget, checkCalls, appendCheck = 1<<12, false, (*module).appendCheck
				if err != nil {
					b.Fatal(err)
				}
			}
			mod := warm(b, tc.rc.WithCloseOnContextDone(tc.closeOnCtx).WithMemoryLimitPages(1024), code)
			ctx := context.Background()
			for b.Loop() {
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				disarm := Arm(cctx, mod)
				if err := abi.Run(cctx, mod, abi.NewCall(input, abi.Capabilities{}, abi.Limits{})); err != nil {
					b.Fatal(err)
				}
				disarm()
				cancel()
			}
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
