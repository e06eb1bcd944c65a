package billing

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/store"
)

func TestPolicySupersedes(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC()
	sub := func(status string, at time.Time) store.Subscription {
		return store.Subscription{ID: "sub_1", Kind: "plan", Plan: "solo", Status: status, EventAt: at}
	}
	tests := []struct {
		name string
		cur  store.Subscription
		next string
		at   time.Time
		want bool
	}{
		{"newer wins", sub("active", t0), "past_due", t0.Add(time.Second), true},
		{"older loses", sub("past_due", t0), "active", t0.Add(-time.Second), false},
		{"canceled is final, even for a newer event", sub("canceled", t0), "active", t0.Add(time.Hour), false},
		{"expired is final", sub("incomplete_expired", t0), "active", t0.Add(time.Hour), false},
		{"tie: cancel wins over active", sub("active", t0), "canceled", t0, true},
		{"tie: active wins over incomplete", sub("incomplete", t0), "active", t0, true},
		{"tie: incomplete does not undo active", sub("active", t0), "incomplete", t0, false},
		{"tie: same stage, later arrival wins", sub("active", t0), "past_due", t0, true},
	}
	for _, tc := range tests {
		next := sub(tc.next, tc.at)
		if got := (policy{}).Supersedes(tc.cur, next, tc.at); got != tc.want {
			t.Errorf("%s: Supersedes(%s@%v, %s@%v) = %v; want %v", tc.name, tc.cur.Status, tc.cur.EventAt.Unix(),
				tc.next, tc.at.Unix(), got, tc.want)
		}
	}
}

func TestPolicyAccount(t *testing.T) {
	p := policy{plans: mustPlans(t)}
	at := func(s int64) time.Time { return time.Unix(1_700_000_000+s, 0).UTC() }
	tests := []struct {
		name               string
		subs               []store.Subscription
		wantPlan, wantStat string
		wantOK             bool
	}{
		{"none", nil, "", "", false},
		{"one active", []store.Subscription{{Plan: "solo", Status: "active", EventAt: at(0)}}, "solo", "active", true},
		{"canceled old, active new", []store.Subscription{
			{Plan: "solo", Status: "canceled", EventAt: at(10)},
			{Plan: "collective", Status: "active", EventAt: at(5)},
		}, "collective", "active", true},
		{"two active: the larger plan", []store.Subscription{
			{Plan: "label", Status: "active", EventAt: at(0)},
			{Plan: "solo", Status: "active", EventAt: at(9)},
		}, "label", "active", true},
		{"none live: the newest", []store.Subscription{
			{Plan: "label", Status: "canceled", EventAt: at(0)},
			{Plan: "solo", Status: "past_due", EventAt: at(9)},
		}, "solo", "past_due", true},
		{"plan unknown is skipped", []store.Subscription{{Plan: "", Status: "active", EventAt: at(0)}}, "", "", false},
	}
	for _, tc := range tests {
		plan, status, ok := p.Account(tc.subs)
		if plan != tc.wantPlan || status != tc.wantStat || ok != tc.wantOK {
			t.Errorf("%s: Account = %q, %q, %v; want %q, %q, %v", tc.name, plan, status, ok, tc.wantPlan, tc.wantStat, tc.wantOK)
		}
	}
}

func testService(t *testing.T) *Service {
	t.Helper()
	ps, err := LoadPlans(config.BillingConfig{PlanPrices: map[string]string{"solo": "price_solo", "label": "price_label"}})
	if err != nil {
		t.Fatal(err)
	}
	return &Service{Plans: ps, StoragePrice: "price_storage", CreditPacks: map[string]int64{"price_pack": 5_000_000}}
}

func event(t *testing.T, typ string, object any) *stripe.Event {
	t.Helper()
	raw, err := json.Marshal(object)
	if err != nil {
		t.Fatal(err)
	}
	return &stripe.Event{ID: "evt_1", Type: stripe.EventType(typ), Data: &stripe.EventData{Raw: raw}}
}

