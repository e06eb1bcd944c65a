package billing_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/agentbot/gateway/core/billing/stripetest"
	"github.com/agentbot/gateway/core/server/servertest"
)

// hook posts a signed event to the running server.
func hook(t *testing.T, c *servertest.Client, payload []byte) *servertest.Response {
	t.Helper()
	return c.Do("POST", "/api/webhooks/stripe", payload, "Stripe-Signature", stripetest.Sign(payload, whsec))
}

func outcome(t *testing.T, r *servertest.Response, want string) {
	t.Helper()
	r.Expect(t, 200, "")
	if r.JSON["received"] != true || r.Str("outcome") != want {
		t.Errorf("webhook = %s; want outcome %q", r.Body, want)
	}
}

func (e *env) account(t *testing.T, userID string) (plan, status string, credits int64) {
	t.Helper()
	ctx := context.Background()
	u, err := e.Store.User(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	bal, err := e.Store.Credits(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := e.Store.LedgerSum(ctx, userID)
	if err != nil || sum != bal {
		t.Fatalf("ledger sum %d, %v; balance %d: they must agree", sum, err, bal)
	}
	return u.Plan, u.SubscriptionStatus, bal
}

func subObject(id, customer, status, price string, meta map[string]string) map[string]any {
	return map[string]any{"id": id, "object": "subscription", "customer": customer, "status": status, "metadata": meta,
		"items": map[string]any{"object": "list", "data": []any{map[string]any{"price": map[string]any{"id": price}}}}}
}

func TestWebhookSubscriptionLifecycle(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		c, uid, _ := e.user(t, "sub@example.com")
		location(t, c.Do("GET", "/api/stripe/checkout?plan=solo", nil)) // creates and stores the customer
		cust := customerOf(t, e, uid)
		stripeSide := e.Client(t)
		t0 := time.Now().Unix() - 3600

		completed := stripetest.Event("evt_completed", "checkout.session.completed", t0, map[string]any{
			"id": "cs_sub_1", "object": "checkout.session", "mode": "subscription", "payment_status": "paid",
			"client_reference_id": uid, "customer": cust, "subscription": "sub_1",
			"metadata": map[string]string{"kind": "plan", "plan": "solo", "user_id": uid}})
		outcome(t, hook(t, stripeSide, completed), "applied")
		if p, s, _ := e.account(t, uid); p != "solo" || s != "active" {
			t.Errorf("after checkout: %s/%s; want solo/active", p, s)
		}
		if !e.forgot(uid) {
			t.Error("a plan change did not drop the gateway's cached caller")
		}
		r := c.Do("GET", "/api/billing", nil).Expect(t, 200, "")
		if r.Str("plan") != "solo" || r.Str("currentPlan") != "solo" || r.Str("subscriptionStatus") != "active" {
			t.Errorf("GET /api/billing = %s; want solo active", r.Body)
		}
		// Duplicate delivery: applied once.
		outcome(t, hook(t, stripeSide, completed), "duplicate")

		// An upgrade in Stripe: the price says label (metadata still says solo).
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_upgrade", "customer.subscription.updated", t0+10,
			subObject("sub_1", cust, "active", "price_label", map[string]string{"kind": "plan", "plan": "solo", "user_id": uid}))), "applied")
		if p, s, _ := e.account(t, uid); p != "label" || s != "active" {
			t.Errorf("after upgrade: %s/%s; want label/active", p, s)
		}

		// deleted (t0+30) arrives before updated (t0+20): it stays canceled.
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_deleted", "customer.subscription.deleted", t0+30,
			subObject("sub_1", cust, "canceled", "price_label", nil))), "applied")
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_late_update", "customer.subscription.updated", t0+20,
			subObject("sub_1", cust, "active", "price_label", nil))), "stale")
		if p, s, _ := e.account(t, uid); p != "label" || s != "canceled" {
			t.Errorf("after deleted then an older updated: %s/%s; want label/canceled", p, s)
		}
		// A late invoice success cannot revive it either.
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_late_invoice", "invoice.payment_succeeded", t0+25, map[string]any{
			"id": "in_1", "object": "invoice", "customer": cust, "subscription": "sub_1",
			"lines": map[string]any{"data": []any{map[string]any{"price": map[string]any{"id": "price_label"}}}}})), "stale")
		if _, s, _ := e.account(t, uid); s != "canceled" {
			t.Errorf("after a late invoice: %s; want canceled", s)
		}

		// A new subscription: updated(newer, past_due) then updated(older, active).
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_s2_new", "customer.subscription.updated", t0+60,
			subObject("sub_2", cust, "past_due", "price_collective", nil))), "applied")
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_s2_old", "customer.subscription.updated", t0+50,
			subObject("sub_2", cust, "active", "price_collective", nil))), "stale")
		if p, s, _ := e.account(t, uid); p != "collective" || s != "past_due" {
			t.Errorf("after newer then older updates: %s/%s; want collective/past_due", p, s)
		}
		// Invoices move it: paid → active, then a failure → past_due.
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_paid", "invoice.payment_succeeded", t0+70, map[string]any{
			"id": "in_2", "customer": cust, "subscription": "sub_2",
			"lines": map[string]any{"data": []any{map[string]any{"price": map[string]any{"id": "price_collective"}}}}})), "applied")
		if p, s, _ := e.account(t, uid); p != "collective" || s != "active" {
			t.Errorf("after invoice paid: %s/%s; want collective/active", p, s)
		}
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_failed", "invoice.payment_failed", t0+80, map[string]any{
			"id": "in_3", "customer": cust, "subscription": "sub_2"})), "applied")
		if p, s, _ := e.account(t, uid); p != "collective" || s != "past_due" {
			t.Errorf("after invoice failed: %s/%s; want collective/past_due", p, s)
		}

		// The storage upgrade is tracked apart from the plan.
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_storage", "customer.subscription.created", t0+90,
			subObject("sub_disk", cust, "active", "price_storage", map[string]string{"kind": "storage", "user_id": uid}))), "applied")
		r = c.Do("GET", "/api/billing", nil).Expect(t, 200, "")
		if r.Str("plan") != "collective" || r.JSON["storage"].(map[string]any)["status"] != "active" {
			t.Errorf("GET /api/billing = %s; want collective plan and active storage", r.Body)
		}
	})
}

