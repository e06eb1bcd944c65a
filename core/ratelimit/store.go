package ratelimit

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	redisstore "github.com/ulule/limiter/v3/drivers/store/redis"
)

// pingTimeout bounds the reachability check in NewStore.
const pingTimeout = 3 * time.Second

// NewStore returns the counter store: in memory (this node only) when redisURL
// is "", otherwise Redis, shared by every node using the same URL and prefix.
// prefix namespaces the keys ("ratelimit" when empty). The returned func
// releases what NewStore opened.
func NewStore(ctx context.Context, redisURL, prefix string) (limiter.Store, func() error, error) {
	if redisURL == "" {
		store, err := StoreOn(nil, prefix)
		return store, func() error { return nil }, err
	}
	client, err := OpenRedis(ctx, redisURL)
	if err != nil {
		return nil, nil, err
	}
	store, err := StoreOn(client, prefix)
	if err != nil {
		_ = client.Close()
		return nil, nil, err
	}
	return store, client.Close, nil
}

// OpenRedis connects to redisURL and checks that the server answers. Calls on
// the client honour their context's deadline, so a slow Redis is cut short.
func OpenRedis(ctx context.Context, redisURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: bad Redis URL %s: %w", redact(redisURL), err)
	}
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("ratelimit: Redis at %s is unreachable or refused PING (timeout %s): %w", redact(redisURL), pingTimeout, err)
	}
	return client, nil
}

// StoreOn returns the counter store on client (shared by every node using the
// same Redis and prefix), or in memory (this node only) when client is nil.
// The caller owns client.
func StoreOn(client *redis.Client, prefix string) (limiter.Store, error) {
	if prefix == "" {
		prefix = "ratelimit"
	}
	if client == nil {
		return memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: prefix, CleanUpInterval: limiter.DefaultCleanUpInterval}), nil
	}
	store, err := redisstore.NewStoreWithOptions(client, limiter.StoreOptions{Prefix: prefix})
	if err != nil {
		return nil, fmt.Errorf("ratelimit: Redis: %w", err)
	}
	return store, nil
}

// redact hides a password in a Redis URL for error messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
