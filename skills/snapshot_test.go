package skills

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/skills/internal/testguests"
)

// rawInstance instantiates a Go guest on a runtime configured as the
// platform's, outside the pool, and snapshots its memory after _initialize.
func rawInstance(t testing.TB, name string) (api.Module, []byte) {
	t.Helper()
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(testCache)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, abi.RuntimeConfig(1024).WithCompilationCache(cache))
	t.Cleanup(func() { rt.Close(ctx); cache.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if _, err := abi.Instantiate(ctx, rt); err != nil {
		t.Fatal(err)
	}
	cm, err := rt.CompileModule(ctx, testguests.Wasm(t, name))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, cm, abi.ModuleConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	mem, _ := mod.Memory().Read(0, mod.Memory().Size())
	return mod, append([]byte(nil), mem...)
}

func runRaw(t testing.TB, mod api.Module, input string) ([]byte, error) {
	call := abi.NewCall([]byte(input), abi.Capabilities{}, abi.Limits{})
	if err := abi.Run(context.Background(), mod, call); err != nil {
		return nil, err
	}
	out, f, _ := call.Result()
	if f != nil {
		t.Fatalf("call failed: %v", f)
	}
	return out, nil
}

// Restoring an instance to its state after _initialize by writing its memory
// back is what wazero's public API allows (api.Memory Read/Write); it cannot
// restore the module's globals (Go's stack pointer and friends are not
// exported), shrink memory the call grew, or rewind the WASI clock and random
// source. This test records what that gives: a call that leaves the heap as
// it found it is reset (its package variables included), but once a call has
// grown the heap the restored instance keeps the larger memory and Go's
// runtime, its memory no longer matching its own view of itself, may crash.
// The pool therefore never restores instances; a restore would be sound only
// with a runtime-level snapshot of the whole instance, which wazero lacks.
func TestMemorySnapshotIsNotARestore(t *testing.T) {
	mod, snap := rawInstance(t, "echo")
	for i, want := range []float64{1, 2} {
		out, err := runRaw(t, mod, `{}`)
		if err != nil || decode(t, out)["instanceCalls"] != want {
			t.Fatalf("call %d = %s, %v", i, out, err)
		}
	}
	mod.Memory().Write(0, snap)
	if out, err := runRaw(t, mod, `{}`); err != nil || decode(t, out)["instanceCalls"] != 1.0 {
		t.Errorf("after restoring memory: %s, %v; want the package variables reset", out, err)
	}

	hog, snap := rawInstance(t, "hog")
	if _, err := runRaw(t, hog, `{"chunk":1048576,"times":8}`); err != nil {
		t.Fatal(err)
	}
	hog.Memory().Write(0, snap)
	if grown := hog.Memory().Size(); int(grown) <= len(snap) {
		t.Errorf("memory after the call and the restore = %d bytes; expected more than the snapshot's %d (memory does not shrink)", grown, len(snap))
	}
	_, err := runRaw(t, hog, `{"chunk":1048576,"times":8}`)
	t.Logf("a call on the restored instance after the heap grew: %.120v", err)
}
