package skill

import (
	"encoding/json"
	"fmt"
)

// ABIModule is the import module of every host function of ABI version 1.
const ABIModule = "agentbot:skill/v1"

// ABIVersion is the skill ABI's version, the "v1" of ABIModule.
const ABIVersion = 1

// Negative results of host functions (see the package doc). Package abi
// defines the same values for the host; a test keeps them equal.
const (
	ErrnoNotFound      = -1 // kv_get, config_get: no such key
	ErrnoOutputFull    = -1 // output_write: the output cap is exceeded
	ErrnoHostCallLimit = -2 // the call's host-call budget is exhausted
	ErrnoNotGranted    = -3 // the capability was not granted
	ErrnoHostFailure   = -4 // the capability's backend failed
	ErrnoInvalid       = -5 // a key is empty or too long
	ErrnoTooLarge      = -6 // a value is over the host's limit
	ErrnoQuota         = -7 // kv_set: the platform's key-value quota is reached
)

// Level is a log line's severity, as passed to the host's log function.
type Level int32

// Log levels.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

// HandlerFunc runs one call. Returning nil makes the call succeed with the
// output written so far; returning an error makes it fail (see Error).
type HandlerFunc func(c *Call) error

// handler is the registered entry point. Package-level because the module has
// exactly one, set from init before the host's first call.
var handler HandlerFunc

// Handle registers the skill's handler. Call it once, from init.
func Handle(h HandlerFunc) {
	if handler != nil {
		panic("skill: Handle or Route called twice")
	}
	if h == nil {
		panic("skill: nil handler")
	}
	handler = h
}

// Route registers a handler that dispatches on the input's "action" field.
// An input that is not a JSON object fails with 400 INVALID_INPUT; a missing or
// unknown action fails with 400 INVALID_ACTION "Invalid action".
func Route(routes map[string]HandlerFunc) {
	table := make(map[string]HandlerFunc, len(routes))
	for action, h := range routes {
		table[action] = h
	}
	Handle(func(c *Call) error {
		var in struct {
			Action string `json:"action"`
		}
		if err := c.InputJSON(&in); err != nil {
			return err
		}
		h := table[in.Action]
		if h == nil {
			return errInvalidAction
		}
		return h(c)
	})
}

// Call is one invocation of the skill. It is valid only while the handler
// runs.
type Call struct {
	input    []byte
	inputErr error
	read     bool
}

// Input returns the call's input. It returns nil outside the sandbox.
func (c *Call) Input() []byte {
	if !c.read {
		c.read = true
		c.input, c.inputErr = readInput()
	}
	return c.input
}

// InputJSON decodes the input into v. A decoding error is an *Error with
// status 400 and code INVALID_INPUT, so handlers can return it as is.
func (c *Call) InputJSON(v any) error {
	in := c.Input()
	if c.inputErr != nil {
		return c.inputErr
	}
	if err := json.Unmarshal(in, v); err != nil {
		return &Error{Status: 400, Code: CodeInvalidInput, Message: "Invalid JSON input: " + err.Error()}
	}
	return nil
}

// Output appends b to the call's output. It returns ErrOutputTooLarge once
// the host's output cap is exceeded; the call then fails whatever the handler
// returns.
func (c *Call) Output(b []byte) error {
	return writeOutput(b)
}

// OutputJSON appends the JSON encoding of v to the output.
func (c *Call) OutputJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("skill: encoding output: %w", err)
	}
	return c.Output(b)
}

// Log sends a line to the platform's log for this skill. Lines over the
// host's log allowance are dropped.
func (c *Call) Log(level Level, msg string) {
	hostLog(level, msg)
}

// Logf formats a line and logs it.
func (c *Call) Logf(level Level, format string, args ...any) {
	hostLog(level, fmt.Sprintf(format, args...))
}

// Config returns the value of a configuration key set for this skill
// installation, and whether it is set.
func (c *Call) Config(key string) (string, bool) {
	v, err := configGet(key)
	if err != nil || v == nil {
		return "", false
	}
	return string(v), true
}

// KV returns the call's key-value store, scoped by the platform to the calling
// user, agent and skill. Its methods return ErrNotGranted unless the skill's
// manifest requests the "kv" capability.
func (c *Call) KV() KV { return KV{} }
