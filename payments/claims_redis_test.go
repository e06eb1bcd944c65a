package payments_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agentbot/gateway/core/ratelimit/ratelimittest"
	"github.com/agentbot/gateway/payments"
)

// Two nodes on one Redis agree: an authorization is claimed once, whichever
// node sees it, and a released claim can be taken again.
func TestRedisClaimsAcrossNodes(t *testing.T) {
	u := ratelimittest.RedisURL(t)
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	prefix := ratelimittest.KeyPrefix(t)
	nodes := []payments.Claims{}
	for range 2 {
		c := redis.NewClient(opts)
		t.Cleanup(func() { c.Close() })
		nodes = append(nodes, payments.RedisClaims{Client: c, Prefix: prefix})
	}
	ctx := context.Background()
	until := time.Now().Add(time.Minute)
	var won atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := nodes[i%2].Claim(ctx, "evm:84532:0xa:0xb", until)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d of 40 claims across two nodes won; want 1", won.Load())
	}
	if err := nodes[1].Release(ctx, "evm:84532:0xa:0xb"); err != nil {
		t.Fatal(err)
	}
	if ok, err := nodes[0].Claim(ctx, "evm:84532:0xa:0xb", until); !ok || err != nil {
		t.Errorf("claim after release = %v, %v; want true", ok, err)
	}
}
