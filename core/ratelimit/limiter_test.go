package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strconv"
	"testing"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/agentbot/gateway/core/api"
)

// testUser reads the caller's id from a test header.
func testUser(r *http.Request) string { return r.Header.Get("X-Test-User") }

// server wraps l's middleware (behind api.WithRequestID) around a handler that
// counts its calls.
func server(l *Limiter, clientIP func(*http.Request) string) (http.Handler, *int) {
	calls := new(int)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*calls++
		w.WriteHeader(http.StatusNoContent)
	})
	// What the route table does once per route, done here per request.
	perRoute := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			l.Wrap(l.Match(r.URL.Path), testUser, clientIP)(next).ServeHTTP(w, r)
		})
	}
	return api.Chain(h, api.WithRequestID, perRoute), calls
}

type req struct {
	method, path, ip, user string
	xff                    string
}

func do(h http.Handler, q req) *httptest.ResponseRecorder {
	if q.method == "" {
		q.method = http.MethodGet
	}
	r := httptest.NewRequest(q.method, q.path, nil)
	r.RemoteAddr = q.ip + ":40000"
	if q.user != "" {
		r.Header.Set("X-Test-User", q.user)
	}
	if q.xff != "" {
		r.Header.Set("X-Forwarded-For", q.xff)
	}
	r.Header.Set("X-Request-Id", "rid-"+q.path)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func headerInt(t *testing.T, w *httptest.ResponseRecorder, name string) int64 {
	t.Helper()
	v := w.Header().Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("header %s = %q; want an integer", name, v)
	}
	return n
}

// checkBudget sends n+1 requests as q and checks the n successes count down
// and the last one is refused with the contract's 429.
func checkBudget(t *testing.T, nodes []http.Handler, q req, n int64) {
	t.Helper()
	for i := int64(0); i <= n; i++ {
		h := nodes[int(i)%len(nodes)]
		w := do(h, q)
		wantStatus, wantRemaining := http.StatusNoContent, n-1-i
		if i == n {
			wantStatus, wantRemaining = http.StatusTooManyRequests, 0
		}
		if w.Code != wantStatus {
			t.Fatalf("request %d to %s: status = %d; want %d", i+1, q.path, w.Code, wantStatus)
		}
		if got := headerInt(t, w, "RateLimit-Limit"); got != n {
			t.Errorf("request %d: RateLimit-Limit = %d; want %d", i+1, got, n)
		}
		if got := headerInt(t, w, "RateLimit-Remaining"); got != wantRemaining {
			t.Errorf("request %d: RateLimit-Remaining = %d; want %d", i+1, got, wantRemaining)
		}
		if got := headerInt(t, w, "RateLimit-Reset"); got < 0 || got > 60 {
			t.Errorf("request %d: RateLimit-Reset = %d; want 0..60", i+1, got)
		}
		if wantStatus != http.StatusTooManyRequests {
			if got := w.Header().Get("Retry-After"); got != "" {
				t.Errorf("request %d: Retry-After = %q; want none", i+1, got)
			}
			continue
		}
		if got := headerInt(t, w, "Retry-After"); got < 1 || got > 60 {
			t.Errorf("429: Retry-After = %d; want 1..60", got)
		}
		if got := w.Header().Values("Retry-After"); len(got) != 1 {
			t.Errorf("429: Retry-After values = %q; want exactly one", got)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("429: Content-Type = %q; want application/json; charset=utf-8", ct)
		}
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("429 body %q: %v", w.Body, err)
		}
		want := map[string]any{"error": "Too many requests", "code": "RATE_LIMITED", "request_id": "rid-" + q.path}
		if !reflect.DeepEqual(body, want) {
			t.Errorf("429 body = %v; want %v", body, want)
		}
	}
}

func TestMiddlewareHeadersAnd429(t *testing.T) {
	l := New(memory.NewStore(), Rules{
		Rules:   []Rule{{Name: "chat", Prefix: "/api/chat", Rate: mustRate(t, "3-M")}},
		Default: mustRate(t, "5-M"),
	})
	h, calls := server(l, nil)
	checkBudget(t, []http.Handler{h}, req{path: "/api/chat", ip: "192.0.2.1"}, 3)
	if *calls != 3 {
		t.Errorf("handler calls = %d; want 3 (the 429 must not reach it)", *calls)
	}
	// Other rules and the default have their own budgets.
	checkBudget(t, []http.Handler{h}, req{path: "/other", ip: "192.0.2.1"}, 5)
	// The error does not leak into api.ErrRateLimited.
	if api.ErrRateLimited.Header != nil {
		t.Errorf("api.ErrRateLimited.Header = %v; want nil (copy it)", api.ErrRateLimited.Header)
	}
}