func TestWebhookCreditsOnce(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		_, uid, _ := e.user(t, "buyer@example.com")
		stripeSide := e.Client(t)
		session := map[string]any{"id": "cs_pay_1", "object": "checkout.session", "mode": "payment", "payment_status": "paid",
			"client_reference_id": uid, "customer": nil,
			"metadata": map[string]string{"kind": "credits", "price": "price_pack10", "credits_micro_usd": "10000000", "user_id": uid}}
		paid := stripetest.Event("evt_pay_1", "checkout.session.completed", time.Now().Unix(), session)

		// Stripe retries and duplicates: ten concurrent deliveries credit once.
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[string]int{}
		for range 10 {
			wg.Go(func() {
				r := stripeSide.Do("POST", "/api/webhooks/stripe", paid, "Stripe-Signature", stripetest.Sign(paid, whsec))
				mu.Lock()
				seen[r.Str("outcome")]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if seen["applied"] != 1 || seen["duplicate"] != 9 {
			t.Errorf("10 deliveries: %v; want 1 applied, 9 duplicates", seen)
		}
		if _, _, credits := e.account(t, uid); credits != 10_000_000 {
			t.Errorf("credits = %d; want 10000000 (10 credits, once)", credits)
		}
		// Another event for the same session (async success) does not credit again.
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_pay_1_async", "checkout.session.async_payment_succeeded", time.Now().Unix(), session)), "applied")
		if _, _, credits := e.account(t, uid); credits != 10_000_000 {
			t.Errorf("credits after a second event for the session = %d; want 10000000", credits)
		}
		// An unpaid session credits nothing.
		unpaid := map[string]any{"id": "cs_pay_2", "mode": "payment", "payment_status": "unpaid", "client_reference_id": uid,
			"metadata": map[string]string{"kind": "credits", "price": "price_pack50", "user_id": uid}}
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_pay_2", "checkout.session.completed", time.Now().Unix(), unpaid)), "ignored")
		if _, _, credits := e.account(t, uid); credits != 10_000_000 {
			t.Errorf("credits after an unpaid session = %d; want 10000000", credits)
		}
	})
}

func TestWebhookRefusesBadSignatures(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		_, uid, _ := e.user(t, "sig@example.com")
		stripeSide := e.Client(t)
		payload := stripetest.Event("evt_forged", "checkout.session.completed", time.Now().Unix(), map[string]any{
			"id": "cs_forged", "mode": "payment", "payment_status": "paid", "client_reference_id": uid,
			"metadata": map[string]string{"kind": "credits", "price": "price_pack50", "credits_micro_usd": "50000000"}})
		other := stripetest.Event("evt_other", "customer.created", time.Now().Unix(), map[string]any{"id": "cus_x"})
		old := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: whsec,
			Timestamp: time.Now().Add(-10 * time.Minute)}).Header
		for name, sig := range map[string]string{
			"missing":         "",
			"wrong secret":    stripetest.Sign(payload, "whsec_attacker"),
			"another payload": stripetest.Sign(other, whsec),
			"garbage":         "t=abc,v1=zz",
			"too old":         old,
			"v0 only":         strings.Replace(stripetest.Sign(payload, whsec), "v1=", "v0=", 1),
		} {
			r := stripeSide.Do("POST", "/api/webhooks/stripe", payload, "Stripe-Signature", sig)
			if r.Status != 400 || r.Str("code") != "INVALID_SIGNATURE" {
				t.Errorf("%s signature: %d %s; want 400 INVALID_SIGNATURE", name, r.Status, r.Body)
			}
		}
		if _, _, credits := e.account(t, uid); credits != 0 {
			t.Fatalf("credits after forged events = %d; want 0", credits)
		}
		// Nothing was recorded: the same event, properly signed, applies now.
		outcome(t, hook(t, stripeSide, payload), "applied")
		if _, _, credits := e.account(t, uid); credits != 50_000_000 {
			t.Errorf("credits = %d; want 50000000", credits)
		}

		// Signed but not an event.
		for _, body := range []string{`not json`, `{"id":"evt_1","type":"checkout.session.completed"}`,
			`{"id":"evt_2","type":"customer.subscription.updated","created":1,"data":{"object":"sub_1"}}`} {
			r := stripeSide.Do("POST", "/api/webhooks/stripe", body, "Stripe-Signature", stripetest.Sign([]byte(body), whsec))
			if r.Status != 400 || r.Str("code") != "INVALID_EVENT" {
				t.Errorf("signed %q: %d %s; want 400 INVALID_EVENT", body, r.Status, r.Body)
			}
		}
		big := make([]byte, 600<<10)
		stripeSide.Do("POST", "/api/webhooks/stripe", big, "Stripe-Signature", stripetest.Sign(big, whsec)).Expect(t, 413, "PAYLOAD_TOO_LARGE")
	})
}

func TestWebhookUnknownUsersAreIgnored(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		_, uid, _ := e.user(t, "known@example.com")
		stripeSide := e.Client(t)
		now := time.Now().Unix()
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_u1", "customer.subscription.updated", now,
			subObject("sub_u", "cus_nobody", "active", "price_solo", nil))), "unknown_user")
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_u2", "checkout.session.completed", now, map[string]any{
			"id": "cs_u", "mode": "payment", "payment_status": "paid", "client_reference_id": "usr_doesnotexist",
			"metadata": map[string]string{"kind": "credits", "price": "price_pack10"}})), "unknown_user")
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_u3", "customer.created", now, map[string]any{"id": "cus_1"})), "ignored")
		outcome(t, hook(t, stripeSide, stripetest.Event("evt_u4", "customer.subscription.created", now,
			subObject("sub_other", "cus_nobody", "active", "price_somebody_elses", map[string]string{"user_id": uid}))), "unmatched")
		if p, s, credits := e.account(t, uid); p != "" || s != "" || credits != 0 {
			t.Errorf("known user = %q/%q/%d; want untouched", p, s, credits)
		}
	})
}