func TestEffectOf(t *testing.T) {
	s := testService(t)
	tests := []struct {
		name    string
		typ     string
		object  any
		want    effect
		ignored bool
	}{
		{"subscription checkout", "checkout.session.completed", map[string]any{"id": "cs_1", "mode": "subscription",
			"payment_status": "paid", "client_reference_id": "usr_1", "customer": "cus_1", "subscription": "sub_1",
			"metadata": map[string]string{"kind": "plan", "plan": "label", "user_id": "usr_1"}},
			effect{userHint: "usr_1", customer: "cus_1", sub: &store.Subscription{ID: "sub_1", Kind: "plan", Plan: "label", Status: "active"}}, false},
		{"unpaid subscription checkout", "checkout.session.completed", map[string]any{"id": "cs_1", "mode": "subscription",
			"payment_status": "unpaid", "subscription": "sub_1", "metadata": map[string]string{"kind": "plan", "plan": "solo"}}, effect{}, true},
		{"credits, expanded customer object", "checkout.session.completed", map[string]any{"id": "cs_2", "mode": "payment",
			"payment_status": "paid", "customer": map[string]any{"id": "cus_2", "object": "customer"},
			"metadata": map[string]string{"kind": "credits", "price": "price_pack", "user_id": "usr_2"}},
			effect{userHint: "usr_2", customer: "cus_2", credit: &store.CreditPurchase{AmountMicroUSD: 5_000_000, Reference: "stripe:cs_2"}}, false},
		{"credits not yet paid", "checkout.session.completed", map[string]any{"id": "cs_2", "mode": "payment",
			"payment_status": "unpaid", "metadata": map[string]string{"kind": "credits", "price": "price_pack"}}, effect{}, true},
		{"payment of something else", "checkout.session.completed", map[string]any{"id": "cs_3", "mode": "payment",
			"payment_status": "paid"}, effect{}, true},
		{"subscription: price wins over metadata", "customer.subscription.updated", map[string]any{"id": "sub_1",
			"status": "active", "customer": "cus_1", "metadata": map[string]string{"kind": "plan", "plan": "solo", "user_id": "usr_1"},
			"items": map[string]any{"data": []any{map[string]any{"price": map[string]any{"id": "price_label"}}}}},
			effect{userHint: "usr_1", customer: "cus_1", sub: &store.Subscription{ID: "sub_1", Kind: "plan", Plan: "label", Status: "active"}}, false},
		{"deleted is canceled", "customer.subscription.deleted", map[string]any{"id": "sub_1", "status": "active",
			"customer": "cus_1", "items": map[string]any{"data": []any{map[string]any{"price": map[string]any{"id": "price_solo"}}}}},
			effect{customer: "cus_1", sub: &store.Subscription{ID: "sub_1", Kind: "plan", Plan: "solo", Status: "canceled"}}, false},
		{"storage subscription", "customer.subscription.created", map[string]any{"id": "sub_9", "status": "active",
			"customer": "cus_1", "items": map[string]any{"data": []any{map[string]any{"price": map[string]any{"id": "price_storage"}}}}},
			effect{customer: "cus_1", sub: &store.Subscription{ID: "sub_9", Kind: "storage", Status: "active"}}, false},
		{"unknown price: only for a subscription already known", "customer.subscription.created", map[string]any{"id": "sub_x",
			"status": "active", "customer": "cus_1", "items": map[string]any{"data": []any{map[string]any{"price": map[string]any{"id": "price_other"}}}}},
			effect{customer: "cus_1", sub: &store.Subscription{ID: "sub_x", Status: "active"}}, false},
		{"invoice naming no price", "invoice.payment_failed", map[string]any{"id": "in_9", "customer": "cus_1", "subscription": "sub_1"},
			effect{customer: "cus_1", sub: &store.Subscription{ID: "sub_1", Status: "past_due"}}, false},
		{"invoice failed (2023 shape)", "invoice.payment_failed", map[string]any{"id": "in_1", "customer": "cus_1",
			"subscription": "sub_1", "subscription_details": map[string]any{"metadata": map[string]string{"user_id": "usr_1"}},
			"lines": map[string]any{"data": []any{map[string]any{"price": map[string]any{"id": "price_solo"}}}}},
			effect{userHint: "usr_1", customer: "cus_1", sub: &store.Subscription{ID: "sub_1", Kind: "plan", Plan: "solo", Status: "past_due"}}, false},
		{"invoice paid (2025 shape)", "invoice.payment_succeeded", map[string]any{"id": "in_2", "customer": "cus_1",
			"parent": map[string]any{"subscription_details": map[string]any{"subscription": "sub_2",
				"metadata": map[string]string{"user_id": "usr_1", "kind": "plan", "plan": "solo"}}},
			"lines": map[string]any{"data": []any{map[string]any{"pricing": map[string]any{"price_details": map[string]any{"price": "price_label"}}}}}},
			effect{userHint: "usr_1", customer: "cus_1", sub: &store.Subscription{ID: "sub_2", Kind: "plan", Plan: "label", Status: "active"}}, false},
		{"one-off invoice", "invoice.payment_succeeded", map[string]any{"id": "in_3", "customer": "cus_1"}, effect{}, true},
		{"other event", "customer.created", map[string]any{"id": "cus_1"}, effect{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.effectOf(event(t, tc.typ, tc.object))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ignored {
				if got.ignored == "" || got.sub != nil || got.credit != nil {
					t.Errorf("effectOf = %+v; want ignored", got)
				}
				return
			}
			if got.ignored != "" || got.userHint != tc.want.userHint || got.customer != tc.want.customer ||
				!equalPtr(got.sub, tc.want.sub) || !equalPtr(got.credit, tc.want.credit) {
				t.Errorf("effectOf = %+v (sub %+v, credit %+v); want %+v (sub %+v, credit %+v)",
					got, got.sub, got.credit, tc.want, tc.want.sub, tc.want.credit)
			}
		})
	}
	if _, err := s.effectOf(event(t, "customer.subscription.updated", "not an object")); err == nil {
		t.Error("effectOf(malformed subscription) = nil error; want one")
	}
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
