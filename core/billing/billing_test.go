package billing_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
)

func TestCheckoutRedirectsToStripe(t *testing.T) {
	each(t, map[string]string{"ADMIN_EMAILS": "boss@example.com"}, func(t *testing.T, e *env) {
		anon := e.Client(t)
		anon.Do("GET", "/api/stripe/checkout?plan=solo", nil).Expect(t, 401, "AUTH_REQUIRED")

		c, uid, _ := e.user(t, "ada@example.com")
		to := location(t, c.Do("GET", "/api/stripe/checkout?plan=solo", nil))
		if !hasPrefix(to, "https://checkout.stripe.com/") {
			t.Errorf("Location = %q; want the Checkout Session's URL", to)
		}
		cust := customerOf(t, e, uid)
		if !hasPrefix(cust, "cus_") {
			t.Fatalf("stored customer = %q; want a Stripe customer id", cust)
		}
		if f := e.Stripe.last(t, "/v1/customers"); f.Get("email") != "ada@example.com" || f.Get("metadata[user_id]") != uid {
			t.Errorf("customer request = %v; want the user's email and id", f)
		}
		f := e.Stripe.last(t, "/v1/checkout/sessions")
		want := map[string]string{
			"mode": "subscription", "currency": "gbp", "customer": cust, "client_reference_id": uid,
			"line_items[0][price]": "price_solo", "line_items[0][quantity]": "1",
			"metadata[user_id]": uid, "metadata[plan]": "solo", "metadata[kind]": "plan",
			"subscription_data[metadata][user_id]": uid, "subscription_data[metadata][plan]": "solo",
			"success_url": "https://agentbot.test/onboard?plan=solo&session_id={CHECKOUT_SESSION_ID}",
			"cancel_url":  "https://agentbot.test/pricing?cancelled=1",
		}
		for k, v := range want {
			if f.Get(k) != v {
				t.Errorf("checkout session %s = %q; want %q", k, f.Get(k), v)
			}
		}

		// A second checkout (another plan, any case) reuses the customer.
		location(t, c.Do("GET", "/api/stripe/checkout?plan=Network", nil))
		if n := e.Stripe.count("/v1/customers"); n != 1 {
			t.Errorf("customers created = %d; want 1", n)
		}
		if f := e.Stripe.last(t, "/v1/checkout/sessions"); f.Get("customer") != cust || f.Get("line_items[0][price]") != "price_network" {
			t.Errorf("second session = %v; want the same customer and the network price", f)
		}

		// Invalid plans never reach Stripe.
		before := len(e.Stripe.all())
		for _, q := range []string{"plan=free", "plan=", "", "plan=starter", "plan=%00"} {
			if to := location(t, c.Do("GET", "/api/stripe/checkout?"+q, nil)); to != "/pricing?error=invalid_plan" {
				t.Errorf("checkout?%s → %q; want /pricing?error=invalid_plan", q, to)
			}
		}
		if n := len(e.Stripe.all()); n != before {
			t.Errorf("invalid plans made %d Stripe requests; want none", n-before)
		}

		// Admins need no subscription.
		admin, _, _ := e.user(t, "boss@example.com")
		if to := location(t, admin.Do("GET", "/api/stripe/checkout?plan=label", nil)); to != "/onboard?plan=label&paid=1&admin=1" {
			t.Errorf("admin checkout → %q; want /onboard?plan=label&paid=1&admin=1", to)
		}
	})
}

