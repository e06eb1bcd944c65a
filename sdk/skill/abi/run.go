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
	if call.started {
		return errors.New("abi: a Call runs once")
	}
	call.started = true
	fn := mod.ExportedFunction(RunExport)
	if fn == nil {
		return fmt.Errorf("abi: module exports no %s", RunExport)
	}
	res, err := fn.Call(WithCall(ctx, call))
	if err != nil {
		return fmt.Errorf("abi: %s: %w", RunExport, err)
	}
	if len(res) != 1 {
		return fmt.Errorf("abi: %s returned %d results; want 1", RunExport, len(res))
	}
	call.ran, call.rc = true, api.DecodeU32(res[0])
	return nil
}
