// Package abi is the host side of the skill ABI, version 1: the host module
// "agentbot:skill/v1" that skills import, the per-call state its functions
// work on, the check that a module imports nothing else, and the locked-down
// WASI configuration every skill instance gets. The ABI itself is documented
// in package skill, the guest side; a test keeps the two equal.
//
// # Embedding
//
// A runtime that runs skills owns one wazero.Runtime and, for it:
//
//	r := wazero.NewRuntimeWithConfig(ctx, abi.RuntimeConfig(memoryPages)) // close on ctx done, memory cap
//	wasi_snapshot_preview1.MustInstantiate(ctx, r)
//	abi.Instantiate(ctx, r)                    // once; serves every instance
//
//	compiled, _ := r.CompileModule(ctx, wasm) // once per module
//	err := abi.CheckImports(compiled)          // refuse anything outside the ABI
//
//	// per call:
//	mod, _ := r.InstantiateModule(ctx, compiled, abi.ModuleConfig(""))
//	call := abi.NewCall(input, caps, limits)
//	err = abi.Run(ctxWithDeadline, mod, call) // trap, deadline → err
//	out, failure, logs := call.Result()
//	mod.Close(ctx)
//
// The runtime must hold no other host modules and must instantiate skills
// anonymously (ModuleConfig("")), so that a skill can import nothing but the
// two modules CheckImports allows (it sees function and memory imports only;
// with nothing else to import, a table or global import fails to
// instantiate).
//
// The host functions find the call through the context (WithCall, which Run
// does), so one host module serves every instance and every call. A Call and
// the instance running it are single-threaded: never Run two calls on one
// instance at once. Outside Run, e.g. in _initialize, every host function
// traps.
package abi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// Module is the import module of ABI version 1 (skill.ABIModule).
const Module = "agentbot:skill/v1"

// Version is the ABI's version (skill.ABIVersion).
const Version = 1

// RunExport is the module's entry point: agentbot_run() -> i32, 0 = success.
const RunExport = "agentbot_run"

// Negative results of host functions, equal to skill.Errno*.
const (
	ErrnoNotFound      = -1 // kv_get, config_get: no such key
	ErrnoOutputFull    = -1 // output_write: the output cap is exceeded
	ErrnoHostCallLimit = -2 // the call's host-call budget is exhausted
	ErrnoNotGranted    = -3 // the capability was not granted
	ErrnoHostFailure   = -4 // the capability's backend failed
	ErrnoInvalid       = -5 // a key is empty or longer than MaxKeyLen
	ErrnoTooLarge      = -6 // a value is over Limits.MaxKVValue
	ErrnoQuota         = -7 // kv_set: the store's quota (keys or bytes) is reached
)

// MaxKeyLen is the longest KV key, KV list prefix or config key, in bytes.
const MaxKeyLen = 512

// Failure codes set by the host (the guest SDK uses the same strings).
const (
	CodeOutputTooLarge = "OUTPUT_TOO_LARGE"
	CodeHostCallLimit  = "HOST_CALL_LIMIT"
	CodeSkillFailed    = "SKILL_FAILED" // agentbot_run returned non-zero without calling fail
)

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostFunc is one function of the host module: its signature, which
// CheckImports also holds imports to, and its implementation.
type hostFunc struct {
	name            string
	params, results []api.ValueType
	fn              func(ctx context.Context, c *Call, m api.Module, stack []uint64)
	budgeted        bool // counts against Limits.MaxHostCalls
	keepsPending    bool // leaves the pending result alone (budgeted calls replace it otherwise)
}

// hostFuncs is ABI v1. Add new functions at the end; never change one.
var hostFuncs = []hostFunc{
	{"input_len", nil, []api.ValueType{i32}, inputLen, false, false},
	{"input_read", []api.ValueType{i32}, nil, inputRead, false, false},
	// output_write is budgeted too: the output cap bounds the bytes, the
	// budget the calls (a guest ignoring -1 and writing on gains nothing).
	{"output_write", []api.ValueType{i32, i32}, []api.ValueType{i32}, outputWrite, true, true},
	{"fail", []api.ValueType{i32, i32, i32, i32, i32}, nil, fail, false, false},
	{"log", []api.ValueType{i32, i32, i32}, nil, logLine, true, false},
	{"result_read", []api.ValueType{i32}, nil, resultRead, false, false},
	{"kv_get", []api.ValueType{i32, i32}, []api.ValueType{i64}, kvGet, true, false},
	{"kv_set", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, kvSet, true, false},
	{"kv_delete", []api.ValueType{i32, i32}, []api.ValueType{i32}, kvDelete, true, false},
	{"kv_list", []api.ValueType{i32, i32}, []api.ValueType{i64}, kvList, true, false},
	{"http_fetch", []api.ValueType{i32, i32}, []api.ValueType{i64}, httpFetch, true, false},
	{"config_get", []api.ValueType{i32, i32}, []api.ValueType{i64}, configGet, true, false},
}
