package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisClaims keeps payment claims in Redis (REDIS_URL), shared by every
// gateway node on it: SET NX with the authorization's expiry.
type RedisClaims struct {
	Client *redis.Client
	Prefix string // e.g. "agentbot:paid:"
}

// Claim implements Claims.
func (c RedisClaims) Claim(ctx context.Context, key string, until time.Time) (bool, error) {
	if !until.After(time.Now()) {
		until = time.Now().Add(time.Minute)
	}
	err := c.Client.SetArgs(ctx, c.Prefix+key, 1, redis.SetArgs{Mode: "NX", ExpireAt: until}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}

// Release implements Claims.
func (c RedisClaims) Release(ctx context.Context, key string) error {
	return c.Client.Del(ctx, c.Prefix+key).Err()
}
