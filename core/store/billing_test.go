package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

// newestWins is a minimal policy: a strictly newer event replaces the state,
// and the account follows the newest subscription.
type newestWins struct{}

func (newestWins) Supersedes(cur, _ store.Subscription, at time.Time) bool {
	return at.After(cur.EventAt)
}

func (newestWins) Account(subs []store.Subscription) (string, string, bool) {
	if len(subs) == 0 {
		return "", "", false
	}
	last := subs[len(subs)-1] // ordered by event_at
	return last.Plan, last.Status, true
}

func TestStripeCustomer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u, v := mustUser(t, s, "cust@example.com"), mustUser(t, s, "other@example.com")
		if c, err := s.BillingContact(ctx, u.ID); err != nil || c.StripeCustomerID != "" || c.Email != "cust@example.com" {
			t.Fatalf("BillingContact(new user) = %+v, %v; want no customer", c, err)
		}
		if got, err := s.SetStripeCustomer(ctx, u.ID, "cus_first"); err != nil || got != "cus_first" {
			t.Fatalf("SetStripeCustomer = %q, %v; want cus_first", got, err)
		}
		// A second (concurrent) first checkout keeps the customer that won.
		if got, err := s.SetStripeCustomer(ctx, u.ID, "cus_second"); err != nil || got != "cus_first" {
			t.Errorf("SetStripeCustomer(again) = %q, %v; want the stored cus_first", got, err)
		}
		if id, err := s.UserByStripeCustomer(ctx, "cus_first"); err != nil || id != u.ID {
			t.Errorf("UserByStripeCustomer(cus_first) = %q, %v; want %s", id, err, u.ID)
		}
		if _, err := s.UserByStripeCustomer(ctx, "cus_second"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByStripeCustomer(cus_second) = %v; want ErrNotFound", err)
		}
		// One customer belongs to one user.
		if _, err := s.SetStripeCustomer(ctx, v.ID, "cus_first"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("SetStripeCustomer(another user, same customer) = %v; want ErrConflict", err)
		}
	})
}

func TestApplyStripeEventOnceAndInOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u := mustUser(t, s, "events@example.com")
		t0 := time.Unix(1_700_000_000, 0).UTC()
		apply := func(e store.StripeEvent) store.StripeResult {
			t.Helper()
			r, err := s.ApplyStripeEvent(ctx, e, newestWins{})
			if err != nil {
				t.Fatalf("ApplyStripeEvent(%s) = %v", e.ID, err)
			}
			return r
		}
		account := func() (string, string) {
			t.Helper()
			got, err := s.User(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.Plan, got.SubscriptionStatus
		}

		sub := func(status string) *store.Subscription {
			return &store.Subscription{ID: "sub_1", Kind: "plan", Plan: "solo", Status: status}
		}
		r := apply(store.StripeEvent{ID: "evt_1", Type: "customer.subscription.created", Created: t0, UserID: u.ID, Subscription: sub("active")})
		if r.Outcome != store.StripeApplied || !r.AccountChanged {
			t.Errorf("first event = %+v; want applied, account changed", r)
		}
		if p, st := account(); p != "solo" || st != "active" {
			t.Errorf("account = %s/%s; want solo/active", p, st)
		}
		// The same event again: nothing, even if its content differed.
		r = apply(store.StripeEvent{ID: "evt_1", Type: "customer.subscription.created", Created: t0.Add(time.Hour), UserID: u.ID, Subscription: sub("canceled")})
		if r.Outcome != store.StripeDuplicate || r.AccountChanged {
			t.Errorf("duplicate = %+v; want duplicate, no change", r)
		}
		// A newer state, then an older one that arrives late.
		apply(store.StripeEvent{ID: "evt_3", Type: "customer.subscription.updated", Created: t0.Add(20 * time.Second), UserID: u.ID, Subscription: sub("past_due")})
		r = apply(store.StripeEvent{ID: "evt_2", Type: "customer.subscription.updated", Created: t0.Add(10 * time.Second), UserID: u.ID, Subscription: sub("active")})
		if r.Outcome != store.StripeStale || r.AccountChanged {
			t.Errorf("older event = %+v; want stale", r)
		}
		if p, st := account(); p != "solo" || st != "past_due" {
			t.Errorf("account = %s/%s; want solo/past_due (the newer state)", p, st)
		}
		// The stale event was recorded: delivering it again is a duplicate.
		if r := apply(store.StripeEvent{ID: "evt_2", Type: "customer.subscription.updated", Created: t0.Add(30 * time.Second), UserID: u.ID, Subscription: sub("active")}); r.Outcome != store.StripeDuplicate {
			t.Errorf("stale event redelivered = %+v; want duplicate", r)
		}
		// An event that does not name the plan keeps the known one.
		apply(store.StripeEvent{ID: "evt_4", Type: "invoice.payment_succeeded", Created: t0.Add(40 * time.Second), UserID: u.ID,
			Subscription: &store.Subscription{ID: "sub_1", Kind: "plan", Status: "active"}})
		if p, st := account(); p != "solo" || st != "active" {
			t.Errorf("account = %s/%s; want solo/active", p, st)
		}
		// An event of unknown kind moves a known subscription, keeping its kind ...
		apply(store.StripeEvent{ID: "evt_4b", Type: "invoice.payment_failed", Created: t0.Add(45 * time.Second), UserID: u.ID,
			Subscription: &store.Subscription{ID: "sub_1", Status: "past_due"}})
		if p, st := account(); p != "solo" || st != "past_due" {
			t.Errorf("account = %s/%s; want solo/past_due", p, st)
		}
		// ... and is recorded but changes nothing for an unknown one.
		if r := apply(store.StripeEvent{ID: "evt_4c", Type: "customer.subscription.created", Created: t0.Add(50 * time.Second),
			UserID: u.ID, Subscription: &store.Subscription{ID: "sub_unknown", Status: "active"}}); r.Outcome != store.StripeUnmatched {
			t.Errorf("unknown kind, unknown subscription = %+v; want unmatched", r)
		}
		subs, err := s.Subscriptions(ctx, u.ID)
		if err != nil || len(subs) != 1 || subs[0].Plan != "solo" || subs[0].Kind != "plan" || !subs[0].EventAt.Equal(t0.Add(45*time.Second)) {
			t.Errorf("Subscriptions = %+v, %v; want only sub_1, plan solo at t0+45s", subs, err)
		}

		// Unknown users: nothing recorded, so the id stays free.
		if r := apply(store.StripeEvent{ID: "evt_5", Type: "x", Created: t0, UserID: "usr_nobody", Subscription: sub("active")}); r.Outcome != store.StripeUnknownUser {
			t.Errorf("unknown user = %+v; want unknown_user", r)
		}
		if r := apply(store.StripeEvent{ID: "evt_5", Type: "x", Created: t0, UserID: u.ID}); r.Outcome != store.StripeApplied {
			t.Errorf("evt_5 for a real user = %+v; want applied (not recorded before)", r)
		}

		// Another user cannot take over sub_1: nothing recorded, nothing changed.
		v := mustUser(t, s, "thief@example.com")
		if r := apply(store.StripeEvent{ID: "evt_6", Type: "x", Created: t0.Add(time.Hour), UserID: v.ID, Subscription: sub("active")}); r.Outcome != store.StripeForeign {
			t.Errorf("foreign subscription = %+v; want foreign_subscription", r)
		}
		if got, _ := s.User(ctx, v.ID); got.Plan != "" {
			t.Errorf("thief's plan = %q; want none", got.Plan)
		}
	})
}

func TestApplyStripeEventCreditsOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u := mustUser(t, s, "credits@example.com")
		credit := &store.CreditPurchase{AmountMicroUSD: 10_000_000, Reference: "stripe:cs_1"}
		// The same event delivered concurrently, then another event naming the
		// same Checkout Session: one credit in all.
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[store.StripeOutcome]int{}
		var credited int64
		for range 20 {
			wg.Go(func() {
				r, err := s.ApplyStripeEvent(ctx, store.StripeEvent{ID: "evt_pay", Type: "checkout.session.completed",
					Created: time.Unix(1_700_000_000, 0), UserID: u.ID, Credit: credit}, newestWins{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				outcomes[r.Outcome]++
				credited += r.Credited
				mu.Unlock()
			})
		}
		wg.Wait()
		if outcomes[store.StripeApplied] != 1 || outcomes[store.StripeDuplicate] != 19 || credited != 10_000_000 {
			t.Errorf("20 concurrent deliveries: outcomes %v, credited %d; want 1 applied, 19 duplicates, 10000000", outcomes, credited)
		}
		r, err := s.ApplyStripeEvent(ctx, store.StripeEvent{ID: "evt_async", Type: "checkout.session.async_payment_succeeded",
			Created: time.Unix(1_700_000_100, 0), UserID: u.ID, Credit: credit}, newestWins{})
		if err != nil || r.Outcome != store.StripeApplied || r.Credited != 0 {
			t.Errorf("second event for the same session = %+v, %v; want applied, nothing credited", r, err)
		}
		bal, _ := s.Credits(ctx, u.ID)
		sum, _ := s.LedgerSum(ctx, u.ID)
		if bal != 10_000_000 || sum != bal {
			t.Errorf("balance %d, ledger sum %d; want both 10000000", bal, sum)
		}
	})
}

