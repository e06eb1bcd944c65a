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
		rule := store.ReferralRule{Bonus: 10 * store.CreditMicroUSD, MonthlyCap: 2}
		key := func(addr string) []byte { return []byte("key:" + addr) }
		refer := func(email string) string {
			t.Helper()
			nu := mustUser(t, s, email)
			if err := s.SetReferrer(ctx, nu.ID, ref.ID); err != nil {
				t.Fatal(err)
			}
			if b, _ := s.Credits(ctx, nu.ID); b != 0 {
				t.Errorf("a referred, unverified account has %d; want nothing spendable", b)
			}
			return nu.ID
		}
		balance := func(id string) int64 { n, _ := s.Credits(ctx, id); return n }

		a := refer("a@example.com")
		for range 2 { // decided once per account
			if _, err := s.SettleReferral(ctx, a, key("a"), rule); err != nil {
				t.Fatal(err)
			}
		}
		if balance(a) != rule.Bonus || balance(ref.ID) != rule.Bonus {
			t.Errorf("after one referral: referee %d, referrer %d; want %d each", balance(a), balance(ref.ID), rule.Bonus)
		}
		// An address that earned a bonus never earns another.
		b := refer("b@example.com")
		if o, err := s.SettleReferral(ctx, b, key("a"), rule); err != nil || o != store.ReferralDuplicate {
			t.Errorf("same address again = %q, %v; want duplicate", o, err)
		}
		c := refer("c@example.com")
		if o, err := s.SettleReferral(ctx, c, key("c"), rule); err != nil || o != store.ReferralPaid {
			t.Errorf("second referral = %q, %v; want paid", o, err)
		}
		// The cap is per referrer and month.
		d := refer("d@example.com")
		if o, err := s.SettleReferral(ctx, d, key("d"), rule); err != nil || o != store.ReferralCapped {
			t.Errorf("third referral in a month with cap 2 = %q, %v; want capped", o, err)
		}
		if balance(b) != 0 || balance(d) != 0 || balance(ref.ID) != 2*rule.Bonus {
			t.Errorf("refused referrals paid: b %d, d %d, referrer %d", balance(b), balance(d), balance(ref.ID))
		}
		// Not referred: nothing.
		e := mustUser(t, s, "e@example.com")
		if o, err := s.SettleReferral(ctx, e.ID, key("e"), rule); err != nil || o != store.ReferralNone {
			t.Errorf("unreferred account = %q, %v", o, err)
		}
		if sum, _ := s.CreditSummary(ctx, ref.ID); sum.ReferralCount != 2 {
			t.Errorf("referralCount = %d; want 2", sum.ReferralCount)
		}
		for _, id := range []string{ref.ID, a, c} {
			if sum, err := s.LedgerSum(ctx, id); err != nil || sum != balance(id) {
				t.Errorf("ledger of %s = %d, %v; want the balance %d", id, sum, err, balance(id))
			}
		}
	})
}

// Concurrent verifications of many referred accounts never pay a referrer
// past the monthly cap.
func TestReferralCapHoldsUnderConcurrency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		ref := mustUser(t, s, "referrer@example.com")
		rule := store.ReferralRule{Bonus: store.CreditMicroUSD, MonthlyCap: 5}
		ids := make([]string, 20)
		for i := range ids {
			u := mustUser(t, s, fmt.Sprintf("r%d@example.com", i))
			if err := s.SetReferrer(ctx, u.ID, ref.ID); err != nil {
				t.Fatal(err)
			}
			ids[i] = u.ID
		}
		var wg sync.WaitGroup
		outcomes := make(chan store.ReferralOutcome, len(ids))
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o, err := s.SettleReferral(ctx, id, []byte(fmt.Sprint("addr", i)), rule)
				if err != nil {
					t.Error(err)
				}
				outcomes <- o
			}()
		}
		wg.Wait()
		close(outcomes)
		count := map[store.ReferralOutcome]int{}
		for o := range outcomes {
			count[o]++
		}
		if count[store.ReferralPaid] != 5 || count[store.ReferralCapped] != 15 {
			t.Errorf("outcomes = %v; want 5 paid, 15 capped", count)
		}
		if n, _ := s.Credits(ctx, ref.ID); n != 5*rule.Bonus {
			t.Errorf("referrer balance = %d; want %d", n, 5*rule.Bonus)
		}
	})
}
