package payments

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agentbot/gateway/core/store"
)

// Claims makes payment authorizations single-use across gateway nodes.
type Claims interface {
	// Claim reports false when key was already claimed.
	Claim(ctx context.Context, key string, until time.Time) (bool, error)
	// Release forgets a claim whose payment never settled.
	Release(ctx context.Context, key string) error
}

// StoreClaims keeps claims in the database.
type StoreClaims struct{ Store *store.Store }

var (
	_ Claims = StoreClaims{}
	_ Claims = RedisClaims{}
)

// Claim implements Claims.
func (c StoreClaims) Claim(ctx context.Context, key string, until time.Time) (bool, error) {
	return c.Store.ClaimPayment(ctx, key, until)
}

// Release implements Claims.
func (c StoreClaims) Release(ctx context.Context, key string) error {
	return c.Store.ReleasePayment(ctx, key)
}

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
