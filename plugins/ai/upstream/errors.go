package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Error is an upstream failure.
type Error struct {
	// Status is the upstream's HTTP status; 0 when no status applies (a network error, a stream cut short).
	Status int
	// Message is short and human-readable. It never contains the API key.
	Message string
	// Retryable is true for 429, 5xx and network failures.
	Retryable bool
	// RetryAfter is the upstream's Retry-After hint, zero when it sent none.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return "upstream: " + e.Message
	}
	return fmt.Sprintf("upstream: HTTP %d: %s", e.Status, e.Message)
}

const (
	maxMessage = 300 // characters of an upstream message kept in Error.Message
	minRedact  = 6   // keys shorter than this are not secrets worth mangling messages for
)

// newError builds an *Error whose message is cleaned: the API key removed, whitespace collapsed, truncated.
func (e *Endpoint) newError(status int, msg string) *Error {
	return &Error{Status: status, Message: cleanMessage(msg, e.key()), Retryable: retryable(status)}
}

func retryable(status int) bool {
	return status == 0 || status == http.StatusTooManyRequests || status >= 500
}

func cleanMessage(msg, key string) string {
	// Redact before truncating, so that a key cut in half cannot survive.
	if len(key) >= minRedact {
		msg = strings.ReplaceAll(msg, key, "[redacted]")
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if utf8.RuneCountInString(msg) > maxMessage {
		runes := []rune(msg)
		msg = string(runes[:maxMessage-1]) + "…"
	}
	if msg == "" {
		msg = "unknown error"
	}
	return msg
}

// send performs req and returns the response when its status is 2xx; the caller closes the body. Any other
// status becomes an *Error carrying the body's message and Retry-After. A network failure is an *Error with
// Status 0, unless the request's context ended, in which case the context's error is returned.
func (e *Endpoint) send(req *http.Request) (*http.Response, error) {
	resp, err := e.client().Do(req)
	if err != nil {
		return nil, e.transportError(req.Context(), err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	ue := e.newError(resp.StatusCode, errorMessage(resp.StatusCode, body))
	ue.RetryAfter = retryAfter(resp.Header, time.Now())
	return nil, ue
}

// transportError reports a failure to reach or read from the upstream.
func (e *Endpoint) transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("upstream: %w", ctxErr)
	}
	var uerr *url.Error
	var nerr net.Error
	if errors.As(err, &uerr) || errors.As(err, &nerr) {
		return e.newError(0, networkMessage(err))
	}
	return e.newError(0, err.Error())
}

// networkMessage describes a network failure by host and kind, without the
// socket's or resolver's addresses (which are the platform's, not the caller's).
func networkMessage(err error) string {
	host := ""
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if u, perr := url.Parse(uerr.URL); perr == nil {
			host = u.Host
		}
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	kind := "network error"
	switch {
	case errors.As(err, &dnsErr):
		kind = "host not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		kind = "connection closed"
	case errors.As(err, &opErr) && opErr.Timeout():
		kind = "timed out"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		kind = "cannot connect"
	}
	if host == "" {
		return "could not reach the provider (" + kind + ")"
	}
	return "could not reach " + host + " (" + kind + ")"
}

// readBody reads a successful response's body, refusing more than limit bytes.
func (e *Endpoint) readBody(ctx context.Context, resp *http.Response, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, e.transportError(ctx, err)
	}
	if int64(len(body)) > limit {
		return nil, e.newError(resp.StatusCode, fmt.Sprintf("response larger than %d bytes", limit))
	}
	return body, nil
}

// malformed reports a successful response whose body could not be understood.
func (e *Endpoint) malformed(status int, what string, err error) *Error {
	return e.newError(status, fmt.Sprintf("malformed %s: %v", what, err))
}

// errorBody is the shape shared by both protocols' error bodies: OpenAI's {"error":{"message","type","code"}}
// and Anthropic's {"type":"error","error":{"type","message"}}. Some compatible servers send
// {"error":"text"}, {"message":"text"} or {"detail":"text"}; Gemini wraps the object in an array.
type errorBody struct {
	Error   json.RawMessage `json:"error"`
	Message string          `json:"message"`
	Detail  json.RawMessage `json:"detail"`
}

type errorObject struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"` // a string on OpenAI, a number on OpenRouter and Gemini
}

// parseError extracts a message, an error type and a numeric code (0 when absent) from an error body.
func parseError(body []byte) (msg, typ string, code int) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(body, &list) != nil || len(list) == 0 {
			return "", "", 0
		}
		return parseError(list[0])
	}
	var b errorBody
	if json.Unmarshal(body, &b) != nil {
		return "", "", 0
	}
	var s string
	var o errorObject
	switch {
	case json.Unmarshal(b.Error, &s) == nil && s != "":
		return s, "", 0
	case json.Unmarshal(b.Error, &o) == nil && (o.Message != "" || o.Type != ""):
		msg = o.Message
		if msg == "" {
			msg = o.Type
		}
		code, _ = strconv.Atoi(string(o.Code))
		return msg, o.Type, code
	case b.Message != "":
		return b.Message, "", 0
	case json.Unmarshal(b.Detail, &s) == nil && s != "":
		return s, "", 0
	}
	return "", "", 0
}

// errorMessage finds the human message in a failed response's body, falling back to the body itself when it
// is short plain text and to the status text otherwise (an HTML error page says nothing useful).
func errorMessage(status int, body []byte) string {
	if msg, _, _ := parseError(body); msg != "" {
		return msg
	}
	text := bytes.TrimSpace(body)
	if len(text) > 0 && utf8.Valid(text) && !bytes.ContainsAny(text[:1], "<{[") {
		return string(text)
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "HTTP " + strconv.Itoa(status)
}

// maxRetryAfter bounds the hint so that an absurd value cannot overflow a Duration.
const maxRetryAfter = 24 * time.Hour

// retryAfter reads Retry-After (seconds or an HTTP date) and OpenAI's retry-after-ms, which is more precise
// when both are present.
func retryAfter(h http.Header, now time.Time) time.Duration {
	var d time.Duration
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			d = time.Duration(min(ms, float64(maxRetryAfter/time.Millisecond)) * float64(time.Millisecond))
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); d == 0 && v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil {
			if s > 0 {
				d = time.Duration(min(s, maxRetryAfter.Seconds()) * float64(time.Second))
			}
		} else if t, err := http.ParseTime(v); err == nil && t.After(now) {
			d = t.Sub(now)
		}
	}
	return min(d, maxRetryAfter)
}

// streamError reports a failure while reading an event stream.
func (e *Endpoint) streamError(ctx context.Context, err error) error {
	if errors.Is(err, errSSELineTooLong) {
		ue := e.newError(0, err.Error())
		ue.Retryable = false // the same answer would break the same way
		return ue
	}
	return e.transportError(ctx, err)
}

// isJSON reports whether a response is a JSON document rather than an event stream.
func isJSON(resp *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt == "application/json"
}
