package ratelimit

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/ratelimit/ratelimittest"
)

func TestNewStoreMemory(t *testing.T) {
	store, closeFn, err := NewStore(context.Background(), "", "")
	if err != nil {
		t.Fatalf("NewStore(%q) = %v; want no error", "", err)
	}
	defer closeFn()
	l := New(store, Rules{Default: mustRate(t, "1-M")})
	h, _ := server(l, nil)
	checkBudget(t, []http.Handler{h}, req{path: "/x", ip: "192.0.2.1"}, 1)
	if err := closeFn(); err != nil {
		t.Errorf("close() = %v; want nil", err)
	}
}

func TestNewStoreErrors(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"http://127.0.0.1:6379", "bad Redis URL"},
		{"redis://:s3cret@127.0.0.1:1/0", "unreachable"},
	}
	for _, tt := range tests {
		_, _, err := NewStore(context.Background(), tt.url, "p")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewStore(%q) = %v; want an error containing %q", tt.url, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("NewStore(%q) = %v; want the password redacted", tt.url, err)
		}
	}
}

func newRedisStore(t *testing.T, url, prefix string) *Limiter {
	t.Helper()
	store, closeFn, err := NewStore(context.Background(), url, prefix)
	if err != nil {
		t.Fatalf("NewStore(%q): %v", url, err)
	}
	t.Cleanup(func() { _ = closeFn() })
	return New(store, Rules{
		Rules: []Rule{
			{Name: "chat", Prefix: "/api/chat", Rate: mustRate(t, "3-M")},
			{Name: "register", Prefix: "/api/register", Rate: mustRate(t, "2-M"), PerIP: true},
		},
		Default: mustRate(t, "4-M"),
	})
}

// TestRedisSharedBudget runs two "nodes", each with its own Redis connection,
// and checks they share one budget.
func TestRedisSharedBudget(t *testing.T) {
	url := ratelimittest.RedisURL(t)
	prefix := ratelimittest.KeyPrefix(t)
	a, _ := server(newRedisStore(t, url, prefix), nil)
	b, _ := server(newRedisStore(t, url, prefix), nil)
	nodes := []http.Handler{a, b}

	checkBudget(t, nodes, req{path: "/api/chat", ip: "192.0.2.1", user: "alice"}, 3)
	checkBudget(t, nodes, req{path: "/api/chat", ip: "192.0.2.1", user: "bob"}, 3)
	checkBudget(t, nodes, req{path: "/api/chat", ip: "192.0.2.1"}, 3)
	checkBudget(t, nodes, req{path: "/other", ip: "192.0.2.1", user: "alice"}, 4)

	// PerIP rule: alice on node a and bob on node b share the IP's budget.
	steps := []struct {
		node int
		req
		want int
	}{
		{0, req{path: "/api/register", ip: "192.0.2.9", user: "alice"}, 204},
		{1, req{path: "/api/register", ip: "192.0.2.9", user: "bob"}, 204},
		{0, req{path: "/api/register", ip: "192.0.2.9"}, 429},
		{1, req{path: "/api/register", ip: "192.0.2.10", user: "bob"}, 204},
	}
	for i, s := range steps {
		if w := do(nodes[s.node], s.req); w.Code != s.want {
			t.Errorf("step %d: node %d %s as %q from %s = %d; want %d", i, s.node, s.path, s.user, s.ip, w.Code, s.want)
		}
	}

	// Another prefix is another budget.
	c, _ := server(newRedisStore(t, url, ratelimittest.KeyPrefix(t)), nil)
	checkBudget(t, []http.Handler{c}, req{path: "/api/chat", ip: "192.0.2.1", user: "alice"}, 3)
}

func TestRedisFailsOpen(t *testing.T) {
	url := ratelimittest.RedisURL(t)
	store, closeFn, err := NewStore(context.Background(), url, ratelimittest.KeyPrefix(t))
	if err != nil {
		t.Fatalf("NewStore(%q): %v", url, err)
	}
	l := New(store, Rules{Default: mustRate(t, "1-M")})
	l.Log = discardLogger()
	h, calls := server(l, nil)
	if err := closeFn(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for i := range 3 {
		if w := do(h, req{path: "/x", ip: "192.0.2.1"}); w.Code != http.StatusNoContent {
			t.Errorf("request %d with Redis closed = %d; want 204", i+1, w.Code)
		}
	}
	if *calls != 3 {
		t.Errorf("handler calls = %d; want 3", *calls)
	}
}

func TestCounterRedis(t *testing.T) {
	url := ratelimittest.RedisURL(t)
	store, closeFn, err := NewStore(context.Background(), url, ratelimittest.KeyPrefix(t))
	if err != nil {
		t.Fatalf("NewStore(%q): %v", url, err)
	}
	defer closeFn()
	testCounter(t, store)
}
