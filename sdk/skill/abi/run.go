package abi

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// Run runs one call on an instance of a skill: agentbot_run with call bound
// to ctx. The outcome is then in call.Result. An error means the call did not
// complete: a trap (including a Go panic that exited the module), the context's
// deadline or cancellation (errors.Is(err, context.DeadlineExceeded) — for a
// deadline to stop a running module, the runtime must have been built with
// WithCloseOnContextDone(true), as by RuntimeConfig, or the module stopped
// another way), or a module that is not a skill. After an error the instance
// is unusable; close it.
func Run(ctx context.Context, mod api.Module, call *Call) error {
	r, err := NewRunner(mod)
	if err != nil {
		return err
	}
	return r.Run(ctx, call)
}

// A Runner runs calls on one instance, one at a time, having looked up its
// entry point once: for an instance kept warm for many calls. wazero makes a
// new function (with its own stack, ≈ 12 KB) at every lookup, so Run on a
// warm instance pays that each call and a Runner once.
type Runner struct {
	fn api.Function
}

// NewRunner returns mod's Runner; mod must be a skill (export agentbot_run).
func NewRunner(mod api.Module) (*Runner, error) {
	fn := mod.ExportedFunction(RunExport)
	if fn == nil {
		return nil, fmt.Errorf("abi: module exports no %s", RunExport)
	}
	return &Runner{fn: fn}, nil
}

// Run is the package's Run on the Runner's instance. Calls must not overlap.
func (r *Runner) Run(ctx context.Context, call *Call) error {
	if call.started {
		return errors.New("abi: a Call runs once")
	}
	call.started = true
	res, err := r.fn.Call(WithCall(ctx, call))
	if err != nil {
		return fmt.Errorf("abi: %s: %w", RunExport, err)
	}
	if len(res) != 1 {
		return fmt.Errorf("abi: %s returned %d results; want 1", RunExport, len(res))
	}
	call.ran, call.rc = true, api.DecodeU32(res[0])
	return nil
}
