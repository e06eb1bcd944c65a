// Package skill is the SDK for Agentbot skills: small WebAssembly programs that
// the platform runs, one sandboxed call at a time, when a user's agent invokes
// `POST /api/skills/:name {action, …}`.
//
// The package uses the standard library only, so that a skill's module stays
// small and its author needs nothing else.
//
// # Writing a skill
//
// A skill is a Go main package built as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o skill.wasm .
//
// It registers one handler from init; main must exist but is never run:
//
//	func main() {}
//	func init() { skill.Handle(run) }
//
//	func run(c *skill.Call) error {
//		var in struct{ Name string }
//		if err := c.InputJSON(&in); err != nil {
//			return err // 400 INVALID_INPUT
//		}
//		if in.Name == "" {
//			return skill.Fail("name is required") // 400 BAD_REQUEST
//		}
//		return c.OutputJSON(map[string]string{"greeting": "hello " + in.Name})
//	}
//
// Skills whose input is `{"action": …}` register a table instead, and an
// unknown or missing action fails with 400 INVALID_ACTION "Invalid action":
//
//	func init() { skill.Route(map[string]skill.HandlerFunc{"escrow": escrow, "release": release}) }
//
// Methods on *Call talk to the host (input, output, log, key-value store,
// HTTP, configuration); the package-level Fail and Failf build the errors that
// end a call with a status and a code. Handlers may also return any other
// error (500 SKILL_ERROR) or panic (500 SKILL_PANIC). Output written before a
// failure is discarded.
//
// Test a skill with package skilltest, which runs the built module in-process
// through the same host the platform uses.
//
// # ABI version 1
//
// The contract between a module and the host is versioned by the name of the
// import module, ABIModule ("agentbot:skill/v1"), and ABIVersion. Within a
// version it only grows: new host functions may be added, existing ones never
// change. The host side is package abi; a test keeps both sides equal.
//
// The module must export:
//
//	memory                     its linear memory
//	_initialize                run once after instantiation (Go provides it)
//	agentbot_run() -> i32      run one call: 0 = success, 1 = failure
//
// and may import only the functions below and WASI preview 1
// ("wasi_snapshot_preview1"); the platform refuses any other import when the
// skill is published. It must not export _start (a command module), because
// the host never runs one.
//
// Host functions. Pointers and lengths are i32 offsets into the module's
// memory; a pointer the host cannot read or write traps the call. They serve
// only during agentbot_run: called from _initialize (a Go init function), they
// trap.
//
//	input_len() -> i32                          length of the call's input
//	input_read(ptr)                             copy the input to ptr
//	output_write(ptr, len) -> i32               append to the output; 0, or -1 when the output cap is exceeded
//	fail(status, code_ptr, code_len, msg_ptr, msg_len)
//	                                            record the failure (status 400–599, others become 500;
//	                                            code cut to 64 bytes, message to 4 KiB)
//	log(level, ptr, len)                        0 debug, 1 info, 2 warn, 3 error
//	result_read(ptr)                            copy the pending result of the last call below to ptr
//	kv_get(kptr, klen) -> i64                   value length, or -1 when missing
//	kv_set(kptr, klen, vptr, vlen) -> i32       0, or a negative code
//	kv_delete(kptr, klen) -> i32                0, or a negative code (deleting a missing key is 0)
//	kv_list(pptr, plen) -> i64                  length of a JSON array of the keys with that prefix
//	http_fetch(req_ptr, req_len) -> i64         length of the JSON result
//	config_get(kptr, klen) -> i64               value length, or -1 when missing
//
// A non-negative length returned by kv_get, kv_list, http_fetch and config_get
// is that of a pending result, which the module fetches with result_read
// before its next host call; the next call replaces it.
//
// http_fetch takes `{"method","url","headers":{},"body":"<base64>"}` and its
// result is `{"status","headers":{},"body":"<base64>"}`, or `{"error":"…"}`
// when the request was malformed, refused by the host's allow-list or failed
// in transit. It returns a negative code only for -2 and -3.
//
// Negative codes, the same for every function that returns one:
//
//	-1  ErrnoNotFound / ErrnoOutputFull: no such key; the output cap is reached
//	-2  ErrnoHostCallLimit: the call's host-call budget is exhausted
//	-3  ErrnoNotGranted: the skill was not granted the capability (KV, HTTP)
//	-4  ErrnoHostFailure: the capability's backend failed; why goes to the platform, not the skill
//	-5  ErrnoInvalid: a key is empty or longer than 512 bytes (a kv_list prefix may be empty)
//	-6  ErrnoTooLarge: a value is over the host's size limit
//	-7  ErrnoQuota: kv_set would take the store past the platform's quota (keys or bytes per user and skill)
//
// The budget counts output_write and the calls that reach a capability: log,
// kv_*, http_fetch and config_get. Once it is spent those return -2 (log,
// which returns nothing, drops the line) and the call fails with
// HOST_CALL_LIMIT whatever the module does next; the host never traps for a
// budget. The other plumbing functions (input_*, fail, result_read) are
// bounded by the input and the pending result instead. Likewise, once the
// output cap is exceeded the call fails with OUTPUT_TOO_LARGE. The platform's
// operator sets the maxima of both (by default 1 MiB of output and 10,000
// budgeted calls); a manifest may ask for less, never more.
//
// A call fails when the module called fail, returned non-zero from
// agentbot_run, or exceeded a host limit; the host limits take precedence,
// then fail, then a generic 500 SKILL_FAILED.
//
// # Sandbox
//
// Each call runs in an instance with a memory cap and a wall-clock deadline.
// WASI is present only so that Go's runtime starts: there is no filesystem,
// environment, arguments, standard input or network; standard output and
// error are discarded (use Log). The clocks are fake: they start at
// 2022-01-01T00:00:00Z and advance 1 ms per reading, so time.Now is not the
// real time, and time.Sleep spins through fake milliseconds (a sleep of a few
// seconds runs into the call's deadline; don't sleep). The random source has a
// fixed seed, the same in every instance: crypto/rand is deterministic and
// must not make secrets. Whatever the skill needs of the outside world (the
// current time included) comes in its input or through a host function.
//
// An instance is never shared between two users and never runs two calls at
// once; a call without a user (an anonymous machine payer) always gets a fresh
// one. By default the platform keeps a few warm instances per user and reuses
// them for that user's later calls, so package variables may survive from one
// of the same user's calls to the next: keep state in KV, not in variables, and
// never rely on either a warm or a fresh start (operators may choose a fresh
// instance per call with AGENTBOT_SKILL_ISOLATION=fresh).
package skill
