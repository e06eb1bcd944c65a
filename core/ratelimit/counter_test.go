package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

func TestCounterMemory(t *testing.T) {
	testCounter(t, memory.NewStore())
}

// testCounter checks Counter semantics against store with 5 failures per 15 min.
func testCounter(t *testing.T, store limiter.Store) {
	ctx := context.Background()
	window := 15 * time.Minute
	c := NewCounter(store, limiter.Rate{Period: window, Limit: 5})
	blocked := func(key string, want bool) {
		t.Helper()
		got, retry, err := c.Blocked(ctx, key)
		if err != nil {
			t.Fatalf("Blocked(%q): %v", key, err)
		}
		if got != want {
			t.Fatalf("Blocked(%q) = %v; want %v", key, got, want)
		}
		if want && (retry < time.Second || retry > window) {
			t.Errorf("Blocked(%q) retryAfter = %v; want 1s..%v", key, retry, window)
		}
		if !want && retry != 0 {
			t.Errorf("Blocked(%q) retryAfter = %v; want 0 when not blocked", key, retry)
		}
	}
	fail := func(key string) {
		t.Helper()
		if err := c.Fail(ctx, key); err != nil {
			t.Fatalf("Fail(%q): %v", key, err)
		}
	}

	blocked("a@example.com", false)
	for range 4 {
		fail("a@example.com")
		blocked("a@example.com", false)
		blocked("a@example.com", false) // peeking does not count
	}
	fail("a@example.com")
	blocked("a@example.com", true)
	blocked("a@example.com", true)
	blocked("b@example.com", false) // keys are independent
	fail("a@example.com")           // failing past the limit stays blocked
	blocked("a@example.com", true)

	if err := c.Reset(ctx, "a@example.com"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	blocked("a@example.com", false)
	fail("a@example.com")
	blocked("a@example.com", false)
}
