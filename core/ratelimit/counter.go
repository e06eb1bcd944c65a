package ratelimit

import (
	"context"
	"time"

	"github.com/ulule/limiter/v3"
)

// counterPrefix keeps Counter keys apart from the Limiter's "<rule>:..." keys
// when both share a store.
const counterPrefix = "counter:"

// Counter counts events (failed sign-ins) per key in fixed windows of
// rate.Period; a key is blocked once rate.Limit events were counted in its
// current window. Unlike the Limiter, checking does not count: callers ask
// Blocked before the attempt and call Fail only when it fails.
type Counter struct {
	store limiter.Store
	rate  limiter.Rate
}

// NewCounter returns a Counter keeping its counts in store.
func NewCounter(store limiter.Store, rate limiter.Rate) *Counter {
	return &Counter{store: store, rate: rate}
}

// Blocked reports whether key has reached the limit in its current window and,
// if so, how long until the window resets (to the second, at least 1 s). It does
// not count anything.
func (c *Counter) Blocked(ctx context.Context, key string) (blocked bool, retryAfter time.Duration, err error) {
	lctx, err := c.store.Peek(ctx, counterPrefix+key, c.rate)
	if err != nil {
		return false, 0, err
	}
	if lctx.Remaining > 0 {
		return false, 0, nil
	}
	secs := max(secondsUntil(lctx.Reset, time.Now()), 1)
	return true, time.Duration(secs) * time.Second, nil
}

// Fail counts one failure for key; the first failure starts the window.
func (c *Counter) Fail(ctx context.Context, key string) error {
	_, err := c.store.Increment(ctx, counterPrefix+key, 1, c.rate)
	return err
}

// Reset forgets key's failures (e.g. after a successful sign-in).
func (c *Counter) Reset(ctx context.Context, key string) error {
	_, err := c.store.Reset(ctx, counterPrefix+key, c.rate)
	return err
}
