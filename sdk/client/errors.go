package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Error is a failure the server answered: its HTTP status, its
// machine-readable code, its message, the request id (for the operator's
// logs) and every other member of the error body (e.g. "field" and "limit"
// of a refused manifest, "current" and "limit" of a quota).
//
// An error that arrives inside a stream, after its 200 header, has Status 0.
type Error struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	Fields    map[string]any
	// RetryAfter is the Retry-After header of a 429 or 503, when sent.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Status != 0 {
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteByte(' ')
	}
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	return b.String()
}

// FieldNames returns the names of e.Fields, sorted: for showing a refusal
// field by field.
func (e *Error) FieldNames() []string {
	names := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// IsCode reports whether err is (or wraps) an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// StatusOf returns the HTTP status of the *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// Codes the gateway answers that callers commonly branch on. The server's
// full table is in core/api/codes.go; any code a plugin sends passes through.
const (
	CodeAuthRequired         = "AUTH_REQUIRED"
	CodeInvalidAPIKey        = "INVALID_API_KEY"
	CodeTokenInvalid         = "TOKEN_INVALID"
	CodeCSRFRequired         = "CSRF_REQUIRED"
	CodeAdminRequired        = "ADMIN_REQUIRED"
	CodeInvalidCredentials   = "INVALID_CREDENTIALS"
	CodeValidationError      = "VALIDATION_ERROR"
	CodeNotFound             = "NOT_FOUND"
	CodePaymentRequired      = "PAYMENT_REQUIRED"
	CodeRateLimited          = "RATE_LIMITED"
	CodeUnknownPlugin        = "UNKNOWN_PLUGIN"
	CodePluginUnavailable    = "PLUGIN_UNAVAILABLE"
	CodePluginTimeout        = "PLUGIN_TIMEOUT"
	CodeInvalidManifest      = "INVALID_MANIFEST"
	CodeInvalidModule        = "INVALID_MODULE"
	CodeVersionExists        = "VERSION_EXISTS"
	CodeSkillNameTaken       = "SKILL_NAME_TAKEN"
	CodeSkillNotFound        = "SKILL_NOT_FOUND"
	CodePublishQuotaExceeded = "PUBLISH_QUOTA_EXCEEDED"
	CodeAgentNotFound        = "AGENT_NOT_FOUND"
	CodeAgentNotRunning      = "AGENT_NOT_RUNNING"
	CodeUserExists           = "USER_EXISTS"
)

// readError turns a non-2xx response into an *Error. The gateway's bodies
// are {"error": message, "code", "request_id", …}; the OpenAI-compatible
// surface nests {"error": {"message", "type", "code"}}, payment refusals are
// RFC 9457 problems ({"title", "detail", "type"}); anything else (a proxy's
// HTML page) keeps the status with a short excerpt as the message.
func readError(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var body map[string]any
	if json.Unmarshal(b, &body) != nil || body == nil {
		e.Message = http.StatusText(resp.StatusCode)
		if ex := strings.TrimSpace(string(b)); ex != "" {
			if len(ex) > 200 {
				ex = ex[:200] + "…"
			}
			e.Message += ": " + ex
		}
		return e
	}
	fillError(e, body)
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// fillError takes the message, code and request id out of an error body and
// keeps every other member in Fields.
func fillError(e *Error, body map[string]any) {
	take := func(k string) string {
		s, ok := body[k].(string)
		if ok {
			delete(body, k)
		}
		return s
	}
	switch v := body["error"].(type) {
	case string:
		e.Message = v
		delete(body, "error")
	case map[string]any: // OpenAI's shape
		e.Message, _ = v["message"].(string)
		if code, ok := v["code"].(string); ok {
			e.Code = code
		}
		delete(body, "error")
	}
	if code := take("code"); code != "" {
		e.Code = code
	}
	if rid := take("request_id"); rid != "" {
		e.RequestID = rid
	}
	if e.Message == "" { // RFC 9457
		if d := take("detail"); d != "" {
			e.Message = d
		} else {
			e.Message = take("title")
		}
	}
	if len(body) > 0 {
		e.Fields = body
	}
}
