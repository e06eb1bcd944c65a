package api_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/api"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{24}$`)

func TestChainOrder(t *testing.T) {
	var order []string
	mark := func(name string) api.Middleware {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				next.ServeHTTP(w, r)
			})
		}
	}
	h := api.Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { order = append(order, "handler") }),
		mark("first"), mark("second"))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if want := []string{"first", "second", "handler"}; !reflect.DeepEqual(order, want) {
		t.Errorf("Chain order = %v; want %v", order, want)
	}
}

func TestWithRequestID(t *testing.T) {
	tests := []struct {
		name     string
		clientID string
		keep     bool
	}{
		{"sane id kept", "abc-123_XYZ.9", true},
		{"uuid kept", "3f2b8c1e-7a4d-4e1b-9c2a-5d6e7f8a9b0c", true},
		{"128 characters kept", strings.Repeat("a", 128), true},
		{"none", "", false},
		{"129 characters replaced", strings.Repeat("a", 129), false},
		{"control character replaced", "abc\x01def", false},
		{"newline replaced", "abc\ndef", false},
		{"DEL replaced", "abc\x7f", false},
		{"space replaced", "abc def", false},
		{"non-ASCII replaced", "idé", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = api.RequestID(r.Context()) })
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			rec := serveWithID(h, r, tt.clientID)
			got := rec.Header().Get("X-Request-Id")
			if got != seen {
				t.Errorf("WithRequestID(%q): header %q, context %q; want the same id", tt.clientID, got, seen)
			}
			if tt.keep {
				if got != tt.clientID {
					t.Errorf("WithRequestID(%q) = %q; want the client's id", tt.clientID, got)
				}
			} else if !generatedID.MatchString(got) {
				t.Errorf("WithRequestID(%q) = %q; want a generated id of 24 hex characters", tt.clientID, got)
			}
		})
	}
}

func TestWithRequestIDUnique(t *testing.T) {
	seen := map[string]bool{}
	h := api.WithRequestID(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for range 100 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		id := rec.Header().Get("X-Request-Id")
		if seen[id] {
			t.Fatalf("WithRequestID generated %q twice", id)
		}
		seen[id] = true
	}
}

func TestRequestIDWithoutMiddleware(t *testing.T) {
	if got := api.RequestID(httptest.NewRequest(http.MethodGet, "/", nil).Context()); got != "" {
		t.Errorf("RequestID(bare context) = %q; want \"\"", got)
	}
}

func TestSecurityHeaders(t *testing.T) {
	base := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "strict-origin-when-cross-origin",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	}
	handlers := map[string]http.HandlerFunc{
		"success": func(w http.ResponseWriter, r *http.Request) { api.OK(w, map[string]bool{"ok": true}) },
		"error":   func(w http.ResponseWriter, r *http.Request) { api.WriteError(w, "", api.NotFound("nope")) },
		"panic":   func(w http.ResponseWriter, r *http.Request) { panic("boom") },
	}
	for _, hsts := range []bool{false, true} {
		for name, h := range handlers {
			rec := httptest.NewRecorder()
			api.Chain(h, api.SecurityHeaders(hsts), api.Recover(discardLogger())).
				ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			for k, want := range base {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("SecurityHeaders(%v) on %s: %s = %q; want %q", hsts, name, k, got, want)
				}
			}
			got := rec.Header().Get("Strict-Transport-Security")
			if hsts && got != "max-age=63072000; includeSubDomains" {
				t.Errorf("SecurityHeaders(true) on %s: Strict-Transport-Security = %q; want max-age=63072000; includeSubDomains", name, got)
			}
			if !hsts && got != "" {
				t.Errorf("SecurityHeaders(false) on %s: Strict-Transport-Security = %q; want none", name, got)
			}
		}
	}
}

