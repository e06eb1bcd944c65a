package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

func TestCounterMemory(t *testing.T) {
	testCounter(t, memory.NewStore())
}

// testCounter checks Counter semantics against store with 5 attempts per 15 min.
func testCounter(t *testing.T, store limiter.Store) {
	ctx := context.Background()
	window := 15 * time.Minute
	c := NewCounter(store, limiter.Rate{Period: window, Limit: 5})
	reserve := func(key string, want bool) {
		t.Helper()
		got, retry, err := c.Reserve(ctx, key)
		if err != nil {
			t.Fatalf("Reserve(%q): %v", key, err)
		}
		if got != want {
			t.Fatalf("Reserve(%q) = %v; want %v", key, got, want)
		}
		if !want && (retry < time.Second || retry > window) {
			t.Errorf("Reserve(%q) retryAfter = %v; want 1s..%v", key, retry, window)
		}
		if want && retry != 0 {
			t.Errorf("Reserve(%q) retryAfter = %v; want 0 when allowed", key, retry)
		}
	}
	forgive := func(key string) {
		t.Helper()
		if err := c.Forgive(ctx, key); err != nil {
			t.Fatalf("Forgive(%q): %v", key, err)
		}
	}

	// Forgiven attempts (successes) never add up.
	for range 20 {
		reserve("a@example.com", true)
		forgive("a@example.com")
	}
	for range 5 { // five failures
		reserve("a@example.com", true)
	}
	reserve("a@example.com", false)
	reserve("a@example.com", false) // refused attempts are not counted, and stay refused
	reserve("b@example.com", true)  // keys are independent

	if err := c.Reset(ctx, "a@example.com"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	reserve("a@example.com", true)

	// 40 concurrent attempts on a fresh key: exactly 5 are let through.
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, err := c.Reserve(ctx, "race@example.com")
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n != 5 {
		t.Errorf("40 concurrent Reserve = %d allowed; want 5", n)
	}
}
