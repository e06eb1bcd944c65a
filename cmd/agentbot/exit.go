package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/agentbot/gateway/sdk/client"
)

// Exit codes, for scripts (README, "The agentbot CLI"; `agentbot help`).
const (
	exitOK       = 0
	exitFailure  = 1 // anything else: a network error, a 5xx, a failed build or test
	exitUsage    = 2 // a bad command, flag or argument; a feature not available yet
	exitAuth     = 3 // 401/403, or no stored credential
	exitNotFound = 4 // 404
	exitPayment  = 5 // 402: payment required
	exitLimited  = 6 // 429: rate limit or quota
	exitConflict = 7 // 409: e.g. a skill version already published
	exitRefused  = 8 // 400, 413, 415, 422: the server refused the input
)

// exitCodesHelp is the table `agentbot help` shows.
const exitCodesHelp = `Exit codes:
  0  success
  1  failure (network, server error, failed build or test)
  2  usage: bad command, flag or argument, or a feature not available yet
  3  authentication: 401 or 403, or not logged in
  4  not found (404)
  5  payment required (402)
  6  rate limited or over a quota (429)
  7  conflict (409), e.g. a skill version already published
  8  the server refused the input (400, 413, 415, 422), e.g. an invalid manifest`

// codeError is an error with its exit code.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codeError{code, err}
}

func usageErrorf(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// exitCode maps an error to the process's exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	switch client.StatusOf(err) {
	case http.StatusUnauthorized, http.StatusForbidden:
		return exitAuth
	case http.StatusNotFound:
		return exitNotFound
	case http.StatusPaymentRequired:
		return exitPayment
	case http.StatusTooManyRequests:
		return exitLimited
	case http.StatusConflict:
		return exitConflict
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return exitRefused
	}
	return exitFailure
}

// report writes err to w: "agentbot: message", then a server's refusal
// field by field (each extra member of its error body, the request id
// last); with asJSON one object {error, code, status, requestId, fields,
// exitCode}.
func report(w io.Writer, err error, asJSON bool) {
	var e *client.Error
	isAPI := errors.As(err, &e)
	if asJSON {
		out := map[string]any{"error": err.Error(), "exitCode": exitCode(err)}
		if isAPI {
			out["error"], out["code"], out["status"] = e.Message, e.Code, e.Status
			if e.RequestID != "" {
				out["requestId"] = e.RequestID
			}
			if len(e.Fields) > 0 {
				out["fields"] = e.Fields
			}
		}
		b, _ := json.Marshal(out)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	fmt.Fprintf(w, "agentbot: %v\n", err)
	if !isAPI {
		return
	}
	for _, name := range e.FieldNames() {
		fmt.Fprintf(w, "  %s: %s\n", name, fieldValue(e.Fields[name]))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(w, "  retry after: %s\n", e.RetryAfter)
	}
}

// fieldValue shows a field's value: strings as they are, anything else as
// compact JSON.
func fieldValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return strings.TrimSpace(s)
}
