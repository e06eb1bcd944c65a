//go:build wasip1

package skill

import "unsafe"

// The host functions of ABI v1. Pointer parameters are passed as
// unsafe.Pointer so that the compiler keeps what they point to alive for the
// duration of the call; the host never keeps a pointer after it returns.

//go:wasmimport agentbot:skill/v1 input_len
func hostInputLen() int32

//go:wasmimport agentbot:skill/v1 input_read
func hostInputRead(ptr unsafe.Pointer)

//go:wasmimport agentbot:skill/v1 output_write
func hostOutputWrite(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport agentbot:skill/v1 fail
func hostFail(status int32, codePtr unsafe.Pointer, codeLen uint32, msgPtr unsafe.Pointer, msgLen uint32)

//go:wasmimport agentbot:skill/v1 log
func hostLogWrite(level int32, ptr unsafe.Pointer, n uint32)

//go:wasmimport agentbot:skill/v1 result_read
func hostResultRead(ptr unsafe.Pointer)

//go:wasmimport agentbot:skill/v1 kv_get
func hostKVGet(kptr unsafe.Pointer, klen uint32) int64

//go:wasmimport agentbot:skill/v1 kv_set
func hostKVSet(kptr unsafe.Pointer, klen uint32, vptr unsafe.Pointer, vlen uint32) int32

//go:wasmimport agentbot:skill/v1 kv_delete
func hostKVDelete(kptr unsafe.Pointer, klen uint32) int32

//go:wasmimport agentbot:skill/v1 kv_list
func hostKVList(pptr unsafe.Pointer, plen uint32) int64

//go:wasmimport agentbot:skill/v1 http_fetch
func hostHTTPFetch(ptr unsafe.Pointer, n uint32) int64

//go:wasmimport agentbot:skill/v1 config_get
func hostConfigGet(kptr unsafe.Pointer, klen uint32) int64

// agentbotRun is the module's entry point for one call.
//
//go:wasmexport agentbot_run
func agentbotRun() int32 { return run() }