func TestBillingAccountAndUsage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u, other := mustUser(t, s, "usage@example.com"), mustUser(t, s, "noise@example.com")
		may := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		events := []store.UsageEvent{
			{Target: "generate-text", Status: 200, PriceMicroUSD: 10_000, CreatedAt: may.Add(-time.Millisecond)}, // April
			{Target: "generate-text", Status: 200, PriceMicroUSD: 10_000, CreatedAt: may},
			{Target: "agent", Status: 200, PriceMicroUSD: 50_000, CreatedAt: may.Add(time.Hour)},
			{Target: "generate-text", Status: 200, PriceMicroUSD: 10_000, CreatedAt: may.Add(2 * time.Hour)},
			{Target: "generate-text", Status: 502, PriceMicroUSD: 0, CreatedAt: may.Add(30 * time.Hour)},
			{Target: "agent", Status: 200, PriceMicroUSD: 50_000, CreatedAt: may.AddDate(0, 1, 0)}, // June
		}
		for _, e := range events {
			if err := s.RecordUsage(ctx, u.ID, e); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RecordUsage(ctx, other.ID, store.UsageEvent{Target: "agent", Status: 200, PriceMicroUSD: 1, CreatedAt: may}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"openai", "anthropic"} {
			if err := s.SetBYOKKey(ctx, u.ID, p, []byte("sealed")); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddCredits(ctx, u.ID, 2_500_000, "purchase", "stripe:cs_x"); err != nil {
			t.Fatal(err)
		}
		a, err := s.BillingAccount(ctx, u.ID, may, may.AddDate(0, 1, 0))
		if err != nil {
			t.Fatal(err)
		}
		if a.Calls != 4 || a.SpendMicroUSD != 70_000 || a.BalanceMicroUSD != 2_500_000 ||
			strings.Join(a.BYOKProviders, ",") != "anthropic,openai" || a.Plan != "" || a.StorageStatus != "" {
			t.Errorf("BillingAccount = %+v; want 4 calls, 70000 spent, 2500000 credits, BYOK anthropic,openai", a)
		}
		days, err := s.UsageByDay(ctx, u.ID, may, may.AddDate(0, 1, 0))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.UsageTotal{
			{Day: "2026-05-01", Target: "agent", Calls: 1, SpendMicroUSD: 50_000},
			{Day: "2026-05-01", Target: "generate-text", Calls: 2, SpendMicroUSD: 20_000},
			{Day: "2026-05-02", Target: "generate-text", Calls: 1, SpendMicroUSD: 0},
		}
		if len(days) != len(want) {
			t.Fatalf("UsageByDay = %+v; want %+v", days, want)
		}
		for i := range want {
			if days[i] != want[i] {
				t.Errorf("UsageByDay[%d] = %+v; want %+v", i, days[i], want[i])
			}
		}
	})
}

// On PostgreSQL the new tables are guarded by RLS: as one tenant, another's
// events and subscriptions are invisible and cannot be written.
func TestPostgresRLSGuardsStripeTables(t *testing.T) {
	pg := storetest.Postgres(t)
	s := storetest.Open(t, pg.Config())
	ctx := context.Background()
	a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
	for _, u := range []*store.User{a, b} {
		_, err := s.ApplyStripeEvent(ctx, store.StripeEvent{ID: "evt_" + u.ID, Type: "t", Created: time.Unix(1_700_000_000, 0),
			UserID: u.ID, Subscription: &store.Subscription{ID: "sub_" + u.ID, Kind: "plan", Plan: "solo", Status: "active"}}, newestWins{})
		if err != nil {
			t.Fatal(err)
		}
	}
	tx := pg.TenantTx(t, a.ID)
	for _, table := range []string{"stripe_events", "stripe_subscriptions"} {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 1 {
			t.Errorf("as a, SELECT count(*) FROM %s (no WHERE) = %d, %v; want only a's 1 row", table, n, err)
		}
	}
	tag, err := tx.Exec(ctx, `UPDATE stripe_subscriptions SET status = 'canceled' WHERE user_id = $1`, b.ID)
	if err != nil || tag.RowsAffected() != 0 {
		t.Errorf("as a, updating b's subscription = %v, %v; want 0 rows", tag, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO stripe_events (id, user_id, type, created_at, received_at) VALUES ('evt_x', $1, 't', now(), now())`, b.ID)
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("as a, inserting an event for b = %v; want a row-level security violation", err)
	}
}
