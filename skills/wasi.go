package skills

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// instantiateWASI provides WASI preview 1 to skills. What a skill can reach
// through it is decided per instance by abi.ModuleConfig: no preopened
// directories, environment, arguments or sockets, fake clocks and a
// deterministic random source.
func instantiateWASI(ctx context.Context, rt wazero.Runtime) error {
	_, err := wasi_snapshot_preview1.Instantiate(ctx, rt)
	return err
}