func TestCreditPacksAreAllowListed(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		c, uid, csrf := e.user(t, "packs@example.com")
		location(t, c.Do("GET", "/api/stripe/credits?price=price_pack10", nil))
		f := e.Stripe.last(t, "/v1/checkout/sessions")
		want := map[string]string{"mode": "payment", "line_items[0][price]": "price_pack10", "client_reference_id": uid,
			"metadata[kind]": "credits", "metadata[credits_micro_usd]": "10000000", "metadata[user_id]": uid,
			"payment_intent_data[metadata][user_id]": uid, "currency": ""}
		for k, v := range want {
			if f.Get(k) != v {
				t.Errorf("credits session %s = %q; want %q", k, f.Get(k), v)
			}
		}
		before := len(e.Stripe.all())
		for _, q := range []string{"price=price_other", "price=", "", "price=price_solo"} {
			c.Do("GET", "/api/stripe/credits?"+q, nil).Expect(t, 400, "INVALID_PRICE")
		}
		c.Do("POST", "/api/billing", map[string]any{"action": "buy-credits", "pack": "price_nope"}, "X-CSRF-Token", csrf).Expect(t, 400, "INVALID_PRICE")
		if n := len(e.Stripe.all()); n != before {
			t.Errorf("refused packs made %d Stripe requests; want none", n-before)
		}
		r := c.Do("POST", "/api/billing", map[string]any{"action": "buy-credits", "pack": "price_pack50"}, "X-CSRF-Token", csrf).Expect(t, 200, "")
		if !hasPrefix(r.Str("url"), "https://checkout.stripe.com/") {
			t.Errorf("buy-credits = %s; want {url}", r.Body)
		}
		if f := e.Stripe.last(t, "/v1/checkout/sessions"); f.Get("metadata[credits_micro_usd]") != "50000000" {
			t.Errorf("buy-credits session metadata = %v; want 50 credits", f)
		}
	})
}

func TestStorageUpgrade(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		c, uid, csrf := e.user(t, "disk@example.com")
		c.Do("POST", "/api/stripe/storage-upgrade", nil).Expect(t, 403, "CSRF_REQUIRED")
		r := c.Do("POST", "/api/stripe/storage-upgrade", nil, "X-CSRF-Token", csrf).Expect(t, 200, "")
		if !hasPrefix(r.Str("url"), "https://checkout.stripe.com/") {
			t.Errorf("storage-upgrade = %s; want {url}", r.Body)
		}
		f := e.Stripe.last(t, "/v1/checkout/sessions")
		if f.Get("mode") != "subscription" || f.Get("line_items[0][price]") != "price_storage" ||
			f.Get("subscription_data[metadata][kind]") != "storage" || f.Get("client_reference_id") != uid {
			t.Errorf("storage session = %v; want a subscription to price_storage", f)
		}
	})
}

func TestBillingDisabledWithoutKey(t *testing.T) {
	e := newEnv(t, "sqlite", "", map[string]string{"STRIPE_WEBHOOK_SECRET": ""})
	c, _, csrf := e.user(t, "nokey@example.com")
	c.Do("GET", "/api/stripe/checkout?plan=solo", nil).Expect(t, 503, "BILLING_DISABLED")
	c.Do("GET", "/api/stripe/credits?price=price_pack10", nil).Expect(t, 503, "BILLING_DISABLED")
	c.Do("POST", "/api/stripe/storage-upgrade", nil, "X-CSRF-Token", csrf).Expect(t, 503, "BILLING_DISABLED")
	c.Do("POST", "/api/billing", map[string]any{"action": "create-checkout", "plan": "solo"}, "X-CSRF-Token", csrf).Expect(t, 503, "BILLING_DISABLED")
	c.Do("POST", "/api/billing", map[string]any{"action": "buy-credits", "pack": "price_pack10"}, "X-CSRF-Token", csrf).Expect(t, 503, "BILLING_DISABLED")
	e.Client(t).Do("POST", "/api/webhooks/stripe", "{}").Expect(t, 503, "BILLING_DISABLED")
	// Still a clear redirect for a bad plan, and plans, credits and BYOK work.
	if to := location(t, c.Do("GET", "/api/stripe/checkout?plan=gold", nil)); to != "/pricing?error=invalid_plan" {
		t.Errorf("invalid plan → %q", to)
	}
	r := c.Do("GET", "/api/billing", nil).Expect(t, 200, "")
	if r.JSON["billingAvailable"] != false || r.JSON["plans"].(map[string]any)["solo"].(map[string]any)["available"] != false {
		t.Errorf("GET /api/billing = %s; want billing unavailable", r.Body)
	}
	c.Do("POST", "/api/billing", map[string]any{"action": "enable-byok", "provider": "groq", "apiKey": "gsk_0123456789"},
		"X-CSRF-Token", csrf).Expect(t, 200, "")
}