func TestCORS(t *testing.T) {
	tests := []struct {
		name        string
		origins     []string
		method      string
		origin      string
		preflight   bool
		wantStatus  int
		wantACAO    string
		wantCreds   string
		wantMethods bool
		wantHandler bool
	}{
		{name: "allowed origin", origins: []string{"https://app.example.com"}, method: "GET", origin: "https://app.example.com",
			wantStatus: 200, wantACAO: "https://app.example.com", wantCreds: "true", wantHandler: true},
		{name: "second allowed origin", origins: []string{"https://a.example.com", "https://b.example.com"}, method: "POST", origin: "https://b.example.com",
			wantStatus: 200, wantACAO: "https://b.example.com", wantCreds: "true", wantHandler: true},
		{name: "disallowed origin", origins: []string{"https://app.example.com"}, method: "GET", origin: "https://evil.example.com",
			wantStatus: 200, wantHandler: true},
		{name: "origin differing only by scheme", origins: []string{"https://app.example.com"}, method: "GET", origin: "http://app.example.com",
			wantStatus: 200, wantHandler: true},
		{name: "no origin", origins: []string{"https://app.example.com"}, method: "GET",
			wantStatus: 200, wantHandler: true},
		{name: "wildcard", origins: []string{"*"}, method: "GET", origin: "https://anything.example",
			wantStatus: 200, wantACAO: "*", wantHandler: true},
		{name: "no origins configured", method: "GET", origin: "https://app.example.com",
			wantStatus: 200, wantHandler: true},
		{name: "preflight allowed", origins: []string{"https://app.example.com"}, method: "OPTIONS", origin: "https://app.example.com", preflight: true,
			wantStatus: 204, wantACAO: "https://app.example.com", wantCreds: "true", wantMethods: true},
		{name: "preflight wildcard", origins: []string{"*"}, method: "OPTIONS", origin: "https://x.example", preflight: true,
			wantStatus: 204, wantACAO: "*", wantMethods: true},
		{name: "preflight disallowed", origins: []string{"https://app.example.com"}, method: "OPTIONS", origin: "https://evil.example.com", preflight: true,
			wantStatus: 204},
		{name: "plain OPTIONS reaches the handler", origins: []string{"*"}, method: "OPTIONS", origin: "https://x.example",
			wantStatus: 200, wantACAO: "*", wantHandler: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := api.CORS{Origins: tt.origins}.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				w.WriteHeader(http.StatusOK)
			}))
			r := httptest.NewRequest(tt.method, "/api/agents", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.preflight {
				r.Header.Set("Access-Control-Request-Method", "POST")
				r.Header.Set("Access-Control-Request-Headers", "content-type, authorization")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			hd := rec.Header()

			if rec.Code != tt.wantStatus {
				t.Errorf("CORS %s %s from %q: status = %d; want %d", tt.method, tt.origins, tt.origin, rec.Code, tt.wantStatus)
			}
			if called != tt.wantHandler {
				t.Errorf("CORS %s from %q: handler ran = %v; want %v", tt.method, tt.origin, called, tt.wantHandler)
			}
			if got := hd.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Errorf("CORS(%v) from %q: Access-Control-Allow-Origin = %q; want %q", tt.origins, tt.origin, got, tt.wantACAO)
			}
			if got := hd.Get("Access-Control-Allow-Credentials"); got != tt.wantCreds {
				t.Errorf("CORS(%v) from %q: Access-Control-Allow-Credentials = %q; want %q", tt.origins, tt.origin, got, tt.wantCreds)
			}
			if tt.wantACAO != "" {
				if got := hd.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "X-Request-Id") || !strings.Contains(got, "Retry-After") {
					t.Errorf("CORS(%v): Access-Control-Expose-Headers = %q; want X-Request-Id and Retry-After", tt.origins, got)
				}
				if tt.wantACAO != "*" && !strings.Contains(strings.Join(hd.Values("Vary"), ","), "Origin") {
					t.Errorf("CORS(%v): Vary = %q; want Origin", tt.origins, hd.Values("Vary"))
				}
			}
			methods := hd.Get("Access-Control-Allow-Methods")
			if tt.wantMethods {
				for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
					if !strings.Contains(methods, m) {
						t.Errorf("CORS preflight: Access-Control-Allow-Methods = %q; want %s", methods, m)
					}
				}
				allowHeaders := strings.ToLower(hd.Get("Access-Control-Allow-Headers"))
				for _, h := range []string{"content-type", "authorization", "x-csrf-token"} {
					if !strings.Contains(allowHeaders, h) {
						t.Errorf("CORS preflight: Access-Control-Allow-Headers = %q; want %s", allowHeaders, h)
					}
				}
				if hd.Get("Access-Control-Max-Age") == "" {
					t.Errorf("CORS preflight: no Access-Control-Max-Age")
				}
			} else if methods != "" {
				t.Errorf("CORS(%v) %s from %q: Access-Control-Allow-Methods = %q; want none", tt.origins, tt.method, tt.origin, methods)
			}
		})
	}
}

