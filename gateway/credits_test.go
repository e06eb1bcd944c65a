package gateway_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/sdk/provider"
)

// 1,000 concurrent priced calls against credits that cover 500: exactly 500
// succeed, the rest get 402, and the balance ends at exactly 0 — on both stores.
func TestCreditsCoverExactlyWhatTheyCan(t *testing.T) {
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := newFakeDispatcher()
			d.targets["priced"] = gateway.Target{ID: "priced"}
			d.targets["broken"] = gateway.Target{ID: "broken"}
			d.set("priced", behavior{output: json.RawMessage(`{"ok":true}`)})
			d.set("broken", behavior{perr: provider.Errorf(502, "UPSTREAM_ERROR", "down")})
			se, _, _ := serveGateway(t, backend, map[string]string{"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/v1/gateway=100000-M"}, nil,
				func(srv *server.Server) *gateway.Gateway {
					return &gateway.Gateway{Store: srv.Store, Dispatchers: []gateway.Dispatcher{d}, Payer: payments.Credits{Store: srv.Store},
						Prices: map[string]int64{"priced": 10_000, "broken": 10_000}, Log: srv.Log}
				})
			c := se.Client(t)
			uid, csrf := c.SignUp("credits@example.com", "password-credits")
			key := c.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", csrf).Str("key")
			ctx := context.Background()

			// No credits, no plan: 402. A failing call is refunded.
			kc := se.Client(t)
			kc.Header.Set("Authorization", "Bearer "+key)
			kc.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced").Expect(t, 402, "PAYMENT_REQUIRED")
			if err := se.Store.AddCredits(ctx, uid, 500*10_000, "purchase", "pack"); err != nil {
				t.Fatal(err)
			}
			kc.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "broken").Expect(t, 502, "UPSTREAM_ERROR")
			if bal, _ := se.Store.Credits(ctx, uid); bal != 500*10_000 {
				t.Fatalf("balance after a failed call = %d; want it refunded", bal)
			}

			statuses := make(chan int, 1000)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 64) // concurrent, within the client's sockets
			for range 1000 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					statuses <- kc.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced").Status
				}()
			}
			wg.Wait()
			close(statuses)
			count := map[int]int{}
			for s := range statuses {
				count[s]++
			}
			bal, err := se.Store.Credits(ctx, uid)
			if count[200] != 500 || count[402] != 500 || bal != 0 || err != nil {
				t.Errorf("statuses %v, balance %d (%v); want 500×200, 500×402 and exactly 0", count, bal, err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				events, _ := se.Store.Usage(ctx, uid, time.Time{})
				charged := 0
				for _, e := range events {
					if e.PriceMicroUSD > 0 {
						charged++
					}
				}
				if charged == 500 || time.Now().After(deadline) {
					if charged != 500 {
						t.Errorf("usage shows %d charged calls; want 500", charged)
					}
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
