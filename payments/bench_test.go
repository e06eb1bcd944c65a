package payments_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/mpp/mpptest"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/payments"
)

// BenchmarkPaymentStep measures what the payment step adds per call: the
// subscription check alone (baseline), a credits reservation plus its
// settlement on each store, and verifying an MPP challenge binding.
func BenchmarkPaymentStep(b *testing.B) {
	ctx := context.Background()
	for _, backend := range servertest.Backends {
		se := servertest.New(b, backend, nil)
		u, err := se.Store.CreateUser(ctx, store.NewUser{Email: "pay@example.com", Name: "p", PasswordHash: "h"})
		if err != nil {
			b.Fatal(err)
		}
		if err := se.Store.AddCredits(ctx, u.ID, 1<<60, "purchase", "bench"); err != nil {
			b.Fatal(err)
		}
		call := &payments.Request{Target: "generate-text", PriceMicroUSD: 10_000, Principal: &auth.Principal{UserID: u.ID}, User: u,
			Path: "/api/v1/gateway"}
		if backend == servertest.Backends[0] {
			sub := *u
			sub.SubscriptionStatus = "active"
			subCall := *call
			subCall.User = &sub
			b.Run("baseline", func(b *testing.B) {
				p := payments.Subscription{}
				for b.Loop() {
					d, err := p.Authorize(ctx, &subCall)
					if _, ok := d.(*payments.Covered); !ok || err != nil {
						b.Fatal(d, err)
					}
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
		if backend == servertest.Backends[0] {
			b.Run("mpp-evm-verify", func(b *testing.B) { benchMPPVerify(b, se) })
		}
		b.Run("machine-claim-record-"+backend, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				key := fmt.Sprintf("evm:84532:0xbench:%d", i)
				if ok, err := se.Store.ClaimPayment(ctx, key, time.Now().Add(time.Hour)); !ok || err != nil {
					b.Fatal(ok, err)
				}
				if err := se.Store.RecordPayment(ctx, &store.MachinePayment{Protocol: "mpp", Method: "evm", Payer: "0xbench",
					Network: "eip155:84532", Asset: "0xusdc", Amount: "10000", AmountMicroUSD: 10_000, Target: "generate-text",
					ChallengeID: "c", ClaimKey: key, Reference: "0xref", Receipt: "r"}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("credits-reserve-settle-"+backend, func(b *testing.B) {
			p := payments.Credits{Store: se.Store}
			for b.Loop() {
				d, err := p.Authorize(ctx, call)
				c, ok := d.(*payments.Charged)
				if !ok || err != nil {
					b.Fatal(d, err)
				}
				if _, err := p.Settle(ctx, c, payments.Outcome{OK: true, CostMicroUSD: 10_000}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// freeClaims claims everything: the verification benchmark measures the
// cryptography and checks, not the claim's round trip (measured apart).
type freeClaims struct{}

func (freeClaims) Claim(context.Context, string, time.Time) (bool, error) { return true, nil }
func (freeClaims) Release(context.Context, string) error                  { return nil }

// benchMPPVerify: parse an MPP credential, check its binding, terms and
// expiry, and recover the EIP-712 signer — all the CPU work of a paid call.
func benchMPPVerify(b *testing.B, se *servertest.Env) {
	ctx := context.Background()
	m := &payments.Machine{Issuer: mpp.Issuer{Secret: []byte(strings.Repeat("k", 32)), Realm: "bench"},
		PayTo: payTo, Domain: domain, Decimals: 6, Claims: freeClaims{}, Settler: payments.LocalSettler{}, Store: se.Store}
	step := &payments.Step{Platform: payments.Subscription{}, Machine: m}
	call := &payments.Request{Target: "generate-text", PriceMicroUSD: 10_000, Path: "/api/v1/gateway"}
	d, err := step.Authorize(ctx, call)
	offer, ok := d.(*payments.Offer)
	if !ok || err != nil || offer.Machine == nil {
		b.Fatalf("unpaid call: %#v, %v; want an offer", d, err)
	}
	chs, _ := mpp.ParseChallenges([]string{offer.Machine.Challenge})
	if len(chs) != 1 {
		b.Fatal("no challenge")
	}
	cred := mpptest.NewWallet(b).PayMPP(b, domain, chs[0], nil)
	paid := *call
	paid.HasMPP, paid.MPP = true, strings.TrimPrefix(cred, "Payment ")
	for b.Loop() {
		d, err := step.Authorize(ctx, &paid)
		c, ok := d.(*payments.Charged)
		if !ok || err != nil {
			b.Fatal(d, err)
		}
		if _, err := step.Settle(ctx, c, payments.Outcome{OK: false}); err != nil {
			b.Fatal(err)
		}
	}
}
