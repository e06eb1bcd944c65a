package abi

import (
	"github.com/tetratelabs/wazero"
)

// ModuleConfig returns the configuration for one skill instance: the given
// name ("" for the anonymous instances a runtime should use) and _initialize
// as the only start function, with wazero's sandboxed defaults left as they
// are, because each is what a skill must get:
//
//   - no filesystem (no WithFS/WithFSConfig), environment, arguments or
//     sockets; standard input at EOF, standard output and error discarded;
//   - fake clocks: WithSysWalltime/WithSysNanotime are not set, so the wall
//     clock starts at 2022-01-01T00:00:00Z and both clocks advance 1 ms per
//     reading; WithSysNanosleep is not set, so a guest's sleep polls the
//     fake clock and long sleeps end at the call's deadline;
//   - a deterministic random source: WithRandSource is not set, so every
//     instance gets wazero's own fixed-seed reader, created per instance
//     (a reader passed here would be shared, and raced, by every instance
//     made from the config).
//
// Do not add to it for skills: each With* above would open a hole in the
// sandbox.
func ModuleConfig(name string) wazero.ModuleConfig {
	return wazero.NewModuleConfig().WithName(name).WithStartFunctions("_initialize")
}

// RuntimeConfig returns the runtime configuration skills need: a running
// module stops when its call's context is done (the wall-clock deadline),
// and each instance's memory is capped at memoryPages pages of 64 KiB (a Go
// skill needs at least 64, i.e. 4 MiB). Add a compilation cache as wanted.
//
// The deadline comes from wazero's WithCloseOnContextDone, whose check at
// every loop head makes CPU-bound guest code several times slower. A host
// that stops running modules another way may turn it off, as the Agentbot
// platform does: it instruments each module's loops when it compiles it.
func RuntimeConfig(memoryPages uint32) wazero.RuntimeConfig {
	return wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithMemoryLimitPages(memoryPages)
}