func TestBillingActions(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		ctx := context.Background()
		c, uid, csrf := e.user(t, "actions@example.com")
		post := func(body any) *servertest.Response {
			return c.Do("POST", "/api/billing", body, "X-CSRF-Token", csrf)
		}

		r := c.Do("GET", "/api/billing", nil).Expect(t, 200, "")
		plans := r.JSON["plans"].(map[string]any)
		solo, network := plans["solo"].(map[string]any), plans["network"].(map[string]any)
		if solo["pricePence"] != float64(2900) || solo["price"] != float64(29) || solo["currency"] != "GBP" ||
			solo["agents"] != float64(1) || solo["skillsPerAgent"] != float64(3) || solo["a2aMessagesPerDay"] != float64(100) ||
			solo["modelTier"] != "small" || solo["available"] != true {
			t.Errorf("plans.solo = %v", solo)
		}
		if network["agents"] != nil || network["pricePence"] != float64(49900) || network["modelTier"] != "all" {
			t.Errorf("plans.network = %v; want unlimited (null) agents, 49900 pence", network)
		}
		if len(plans) != 4 || r.JSON["plan"] != nil || r.JSON["subscriptionStatus"] != nil || r.JSON["credits"] != float64(0) ||
			r.JSON["byok"].(map[string]any)["enabled"] != false || r.JSON["byokEnabled"] != false {
			t.Errorf("GET /api/billing = %s", r.Body)
		}
		packs := r.JSON["creditPacks"].([]any)
		if len(packs) != 2 || packs[0].(map[string]any)["price"] != "price_pack10" || packs[0].(map[string]any)["credits"] != float64(10) {
			t.Errorf("creditPacks = %v; want price_pack10 (10 credits) first", packs)
		}

		r = post(map[string]any{"action": "create-checkout", "plan": "collective"}).Expect(t, 200, "")
		if !hasPrefix(r.Str("url"), "https://checkout.stripe.com/") {
			t.Errorf("create-checkout = %s; want {url}", r.Body)
		}
		if f := e.Stripe.last(t, "/v1/checkout/sessions"); f.Get("line_items[0][price]") != "price_collective" || f.Get("currency") != "gbp" {
			t.Errorf("create-checkout session = %v", f)
		}
		post(map[string]any{"action": "create-checkout", "plan": "free"}).Expect(t, 400, "INVALID_PLAN")
		post(map[string]any{"action": "create-checkout"}).Expect(t, 400, "INVALID_PLAN")
		post(map[string]any{"action": "create-checkout", "plan": 3}).Expect(t, 400, "INVALID_FIELD_TYPE")
		post(map[string]any{"action": "refund-everything"}).Expect(t, 400, "INVALID_ACTION")
		post(map[string]any{}).Expect(t, 400, "INVALID_ACTION")
		post(map[string]any{"action": 7}).Expect(t, 400, "INVALID_FIELD_TYPE")
		post("[1,2]").Expect(t, 400, "INVALID_JSON")
		post("{").Expect(t, 400, "INVALID_JSON")
		c.Do("POST", "/api/billing", map[string]any{"action": "get-usage"}).Expect(t, 403, "CSRF_REQUIRED")
		e.Client(t).Do("POST", "/api/billing", map[string]any{"action": "get-usage"}).Expect(t, 401, "AUTH_REQUIRED")

		// Usage: this month's, by day and id, from the usage table.
		now := time.Now().UTC()
		month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		for _, ev := range []store.UsageEvent{
			{Target: "generate-text", Status: 200, PriceMicroUSD: 10_000, CreatedAt: month},
			{Target: "generate-text", Status: 200, PriceMicroUSD: 10_000, CreatedAt: month.Add(time.Minute)},
			{Target: "agent", Status: 200, PriceMicroUSD: 50_000, CreatedAt: month.Add(25 * time.Hour)},
			{Target: "agent", Status: 200, PriceMicroUSD: 50_000, CreatedAt: month.Add(-time.Hour)}, // last month
		} {
			if err := e.Store.RecordUsage(ctx, uid, ev); err != nil {
				t.Fatal(err)
			}
		}
		r = post(map[string]any{"action": "get-usage"}).Expect(t, 200, "")
		u := r.JSON["usage"].(map[string]any)
		if u["month"] != month.Format("2006-01") || u["calls"] != float64(3) || u["spendMicroUsd"] != float64(70_000) || u["spend"] != 0.07 {
			t.Errorf("get-usage = %s; want 3 calls, 70000 micro-USD this month", r.Body)
		}
		byDay := u["byDay"].([]any)
		if len(byDay) != 2 || byDay[0].(map[string]any)["target"] != "generate-text" || byDay[0].(map[string]any)["calls"] != float64(2) ||
			byDay[1].(map[string]any)["day"] != month.Add(25*time.Hour).Format(time.DateOnly) {
			t.Errorf("byDay = %v", byDay)
		}
		last := month.AddDate(0, -1, 0).Format("2006-01")
		r = post(map[string]any{"action": "get-usage", "month": last}).Expect(t, 200, "")
		if u := r.JSON["usage"].(map[string]any); u["calls"] != float64(1) || u["spendMicroUsd"] != float64(50_000) {
			t.Errorf("get-usage %s = %s; want last month's one call", last, r.Body)
		}
		for _, m := range []string{"2026-13", "May", "2026-5-1"} {
			post(map[string]any{"action": "get-usage", "month": m}).Expect(t, 400, "INVALID_MONTH")
		}
		r = c.Do("GET", "/api/billing", nil).Expect(t, 200, "")
		if u := r.JSON["usage"].(map[string]any); u["calls"] != float64(3) || u["spendMicroUsd"] != float64(70_000) {
			t.Errorf("GET /api/billing usage = %v; want this month's 3 calls", u)
		}
	})
}

