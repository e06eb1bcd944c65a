package store_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

// A payment authorization is claimed once, however many requests race for
// it, on both stores; a released claim can be taken again.
func TestPaymentClaimOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		until := time.Now().Add(time.Hour)
		var won atomic.Int64
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ClaimPayment(ctx, "evm:84532:0xabc:0x01", until)
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
			t.Fatalf("%d of 50 concurrent claims won; want exactly 1", won.Load())
		}
		if ok, err := s.ClaimPayment(ctx, "evm:84532:0xabc:0x02", until); !ok || err != nil {
			t.Errorf("claim of another nonce = %v, %v; want true", ok, err)
		}
		if err := s.ReleasePayment(ctx, "evm:84532:0xabc:0x01"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.ClaimPayment(ctx, "evm:84532:0xabc:0x01", until); !ok || err != nil {
			t.Errorf("claim after release = %v, %v; want true", ok, err)
		}
	})
}

// Payments are recorded for accounts (visible to them only) and for
// anonymous payers; one claim key pays once.
func TestRecordPayment(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		alice := mustUser(t, s, "alice@example.com")
		bob := mustUser(t, s, "bob@example.com")
		p := &store.MachinePayment{UserID: alice.ID, Protocol: "mpp", Method: "evm", Payer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
			Network: "eip155:84532", Asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", Amount: "10000", AmountMicroUSD: 10_000,
			Target: "generate-text", ChallengeID: "ch1", ClaimKey: "k1", Reference: "0xref", Receipt: "eyJ"}
		if err := s.RecordPayment(ctx, p); err != nil {
			t.Fatal(err)
		}
		anon := *p
		anon.ID, anon.UserID, anon.ClaimKey, anon.Protocol = "", "", "k2", "x402"
		if err := s.RecordPayment(ctx, &anon); err != nil {
			t.Fatalf("anonymous payment: %v", err)
		}
		dup := *p
		dup.ID, dup.UserID = "", ""
		if err := s.RecordPayment(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second payment with claim key k1: %v; want ErrConflict", err)
		}
		got, err := s.Payments(ctx, alice.ID, 10)
		if err != nil || len(got) != 1 {
			t.Fatalf("alice's payments = %+v, %v; want 1", got, err)
		}
		if g := got[0]; g.Amount != "10000" || g.AmountMicroUSD != 10_000 || g.Receipt != "eyJ" || g.Protocol != "mpp" || g.ClaimKey != "k1" {
			t.Errorf("alice's payment = %+v", g)
		}
		if got, err := s.Payments(ctx, bob.ID, 10); len(got) != 0 || err != nil {
			t.Errorf("bob sees %d payments (%v); want 0", len(got), err)
		}
		all, err := s.AllPayments(ctx, 10)
		if err != nil || len(all) != 2 {
			t.Fatalf("AllPayments = %+v, %v; want alice's and the anonymous one", all, err)
		}
		owners := map[string]bool{all[0].UserID: true, all[1].UserID: true}
		if !owners[alice.ID] || !owners[""] {
			t.Errorf("AllPayments owners = %v; want alice and anonymous", owners)
		}
	})
}

// An Idempotency-Key runs its request once: a repeat gets the kept answer, a
// repeat while the first runs is told so, another request under the key is
// refused, and an abandoned key can be used again.
func TestIdempotentReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		h1, h2 := []byte("request-1"), []byte("request-2")
		if r, err := s.BeginReplay(ctx, "key", h1, time.Hour); r != nil || err != nil {
			t.Fatalf("first BeginReplay = %+v, %v; want nil, nil", r, err)
		}
		if _, err := s.BeginReplay(ctx, "key", h1, time.Hour); !errors.Is(err, store.ErrReplayInProgress) {
			t.Errorf("repeat while running: %v; want ErrReplayInProgress", err)
		}
		if err := s.FinishReplay(ctx, "key", store.Replay{Status: 200, Header: `{"Payment-Receipt":["r"]}`, Body: []byte(`{"ok":true}`)}); err != nil {
			t.Fatal(err)
		}
		r, err := s.BeginReplay(ctx, "key", h1, time.Hour)
		if err != nil || r == nil || r.Status != 200 || string(r.Body) != `{"ok":true}` || r.Header != `{"Payment-Receipt":["r"]}` {
			t.Errorf("repeat after finish = %+v, %v; want the kept answer", r, err)
		}
		if _, err := s.BeginReplay(ctx, "key", h2, time.Hour); !errors.Is(err, store.ErrReplayMismatch) {
			t.Errorf("another request under the key: %v; want ErrReplayMismatch", err)
		}
		if _, err := s.BeginReplay(ctx, "other", h1, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.AbandonReplay(ctx, "other"); err != nil {
			t.Fatal(err)
		}
		if r, err := s.BeginReplay(ctx, "other", h2, time.Hour); r != nil || err != nil {
			t.Errorf("BeginReplay after abandon = %+v, %v; want a fresh start", r, err)
		}
	})
}

func TestCreditEntriesByKind(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u := mustUser(t, s, "ledger@example.com")
		other := mustUser(t, s, "other@example.com")
		for _, e := range []struct {
			kind string
			amt  int64
		}{{"purchase", 10_000_000}, {"referral", 10_000_000}, {"purchase", 5_000_000}} {
			if err := s.AddCredits(ctx, u.ID, e.amt, e.kind, "ref-"+e.kind+strconv.FormatInt(e.amt, 10)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.ReserveCredits(ctx, u.ID, 10_000, "call-1"); err != nil {
			t.Fatal(err)
		}
		got, err := s.CreditEntries(ctx, u.ID, 10, "purchase")
		if err != nil || len(got) != 2 || got[0].Kind != "purchase" || got[1].Kind != "purchase" {
			t.Fatalf("purchases = %+v, %v; want 2", got, err)
		}
		all, err := s.CreditEntries(ctx, u.ID, 10)
		if err != nil || len(all) != 4 {
			t.Errorf("all entries = %d, %v; want 4 (3 grants and a reservation)", len(all), err)
		}
		if o, err := s.CreditEntries(ctx, other.ID, 10); len(o) != 0 || err != nil {
			t.Errorf("another user sees %d entries (%v)", len(o), err)
		}
	})
}
