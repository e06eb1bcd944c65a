package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

// 1,000 concurrent reservations against credits that cover 500: exactly 500
// succeed and the balance ends at exactly 0, on both stores.
func TestCreditsNeverOverdraw(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u := mustUser(t, s, "spender@example.com")
		const price = 10_000 // $0.01
		if err := s.AddCredits(ctx, u.ID, 500*price, "purchase", "pack-1"); err != nil {
			t.Fatal(err)
		}
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for i := range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ref := fmt.Sprintf("call-%d", i)
				err := s.ReserveCredits(ctx, u.ID, price, ref)
				switch {
				case err == nil:
					ok.Add(1)
					if err := s.SettleCredits(ctx, u.ID, ref, price, price); err != nil {
						t.Error(err)
					}
				case errors.Is(err, store.ErrInsufficientCredits):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		bal, err := s.Credits(ctx, u.ID)
		if ok.Load() != 500 || refused.Load() != 500 || bal != 0 || err != nil {
			t.Errorf("%d reserved, %d refused, balance %d (%v); want 500, 500, 0", ok.Load(), refused.Load(), bal, err)
		}
		if sum, err := s.LedgerSum(ctx, u.ID); sum != bal || err != nil {
			t.Errorf("ledger sum %d (%v) != running balance %d", sum, err, bal)
		}
	})
}

func TestCreditsSettleRefundOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u := mustUser(t, s, "ledger@example.com")
		other := mustUser(t, s, "other@example.com")
		s.AddCredits(ctx, u.ID, 1000, "purchase", "p")
		if err := s.ReserveCredits(ctx, u.ID, 600, "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.ReserveCredits(ctx, u.ID, 600, "b"); !errors.Is(err, store.ErrInsufficientCredits) {
			t.Errorf("second reservation = %v; want ErrInsufficientCredits", err)
		}
		for range 2 { // twice: the second settle is a no-op
			if err := s.SettleCredits(ctx, u.ID, "a", 600, 250); err != nil {
				t.Fatal(err)
			}
		}
		if bal, _ := s.Credits(ctx, u.ID); bal != 750 {
			t.Errorf("balance after settling 250 of 600 = %d; want 750", bal)
		}
		s.ReserveCredits(ctx, u.ID, 700, "c")
		for range 2 {
			if err := s.RefundCredits(ctx, u.ID, "c", 700); err != nil {
				t.Fatal(err)
			}
		}
		if bal, _ := s.Credits(ctx, u.ID); bal != 750 {
			t.Errorf("balance after a refund = %d; want 750", bal)
		}
		if sum, _ := s.LedgerSum(ctx, u.ID); sum != 750 {
			t.Errorf("ledger sum = %d; want it equal to the balance, 750", sum)
		}
		if bal, _ := s.Credits(ctx, other.ID); bal != 0 {
			t.Errorf("another user's balance = %d; want 0", bal)
		}
		if err := s.ReserveCredits(ctx, other.ID, 1, "x"); !errors.Is(err, store.ErrInsufficientCredits) {
			t.Errorf("reserving from an empty balance = %v", err)
		}
	})
}

func TestReferral(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		ref := mustUser(t, s, "referrer@example.com")
		sum, err := s.CreditSummary(ctx, ref.ID)
		if err != nil || len(sum.ReferralCode) != 8 {
			t.Fatalf("CreditSummary = %+v, %v; want an 8-character referral code", sum, err)
		}
		id, err := s.ReferrerByCode(ctx, sum.ReferralCode)
		if err != nil || id != ref.ID {
			t.Fatalf("ReferrerByCode = %q, %v", id, err)
		}
		if _, err := s.ReferrerByCode(ctx, "NOPE0000"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown code = %v; want ErrNotFound", err)
		}
		nu := mustUser(t, s, "newbie@example.com")
		for range 2 {
			if err := s.ApplyReferral(ctx, nu.ID, ref.ID, 10*store.CreditMicroUSD); err != nil {
				t.Fatal(err)
			}
		}
		a, _ := s.CreditSummary(ctx, ref.ID)
		b, _ := s.CreditSummary(ctx, nu.ID)
		if a.BalanceMicroUSD != 10*store.CreditMicroUSD || a.ReferralCount != 1 || b.BalanceMicroUSD != 10*store.CreditMicroUSD {
			t.Errorf("after a referral: referrer %+v, newbie %+v; want 10 credits each, one referral", a, b)
		}
	})
}
