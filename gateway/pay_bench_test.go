package gateway_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/gateway"
)

// BenchmarkPaymentStep measures what the payment step adds per call: the
// subscription check alone (baseline), a credits reservation plus its
// settlement on each store, and verifying an MPP challenge binding.
func BenchmarkPaymentStep(b *testing.B) {
	ctx := context.Background()
	req := httptest.NewRequest("POST", "/api/v1/gateway", nil)
	for _, backend := range servertest.Backends {
		se := servertest.New(b, backend, nil)
		u, err := se.Store.CreateUser(ctx, store.NewUser{Email: "pay@example.com", Name: "p", PasswordHash: "h"})
		if err != nil {
			b.Fatal(err)
		}
		if err := se.Store.AddCredits(ctx, u.ID, 1<<60, "purchase", "bench"); err != nil {
			b.Fatal(err)
		}
		call := &gateway.Call{ID: "generate-text", PriceMicroUSD: 10_000, Principal: &auth.Principal{UserID: u.ID}, User: u}
		if backend == servertest.Backends[0] {
			sub := *u
			sub.SubscriptionStatus = "active"
			subCall := *call
			subCall.User = &sub
			b.Run("baseline", func(b *testing.B) {
				p := gateway.SubscriptionPayer{}
				for b.Loop() {
					pay, err := p.Authorize(ctx, req, &subCall)
					if err != nil {
						b.Fatal(err)
					}
					p.Settle(ctx, pay, gateway.Outcome{OK: true, CostMicroUSD: 10_000})
				}
			})
			is := mpp.Issuer{Secret: []byte("0123456789abcdef0123456789abcdef"), Realm: "bench", TTL: time.Hour}
			ch, err := is.Issue("evm", "charge", map[string]any{"amount": "10000", "chainId": 84532,
				"currency": "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "recipient": "0x742d35Cc6634C0532925a3b844Bc454e4438f44e"}, "")
			if err != nil {
				b.Fatal(err)
			}
			b.Run("mpp-verify-binding", func(b *testing.B) {
				for b.Loop() {
					if !is.Verify(ch) {
						b.Fatal("verify failed")
					}
				}
			})
		}
		b.Run("credits-reserve-settle-"+backend, func(b *testing.B) {
			p := gateway.CreditsPayer{Store: se.Store}
			for b.Loop() {
				pay, err := p.Authorize(ctx, req, call)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Settle(ctx, pay, gateway.Outcome{OK: true, CostMicroUSD: 10_000}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
