package skill

import (
	"errors"
	"fmt"
)

// Codes of the failures this package produces.
const (
	CodeBadRequest     = "BAD_REQUEST"            // Fail
	CodeInvalidInput   = "INVALID_INPUT"          // InputJSON: the input is not the expected JSON
	CodeInvalidAction  = "INVALID_ACTION"         // Route: missing or unknown action
	CodeSkillError     = "SKILL_ERROR"            // the handler returned a plain error
	CodeSkillPanic     = "SKILL_PANIC"            // the handler panicked
	CodeNoHandler      = "NO_HANDLER"             // neither Handle nor Route was called
	CodeOutputTooLarge = "OUTPUT_TOO_LARGE"       // the output cap was exceeded
	CodeHostCallLimit  = "HOST_CALL_LIMIT"        // the host-call budget was exhausted
	CodeNotGranted     = "CAPABILITY_NOT_GRANTED" // a capability the manifest does not request
	CodeHostFailure    = "HOST_FAILURE"           // a capability's backend failed
	CodeInvalidKey     = "INVALID_KEY"            // a key empty or longer than 512 bytes
	CodeValueTooLarge  = "VALUE_TOO_LARGE"        // a value over the host's size limit
	CodeKVQuota        = "KV_QUOTA_EXCEEDED"      // the platform's key-value quota is reached
)

// Error is a failure with the HTTP status and machine code the caller sees.
// A handler that returns an *Error (or an error wrapping one) fails the call
// with its Status, Code and Message; any other error fails it with 500
// SKILL_ERROR and the error's text.
type Error struct {
	Status  int    // 400–599; anything else is sent as 500
	Code    string // e.g. "AMOUNT_TOO_SMALL"
	Message string // shown to the caller
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Fail returns an error that fails the call with status 400, code BAD_REQUEST
// and the formatted message: the caller's input was wrong.
func Fail(format string, args ...any) error {
	return &Error{Status: 400, Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// Failf returns an error that fails the call with the given code, status and
// formatted message.
func Failf(code string, status int, format string, args ...any) error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Errors returned by the host-facing methods. Each is an *Error, so a handler
// may return it unchanged; compare with errors.Is.
var (
	// ErrOutputTooLarge: the output cap was exceeded. The call fails with it
	// whatever the handler returns.
	ErrOutputTooLarge = &Error{Status: 500, Code: CodeOutputTooLarge, Message: "skill output too large"}
	// ErrHostCallLimit: the call's host-call budget is spent. The call fails
	// with it whatever the handler returns.
	ErrHostCallLimit = &Error{Status: 500, Code: CodeHostCallLimit, Message: "host call limit exceeded"}
	// ErrNotGranted: the skill's manifest does not request the capability.
	ErrNotGranted = &Error{Status: 500, Code: CodeNotGranted, Message: "capability not granted"}
	// ErrHostFailure: the capability's backend failed; the platform logged why.
	ErrHostFailure = &Error{Status: 500, Code: CodeHostFailure, Message: "host capability failed"}
	// ErrInvalidKey: a key is empty or longer than 512 bytes.
	ErrInvalidKey = &Error{Status: 500, Code: CodeInvalidKey, Message: "key empty or too long"}
	// ErrValueTooLarge: a value is over the host's size limit.
	ErrValueTooLarge = &Error{Status: 500, Code: CodeValueTooLarge, Message: "value too large"}
	// ErrKVQuota: KV.Set would take the user's store for this skill past the
	// platform's quota (keys or bytes); delete keys to make room. Returned
	// unchanged it fails the call with 429 KV_QUOTA_EXCEEDED.
	ErrKVQuota = &Error{Status: 429, Code: CodeKVQuota, Message: "key-value quota exceeded"}
)

// ErrNotInSandbox is returned by every host-facing method when the package
// runs outside a WebAssembly host, e.g. in a plain `go test`.
var ErrNotInSandbox = errors.New("skill: not running in the skill sandbox")

var errInvalidAction = &Error{Status: 400, Code: CodeInvalidAction, Message: "Invalid action"}

// errnoError maps a host function's negative result to its error.
func errnoError(n int64) error {
	switch n {
	case ErrnoHostCallLimit:
		return ErrHostCallLimit
	case ErrnoNotGranted:
		return ErrNotGranted
	case ErrnoHostFailure:
		return ErrHostFailure
	case ErrnoInvalid:
		return ErrInvalidKey
	case ErrnoTooLarge:
		return ErrValueTooLarge
	case ErrnoQuota:
		return ErrKVQuota
	case errnoNotInSandbox:
		return ErrNotInSandbox
	}
	return fmt.Errorf("skill: unexpected host result %d", n)
}

// failure turns a handler's result into what the host records.
func failure(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: 500, Code: CodeSkillError, Message: err.Error()}
}
