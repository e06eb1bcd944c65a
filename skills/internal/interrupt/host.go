package interrupt

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Instantiate instantiates the host function instrumented modules import,
// ImportModule.ImportName, in r: it stops the guest (a trap whose error
// wraps the context's) once the context of the guest's call is done, and
// otherwise returns at once. Calling it is what lets the Go runtime in.
func Instantiate(ctx context.Context, r wazero.Runtime) error {
	_, err := r.NewHostModuleBuilder(ImportModule).
		NewFunctionBuilder().WithGoFunction(api.GoFunc(yield), nil, nil).Export(ImportName).
		Instantiate(ctx)
	return err
}

func yield(ctx context.Context, _ []uint64) {
	if err := ctx.Err(); err != nil {
		panic(err)
	}
}

// Arm makes mod, an instance of an instrumented module, call the host
// function at its next loop head once ctx is done, so that it stops then
// rather than within Budget iterations. The returned function disarms it.
// A mod without the budget global is not armed.
func Arm(ctx context.Context, mod api.Module) (disarm func() bool) {
	budget, ok := mod.ExportedGlobal(GlobalExport).(api.MutableGlobal)
	if !ok {
		return func() bool { return true }
	}
	return context.AfterFunc(ctx, func() { budget.Set(0) })
}