func TestCORSExtraHeaders(t *testing.T) {
	h := api.CORS{Origins: []string{"*"}, Headers: []string{"X-Custom"}}.Middleware(http.NotFoundHandler())
	r := httptest.NewRequest(http.MethodOptions, "/", nil)
	r.Header.Set("Origin", "https://x.example")
	r.Header.Set("Access-Control-Request-Method", "PUT")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if got := rec.Header().Get("Access-Control-Allow-Headers"); !strings.Contains(got, "X-Custom") || !strings.Contains(got, "Content-Type") {
		t.Errorf("CORS{Headers: [X-Custom]} Allow-Headers = %q; want X-Custom and the defaults", got)
	}
}

func TestRecover(t *testing.T) {
	log, logs := newLogger()
	h := api.Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("kaboom")
	}), api.WithRequestID, api.Recover(log))
	r := httptest.NewRequest(http.MethodPost, "/api/explode", nil)
	rec := serveWithID(h, r, "rid-panic")

	if rec.Code != 500 {
		t.Errorf("Recover(panic) status = %d; want 500", rec.Code)
	}
	want := map[string]any{"error": "Internal server error", "code": "INTERNAL", "request_id": "rid-panic"}
	if got := errorBody(t, rec); !reflect.DeepEqual(got, want) {
		t.Errorf("Recover(panic) body = %v; want %v", got, want)
	}
	if got := rec.Header().Get("X-Request-Id"); got != "rid-panic" {
		t.Errorf("Recover(panic) X-Request-Id = %q; want rid-panic", got)
	}
	if strings.Contains(rec.Body.String(), "kaboom") {
		t.Errorf("Recover(panic) body = %s; leaks the panic value", rec.Body.String())
	}
	records := logs.Records(t)
	if len(records) != 1 {
		t.Fatalf("Recover(panic) logged %d records; want 1", len(records))
	}
	l := records[0]
	if l["level"] != "ERROR" || l["panic"] != "kaboom" || l["request_id"] != "rid-panic" || l["path"] != "/api/explode" {
		t.Errorf("Recover(panic) log = %v; want ERROR with panic, request_id and path", l)
	}
	if stack, _ := l["stack"].(string); !strings.Contains(stack, "TestRecover") || !strings.Contains(stack, "goroutine") {
		t.Errorf("Recover(panic) logged stack %q; want a goroutine trace through TestRecover", stack)
	}
}

func TestRecoverAfterWrite(t *testing.T) {
	h := api.Recover(discardLogger())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "partial")
		panic("late")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusAccepted || rec.Body.String() != "partial" {
		t.Errorf("Recover(panic after write) = %d %q; want the handler's 202 \"partial\" untouched", rec.Code, rec.Body.String())
	}
}

func TestRecoverRepanicsAbortHandler(t *testing.T) {
	log, logs := newLogger()
	h := api.Recover(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	rec := httptest.NewRecorder()
	got := func() (v any) {
		defer func() { v = recover() }()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return nil
	}()
	if got != http.ErrAbortHandler {
		t.Errorf("Recover(panic(ErrAbortHandler)) panicked with %v; want http.ErrAbortHandler", got)
	}
	if logs.String() != "" {
		t.Errorf("Recover(panic(ErrAbortHandler)) logged %q; want nothing", logs.String())
	}
	if rec.Body.Len() != 0 {
		t.Errorf("Recover(panic(ErrAbortHandler)) wrote %q; want nothing", rec.Body.String())
	}
}

func TestAccessLog(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus float64
		wantBytes  float64
	}{
		{"explicit status", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, "short")
		}, 418, 5},
		{"implicit 200", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello world") }, 200, 11},
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {}, 200, 0},
		{"error response", func(w http.ResponseWriter, r *http.Request) {
			api.WriteError(w, api.RequestID(r.Context()), api.NotFound("nope"))
		}, 404, -1},
		{"second WriteHeader ignored", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError)
		}, 201, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := newLogger()
			h := api.Chain(tt.handler, api.WithRequestID, api.AccessLog(log))
			r := httptest.NewRequest(http.MethodPut, "/api/teapot?x=1", nil)
			rec := serveWithID(h, r, "rid-log")
			records := logs.Records(t)
			if len(records) != 1 {
				t.Fatalf("AccessLog logged %d records; want 1", len(records))
			}
			l := records[0]
			if l["msg"] != "request" || l["status"] != tt.wantStatus || l["path"] != "/api/teapot" ||
				l["method"] != "PUT" || l["request_id"] != "rid-log" {
				t.Errorf("AccessLog = %v; want status %v, path /api/teapot, method PUT, request_id rid-log", l, tt.wantStatus)
			}
			wantBytes := tt.wantBytes
			if wantBytes < 0 {
				wantBytes = float64(rec.Body.Len())
			}
			if l["bytes"] != wantBytes {
				t.Errorf("AccessLog bytes = %v; want %v", l["bytes"], wantBytes)
			}
			if _, ok := l["duration"]; !ok {
				t.Errorf("AccessLog = %v; want a duration", l)
			}
		})
	}
}