// rawBYOK reads the stored row straight from the database, bypassing the store.
func rawBYOK(t *testing.T, e *env, userID string) (provider string, ciphertext []byte) {
	t.Helper()
	ctx := context.Background()
	if e.Store.Backend() == "postgres" {
		c, err := pgx.Connect(ctx, e.Config.DatabaseMigrateURL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if err := c.QueryRow(ctx, `SELECT provider, ciphertext FROM byok_keys WHERE user_id = $1`, userID).Scan(&provider, &ciphertext); err != nil {
			t.Fatal(err)
		}
		return provider, ciphertext
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.Config.DataDir, "agentbot.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, `SELECT provider, ciphertext FROM byok_keys WHERE user_id = ?`, userID).Scan(&provider, &ciphertext); err != nil {
		t.Fatal(err)
	}
	return provider, ciphertext
}

func TestBYOKSealedAtRest(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		c, uid, csrf := e.user(t, "byok@example.com")
		_, other, _ := e.user(t, "byok-other@example.com")
		post := func(body any) *servertest.Response {
			return c.Do("POST", "/api/billing", body, "X-CSRF-Token", csrf)
		}
		const key = "sk-proj-Secret0123456789abcdefXYZ"
		r := post(map[string]any{"action": "enable-byok", "provider": "OpenAI", "apiKey": key}).Expect(t, 200, "")
		if strings.Contains(string(r.Body), key) || r.Str("provider") != "openai" || r.JSON["success"] != true {
			t.Errorf("enable-byok = %s; want success for openai, never the key", r.Body)
		}
		if !e.forgot(uid) {
			t.Error("enable-byok did not drop the gateway's cached caller")
		}
		prov, sealed := rawBYOK(t, e, uid)
		if prov != "openai" || strings.Contains(string(sealed), key) || strings.Contains(string(sealed), key[8:20]) {
			t.Errorf("stored row = %q, %q; want openai and no plaintext", prov, sealed)
		}
		if got, err := e.Box.Open(sealed, secrets.BYOKLabel(uid, "openai")); err != nil || string(got) != key {
			t.Errorf("Open(sealed, the gateway's context) = %q, %v; want the key", got, err)
		}
		for _, ctxString := range []string{secrets.BYOKLabel(other, "openai"), secrets.BYOKLabel(uid, "anthropic")} {
			if _, err := e.Box.Open(sealed, ctxString); err == nil {
				t.Errorf("Open(sealed, %q) succeeded; a key must not move to another user or provider", ctxString)
			}
		}

		bad := []struct {
			body map[string]any
			code string
		}{
			{map[string]any{"action": "enable-byok", "provider": "openai"}, "VALIDATION_ERROR"},
			{map[string]any{"action": "enable-byok", "apiKey": key}, "VALIDATION_ERROR"},
			{map[string]any{"action": "enable-byok", "provider": "mistral", "apiKey": key}, "INVALID_PROVIDER"},
			{map[string]any{"action": "enable-byok", "provider": "openai", "apiKey": "short"}, "INVALID_API_KEY_FORMAT"},
			{map[string]any{"action": "enable-byok", "provider": "openai", "apiKey": "sk-with space-0123"}, "INVALID_API_KEY_FORMAT"},
			{map[string]any{"action": "enable-byok", "provider": "openai", "apiKey": "sk-ünïcödé-0123456"}, "INVALID_API_KEY_FORMAT"},
			{map[string]any{"action": "enable-byok", "provider": "openai", "apiKey": strings.Repeat("k", 513)}, "INVALID_API_KEY_FORMAT"},
			{map[string]any{"action": "enable-byok", "provider": "openai", "apiKey": 42}, "INVALID_FIELD_TYPE"},
			{map[string]any{"action": "disable-byok", "provider": "mistral"}, "INVALID_PROVIDER"},
		}
		for _, tc := range bad {
			r := post(tc.body).Expect(t, 400, tc.code)
			if k, _ := tc.body["apiKey"].(string); k != "" && strings.Contains(string(r.Body), k) {
				t.Errorf("error %s echoes the key", r.Body)
			}
		}
		// "google" is the seed docs' name for gemini.
		post(map[string]any{"action": "enable-byok", "provider": "google", "apiKey": "AIza-0123456789"}).Expect(t, 200, "")
		r = c.Do("GET", "/api/billing", nil).Expect(t, 200, "")
		if b := r.JSON["byok"].(map[string]any); b["enabled"] != true || strings.Join(toStrings(b["providers"]), ",") != "gemini,openai" {
			t.Errorf("byok = %v; want enabled with gemini, openai", b)
		}
		post(map[string]any{"action": "disable-byok", "provider": "openai"}).Expect(t, 200, "")
		r = c.Do("GET", "/api/billing", nil).Expect(t, 200, "")
		if b := r.JSON["byok"].(map[string]any); strings.Join(toStrings(b["providers"]), ",") != "gemini" {
			t.Errorf("after disabling openai, byok = %v; want gemini only", b)
		}
		post(map[string]any{"action": "disable-byok"}).Expect(t, 200, "")
		if r := c.Do("GET", "/api/billing", nil).Expect(t, 200, ""); r.JSON["byokEnabled"] != false {
			t.Errorf("after disabling all, %s; want byok disabled", r.Body)
		}
	})
}

func toStrings(v any) []string {
	var out []string
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &out)
	return out
}