func TestMiddlewareKeying(t *testing.T) {
	l := New(memory.NewStore(), Rules{
		Rules: []Rule{
			{Name: "chat", Prefix: "/api/chat", Rate: mustRate(t, "2-M")},
			{Name: "register", Prefix: "/api/register", Rate: mustRate(t, "2-M"), PerIP: true},
		},
		Default: mustRate(t, "100-M"),
	})
	h, _ := server(l, nil)
	steps := []struct {
		req
		want int
	}{
		{req{path: "/api/chat", ip: "192.0.2.1", user: "alice"}, 204},
		{req{path: "/api/chat", ip: "192.0.2.1", user: "alice"}, 204},
		{req{path: "/api/chat", ip: "192.0.2.1", user: "alice"}, 429},
		{req{path: "/api/chat/sub", ip: "192.0.2.2", user: "alice"}, 429}, // same user, same rule, other IP
		{req{path: "/api/chat", ip: "192.0.2.1", user: "bob"}, 204},       // same IP, other user
		{req{path: "/api/chat", ip: "192.0.2.1"}, 204},                    // anonymous: keyed by IP
		{req{path: "/api/chat", ip: "192.0.2.1"}, 204},
		{req{path: "/api/chat", ip: "192.0.2.1"}, 429},
		{req{path: "/api/chat", ip: "192.0.2.1", user: "bob"}, 204}, // bob unaffected by anonymous IP use
		{req{path: "/api/chatx", ip: "192.0.2.1", user: "alice"}, 204},
		{req{path: "/api/chat", ip: "192.0.2.1", user: "192.0.2.1"}, 204}, // a user id that looks like an IP is not the IP key
		{req{path: "/api/register", ip: "192.0.2.1", user: "alice"}, 204},
		{req{path: "/api/register", ip: "192.0.2.1", user: "bob"}, 204},
		{req{path: "/api/register", ip: "192.0.2.1"}, 429}, // PerIP: one budget for the IP
		{req{path: "/api/register", ip: "192.0.2.1", user: "carol"}, 429},
		{req{path: "/api/register", ip: "192.0.2.2", user: "alice"}, 204},
		{req{method: http.MethodOptions, path: "/api/register", ip: "192.0.2.2"}, 204}, // preflight not counted
		{req{method: http.MethodOptions, path: "/api/register", ip: "192.0.2.2"}, 204},
		{req{path: "/api/register", ip: "192.0.2.2"}, 204},
		{req{path: "/api/register", ip: "192.0.2.2"}, 429},
	}
	for i, s := range steps {
		w := do(h, s.req)
		if w.Code != s.want {
			t.Errorf("step %d: %s %s as %q from %s = %d; want %d", i, s.method, s.path, s.user, s.ip, w.Code, s.want)
		}
	}
}

func TestMiddlewareOptionsHaveNoHeaders(t *testing.T) {
	l := New(memory.NewStore(), Rules{Default: mustRate(t, "1-M")})
	h, calls := server(l, nil)
	for range 3 {
		w := do(h, req{method: http.MethodOptions, path: "/x", ip: "192.0.2.1"})
		if w.Code != http.StatusNoContent || w.Header().Get("RateLimit-Limit") != "" {
			t.Errorf("OPTIONS = %d, RateLimit-Limit %q; want 204 and no header", w.Code, w.Header().Get("RateLimit-Limit"))
		}
	}
	if *calls != 3 {
		t.Errorf("handler calls = %d; want 3", *calls)
	}
}

func TestMiddlewareForwardedFor(t *testing.T) {
	cip := ClientIP{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	l := New(memory.NewStore(), Rules{Default: mustRate(t, "2-M")})
	h, _ := server(l, cip.Of)
	steps := []struct {
		req
		want int
	}{
		// An untrusted client rotating X-Forwarded-For still has one budget.
		{req{path: "/x", ip: "203.0.113.9", xff: "1.1.1.1"}, 204},
		{req{path: "/x", ip: "203.0.113.9", xff: "1.1.1.2"}, 204},
		{req{path: "/x", ip: "203.0.113.9", xff: "1.1.1.3"}, 429},
		{req{path: "/x", ip: "203.0.113.9", xff: "10.0.0.7"}, 429},
		// Through the trusted proxy, clients are told apart by X-Forwarded-For.
		{req{path: "/x", ip: "10.0.0.1", xff: "198.51.100.1"}, 204},
		{req{path: "/x", ip: "10.0.0.1", xff: "198.51.100.1"}, 204},
		{req{path: "/x", ip: "10.0.0.1", xff: "198.51.100.1"}, 429},
		{req{path: "/x", ip: "10.0.0.1", xff: "198.51.100.2"}, 204},
		// A client prepending fake hops is still keyed by the hop the proxy saw.
		{req{path: "/x", ip: "10.0.0.1", xff: "5.5.5.5, 198.51.100.1"}, 429},
		{req{path: "/x", ip: "10.0.0.1", xff: "198.51.100.99, 198.51.100.1"}, 429},
	}
	for i, s := range steps {
		w := do(h, s.req)
		if w.Code != s.want {
			t.Errorf("step %d: GET from %s with XFF %q = %d; want %d", i, s.ip, s.xff, w.Code, s.want)
		}
	}
}

type failingStore struct{ limiter.Store }

var errStoreDown = errors.New("store down")

func (failingStore) Get(context.Context, string, limiter.Rate) (limiter.Context, error) {
	return limiter.Context{}, errStoreDown
}

func TestMiddlewareFailsOpen(t *testing.T) {
	var logs bytes.Buffer
	l := New(failingStore{}, Rules{Default: mustRate(t, "1-M")})
	l.Log = slog.New(slog.NewTextHandler(&logs, nil))
	h, calls := server(l, nil)
	for i := range 3 {
		w := do(h, req{path: "/x", ip: "192.0.2.1"})
		if w.Code != http.StatusNoContent {
			t.Errorf("request %d with a failing store = %d; want 204", i+1, w.Code)
		}
		if got := w.Header().Get("RateLimit-Limit"); got != "" {
			t.Errorf("request %d: RateLimit-Limit = %q; want none", i+1, got)
		}
	}
	if *calls != 3 {
		t.Errorf("handler calls = %d; want 3", *calls)
	}
	if !bytes.Contains(logs.Bytes(), []byte("store down")) {
		t.Errorf("log = %q; want the store error", logs.String())
	}
	if n := bytes.Count(logs.Bytes(), []byte("\n")); n != 1 {
		t.Errorf("log lines = %d; want 1 (errors are throttled)", n)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
