// Package api owns the HTTP conventions every endpoint shares: the error type and
// its single rendering path, JSON decoding with the contract's limits, the handler
// adapter, and the middleware chain (request id, access log, recovery, body limit,
// security headers, CORS).
package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error with an HTTP status and a machine-readable code. Handlers
// return it (or wrap it); Render turns it into the contract's JSON shape
// {"error": "...", "code": "..."} plus any Fields.
type Error struct {
	Status  int
	Code    Code
	Message string
	// Fields are extra top-level members of the JSON body (e.g. current, limit).
	Fields map[string]any
	// Header holds extra response headers (e.g. Retry-After).
	Header http.Header
	// Err is the underlying cause; it is logged for 5xx and never sent to clients.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// With returns a copy of e carrying an extra JSON field.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Fields = make(map[string]any, len(e.Fields)+1)
	for k, v := range e.Fields {
		c.Fields[k] = v
	}
	c.Fields[key] = value
	return &c
}

// Errorf builds an *Error with a formatted message.
func Errorf(status int, code Code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Constructors for the kinds every package needs. Codes are the contract's.
func BadRequest(code Code, msg string) *Error { return &Error{Status: 400, Code: code, Message: msg} }
func Validation(msg string) *Error            { return BadRequest(CodeValidationError, msg) }
func Unauthorized(code Code, msg string) *Error {
	return &Error{Status: 401, Code: code, Message: msg}
}
func Forbidden(code Code, msg string) *Error { return &Error{Status: 403, Code: code, Message: msg} }
func NotFound(msg string) *Error             { return &Error{Status: 404, Code: CodeNotFound, Message: msg} }
func Conflict(code Code, msg string) *Error  { return &Error{Status: 409, Code: code, Message: msg} }
func Internal(err error) *Error {
	return &Error{Status: 500, Code: CodeInternal, Message: "Internal server error", Err: err}
}

// Common errors.
var (
	ErrAuthRequired = Unauthorized(CodeAuthRequired, "Authentication required")
	ErrTooLarge     = &Error{Status: 413, Code: CodePayloadTooLarge, Message: "Request body exceeds 1 MiB"}
	ErrRateLimited  = &Error{Status: 429, Code: CodeRateLimited, Message: "Too many requests"}
)

// AsError maps any error to an *Error: an *Error anywhere in the chain wins, a
// MaxBytesError is 413, anything else is an internal error.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return ErrTooLarge
	}
	return Internal(err)
}
