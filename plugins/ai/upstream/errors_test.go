package upstream

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		header map[string]string
		want   time.Duration
	}{
		{nil, 0},
		{map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{map[string]string{"Retry-After": " 1.5 "}, 1500 * time.Millisecond},
		{map[string]string{"Retry-After": "0"}, 0},
		{map[string]string{"Retry-After": "-3"}, 0},
		{map[string]string{"Retry-After": "soon"}, 0},
		{map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{map[string]string{"Retry-After": "99999999999999"}, maxRetryAfter},
		{map[string]string{"Retry-After-Ms": "250", "Retry-After": "1"}, 250 * time.Millisecond},
		{map[string]string{"Retry-After-Ms": "junk", "Retry-After": "2"}, 2 * time.Second},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v; want %v", tt.header, got, tt.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   string
	}{
		{401, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`, "Incorrect API key provided"},
		{529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "Overloaded"},
		{400, `[{"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT"}}]`, "API key not valid"},
		{500, `{"error":"model crashed"}`, "model crashed"},
		{404, `{"message":"no such model"}`, "no such model"},
		{422, `{"detail":"bad field"}`, "bad field"},
		{429, `{"error":{"type":"rate_limit_error"}}`, "rate_limit_error"},
		{502, `upstream connect error`, "upstream connect error"},
		{502, `<html><body>Bad gateway</body></html>`, "Bad Gateway"},
		{500, `{"unexpected":true}`, "Internal Server Error"},
		{599, ``, "HTTP 599"},
	}
	for _, tt := range tests {
		if got := errorMessage(tt.status, []byte(tt.body)); got != tt.want {
			t.Errorf("errorMessage(%d, %q) = %q; want %q", tt.status, tt.body, got, tt.want)
		}
	}
}

func TestCleanMessage(t *testing.T) {
	const key = "sk-secret-123456"
	long := strings.Repeat("é", 400)
	tests := []struct {
		msg, key, want string
	}{
		{"Incorrect API key provided: sk-secret-123456.", key, "Incorrect API key provided: [redacted]."},
		{"line one\n  line two", key, "line one line two"},
		{"", key, "unknown error"},
		{"abc abc", "abc", "abc abc"}, // too short to be a secret
		{long, key, strings.Repeat("é", maxMessage-1) + "…"},
		// The key straddles the truncation point: redaction comes first, so no prefix of it survives.
		{strings.Repeat("x", 285) + " " + key, key, strings.Repeat("x", 285) + " [redacted]"},
	}
	for _, tt := range tests {
		got := cleanMessage(tt.msg, tt.key)
		if got != tt.want || utf8.RuneCountInString(got) > maxMessage {
			t.Errorf("cleanMessage(%.40q, %q) = %.60q; want %.60q", tt.msg, tt.key, got, tt.want)
		}
	}
}

// Network failures name the host and the kind of failure, never the
// platform's resolver or socket addresses.
func TestNetworkMessage(t *testing.T) {
	dns := &url.Error{Op: "Post", URL: "https://api.openai.com/v1/chat/completions",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.openai.com", Server: "10.255.255.53:53"}}}
	refused := &url.Error{Op: "Post", URL: "http://127.0.0.1:9/v1",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{dns, "could not reach api.openai.com (host not found)"},
		{refused, "could not reach 127.0.0.1:9 (connection refused)"},
		{&net.OpError{Op: "read", Net: "tcp", Err: errors.New("boom")}, "could not reach the provider (network error)"},
	} {
		if got := networkMessage(tc.err); got != tc.want {
			t.Errorf("networkMessage(%v) = %q; want %q", tc.err, got, tc.want)
		}
	}
}
