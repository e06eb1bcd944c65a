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
	if prefix == "" {
		prefix = "ratelimit"
	}
	if redisURL == "" {
		store := memory.NewStoreWithOptions(limiter.StoreOptions{
			Prefix:          prefix,
			CleanUpInterval: limiter.DefaultCleanUpInterval,
		})
		return store, func() error { return nil }, nil
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("ratelimit: bad Redis URL %s: %w", redact(redisURL), err)
	}
	// Let the middleware's per-call deadline cut a slow Redis short.
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("ratelimit: Redis at %s is unreachable or refused PING (timeout %s): %w", redact(redisURL), pingTimeout, err)
	}
	store, err := redisstore.NewStoreWithOptions(client, limiter.StoreOptions{Prefix: prefix})
	if err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("ratelimit: Redis at %s: %w", redact(redisURL), err)
	}
	return store, client.Close, nil
}

// redact hides a password in a Redis URL for error messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
