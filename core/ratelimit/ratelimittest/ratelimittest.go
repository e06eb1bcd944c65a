// Package ratelimittest holds test helpers for code that needs a real Redis.
package ratelimittest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvRedisURL names the variable holding the test Redis URL.
const EnvRedisURL = "AGENTBOT_TEST_REDIS_URL"

// DefaultRedisURL is used when EnvRedisURL is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// RedisURL returns the URL of a reachable test Redis (EnvRedisURL, or
// DefaultRedisURL). When Redis cannot be reached the test is skipped, except
// under CI=true, where it fails: CI must exercise the Redis paths.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvRedisURL)
	if u == "" {
		u = DefaultRedisURL
	}
	err := pingOnce(u)
	if err == nil {
		return u
	}
	shown := u
	if pu, perr := url.Parse(u); perr == nil {
		shown = pu.Redacted()
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("test Redis at %s is unreachable (CI=true, so this fails instead of skipping; set %s): %v", shown, EnvRedisURL, err)
	}
	t.Skipf("test Redis at %s is unreachable, skipping (set %s): %v", shown, EnvRedisURL, err)
	return ""
}

var (
	mu     sync.Mutex
	pinged = map[string]error{}
)

// pingOnce pings each URL once per test binary, so that an absent Redis costs
// one dial timeout rather than one per test.
func pingOnce(u string) error {
	mu.Lock()
	defer mu.Unlock()
	err, ok := pinged[u]
	if !ok {
		err = ping(u)
		pinged[u] = err
	}
	return err
}

func ping(u string) error {
	opts, err := redis.ParseURL(u)
	if err != nil {
		return err
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// KeyPrefix returns a random key prefix, so that concurrent or repeated test
// runs sharing one Redis do not see each other's keys.
func KeyPrefix(t testing.TB) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:])
}
