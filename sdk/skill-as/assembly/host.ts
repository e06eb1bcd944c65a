// The host functions of skill ABI v1 (import module "agentbot:skill/v1"),
// declared exactly as the Go SDK's sdk/skill/imports_wasip1.go declares them:
// pointers and lengths are i32 offsets and sizes in this module's memory.
// Internal to the SDK: skills use Call, KV and the functions of index.ts.

// @ts-ignore: decorator
@external("agentbot:skill/v1", "input_len")
export declare function input_len(): i32;

// @ts-ignore: decorator
@external("agentbot:skill/v1", "input_read")
export declare function input_read(ptr: usize): void;

// @ts-ignore: decorator
@external("agentbot:skill/v1", "output_write")
export declare function output_write(ptr: usize, len: u32): i32;

// @ts-ignore: decorator
@external("agentbot:skill/v1", "fail")
export declare function fail(status: i32, codePtr: usize, codeLen: u32, msgPtr: usize, msgLen: u32): void;

// @ts-ignore: decorator
@external("agentbot:skill/v1", "log")
export declare function log(level: i32, ptr: usize, len: u32): void;

// @ts-ignore: decorator
@external("agentbot:skill/v1", "result_read")
export declare function result_read(ptr: usize): void;

// @ts-ignore: decorator
@external("agentbot:skill/v1", "kv_get")
export declare function kv_get(keyPtr: usize, keyLen: u32): i64;

// @ts-ignore: decorator
@external("agentbot:skill/v1", "kv_set")
export declare function kv_set(keyPtr: usize, keyLen: u32, valPtr: usize, valLen: u32): i32;

// @ts-ignore: decorator
@external("agentbot:skill/v1", "kv_delete")
export declare function kv_delete(keyPtr: usize, keyLen: u32): i32;

// @ts-ignore: decorator
@external("agentbot:skill/v1", "kv_list")
export declare function kv_list(prefixPtr: usize, prefixLen: u32): i64;

// @ts-ignore: decorator
@external("agentbot:skill/v1", "http_fetch")
export declare function http_fetch(reqPtr: usize, reqLen: u32): i64;

// @ts-ignore: decorator
@external("agentbot:skill/v1", "config_get")
export declare function config_get(keyPtr: usize, keyLen: u32): i64;
