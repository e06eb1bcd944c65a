package ratelimit

import (
	"context"
	"time"

	"github.com/ulule/limiter/v3"
)

// counterPrefix keeps Counter keys apart from the Limiter's "<rule>:..." keys
// when both share a store.
const counterPrefix = "counter:"

// Counter bounds attempts (sign-ins) per key in fixed windows of rate.Period:
// at most rate.Limit attempts that were not forgiven per window. An attempt is
// counted before it is made (Reserve, one atomic increment in the store), so
// concurrent attempts cannot all slip past a check made before any of them was
// counted; a successful attempt is then forgiven (Forgive). The result: only
// failures accumulate, and no more than rate.Limit attempts are ever in flight
// or failed for a key in one window, on one node or many sharing Redis.
type Counter struct {
	store limiter.Store
	rate  limiter.Rate
}

// NewCounter returns a Counter keeping its counts in store.
func NewCounter(store limiter.Store, rate limiter.Rate) *Counter {
	return &Counter{store: store, rate: rate}
}

// Reserve counts one attempt for key. ok is false when the key had already
// used its attempts in the current window; then nothing is counted (the
// reservation is taken back) and retryAfter tells how long until the window
// resets (to the second, at least 1 s).
func (c *Counter) Reserve(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error) {
	lctx, err := c.store.Increment(ctx, counterPrefix+key, 1, c.rate)
	if err != nil {
		return false, 0, err
	}
	if !lctx.Reached {
		return true, 0, nil
	}
	if err := c.Forgive(ctx, key); err != nil {
		return false, 0, err
	}
	secs := max(secondsUntil(lctx.Reset, time.Now()), 1)
	return false, time.Duration(secs) * time.Second, nil
}

// Forgive takes back one reservation of key (the attempt succeeded, or was
// not made).
func (c *Counter) Forgive(ctx context.Context, key string) error {
	_, err := c.store.Increment(ctx, counterPrefix+key, -1, c.rate)
	return err
}

// Reset forgets all of key's attempts.
func (c *Counter) Reset(ctx context.Context, key string) error {
	_, err := c.store.Reset(ctx, counterPrefix+key, c.rate)
	return err
}
