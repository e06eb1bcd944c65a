package skills

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/agentbot/gateway/skills/internal/interrupt"
)

// How a deadline stops a running skill. The runtime does not use wazero's
// WithCloseOnContextDone, whose check at every loop head calls out of the
// guest's code (≈ 9× the time of a CPU-bound Go loop, BenchmarkSkillIsolation).
// Compile instruments each module instead (package interrupt): every loop
// head counts down a budget of the instance, and calls out to the host
// function of interrupt.Instantiate only when it runs out, every
// interrupt.Budget iterations, or at once when interrupt.Arm zeroed it at the
// deadline; the host function then stops the guest. Host functions honour
// the context themselves, and a recursion without end overflows the stack
// and traps. RATIONALE.md, "Stopping a runaway skill", has the figures.

// runtimeConfig is the wazero configuration of skills: abi.RuntimeConfig's
// memory cap, without close-on-context-done.
func runtimeConfig(cfg wazero.RuntimeConfig) wazero.RuntimeConfig {
	return cfg.WithCloseOnContextDone(false)
}

// instantiate makes an instance of m with cfg and initialises it within
// ctx: the function of its start section, then _initialize, each stopped
// when ctx ends. On failure the instance is closed.
func (r *Runtime) instantiate(ctx context.Context, m *Module, cfg wazero.ModuleConfig) (api.Module, error) {
	mod, err := r.rt.InstantiateModule(ctx, m.cm, cfg.WithStartFunctions())
	if err != nil {
		return nil, err
	}
	for _, name := range []string{interrupt.StartExport, "_initialize"} {
		fn := mod.ExportedFunction(name)
		if fn == nil {
			continue
		}
		disarm := interrupt.Arm(ctx, mod)
		_, err := fn.Call(ctx)
		disarm()
		if err != nil {
			mod.Close(context.Background())
			return nil, err
		}
	}
	return mod, nil
}