// TestStatusRecorderFlush streams through the recorders of AccessLog and Recover
// and reads the first chunk while the handler is still running.
func TestStatusRecorderFlush(t *testing.T) {
	log, logs := newLogger()
	release := make(chan struct{})
	handlerDone := make(chan struct{})
	flushers := make(chan bool, 1)
	h := api.Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerDone)
		f, ok := w.(http.Flusher)
		flushers <- ok
		if !ok {
			return
		}
		_, _ = io.WriteString(w, "first\n")
		f.Flush()
		<-release
		_, _ = io.WriteString(w, "second\n")
		// http.ResponseController reaches the writer too.
		_ = http.NewResponseController(w).Flush()
	}), api.WithRequestID, api.AccessLog(log), api.Recover(log))
	srv := httptest.NewServer(h)
	defer srv.Close()
	var once bool
	releaseOnce := func() {
		if !once {
			once = true
			close(release)
		}
	}
	defer releaseOnce() // before srv.Close, which waits for the handler

	type result struct {
		resp  *http.Response
		first string
		err   error
	}
	results := make(chan result, 1)
	go func() {
		resp, err := srv.Client().Get(srv.URL + "/stream")
		if err != nil {
			results <- result{err: err}
			return
		}
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		results <- result{resp: resp, first: line, err: err}
	}()

	if ok := <-flushers; !ok {
		t.Fatal("the handler's ResponseWriter is not an http.Flusher")
	}
	var res result
	select {
	case res = <-results:
	case <-handlerDone:
		t.Fatal("the handler finished before the first chunk was read")
	case <-time.After(10 * time.Second): // failsafe only; the test is ordered by channels
		t.Fatal("the first chunk never arrived: Flush does not reach the client")
	}
	if res.err != nil {
		t.Fatalf("reading the first chunk: %v", res.err)
	}
	defer res.resp.Body.Close()
	if res.first != "first\n" {
		t.Errorf("first chunk = %q; want %q", res.first, "first\n")
	}
	select {
	case <-handlerDone:
		t.Fatal("the handler finished before it was released")
	default:
	}

	releaseOnce()
	rest, err := io.ReadAll(res.resp.Body)
	if err != nil || string(rest) != "second\n" {
		t.Errorf("rest of the stream = %q, %v; want %q", rest, err, "second\n")
	}
	<-handlerDone
	if res.resp.StatusCode != 200 || res.resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("stream response = %d, X-Request-Id %q; want 200 with a request id", res.resp.StatusCode, res.resp.Header.Get("X-Request-Id"))
	}
	srv.Close() // waits for the handler and its access log line
	records := logs.Records(t)
	if len(records) != 1 || records[0]["status"] != 200.0 || records[0]["bytes"] != float64(len("first\nsecond\n")) {
		t.Errorf("AccessLog of the stream = %v; want one record with status 200 and 13 bytes", records)
	}
}

func TestStatusRecorderUnwrap(t *testing.T) {
	inner := httptest.NewRecorder()
	rec := &api.StatusRecorder{ResponseWriter: inner}
	if rec.Unwrap() != inner {
		t.Errorf("StatusRecorder.Unwrap() = %v; want the wrapped writer", rec.Unwrap())
	}
	rec.Flush()
	if rec.Status != 200 || !inner.Flushed {
		t.Errorf("StatusRecorder.Flush() status %d, flushed %v; want 200, true", rec.Status, inner.Flushed)
	}
	if _, _, err := rec.Hijack(); err == nil {
		t.Errorf("StatusRecorder.Hijack() on a non-hijacker = nil error; want an error")
	}
}
