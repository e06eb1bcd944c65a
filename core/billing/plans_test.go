package billing

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/config"
)

func TestDefaultPlans(t *testing.T) {
	ps, err := LoadPlans(config.BillingConfig{PlanPrices: map[string]string{"solo": "price_solo"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name                string
		pence               int64
		agents, skills, a2a Limit
		tier                string
		stripePrice         string
		maxTokens, maxBytes int
	}{
		{"solo", 2900, 1, 3, 100, "small", "price_solo", 1024, 16384},
		{"collective", 6900, 3, 10, 500, "mid", "", 2048, 32768},
		{"label", 14900, 10, 25, 2000, "large", "", 4096, 65536},
		{"network", 49900, Unlimited, 100, 10000, "all", "", 8192, 131072},
	}
	all := ps.All()
	if len(all) != len(want) {
		t.Fatalf("All() = %d plans; want %d", len(all), len(want))
	}
	for i, w := range want {
		p, ok := ps.Get(w.name)
		if !ok || all[i].Name != w.name || p.PricePence != w.pence || p.Agents != w.agents || p.SkillsPerAgent != w.skills ||
			p.A2AMessagesPerDay != w.a2a || p.ModelTier != w.tier || p.StripePrice != w.stripePrice ||
			p.MaxTokens != w.maxTokens || p.MaxPromptBytes != w.maxBytes {
			t.Errorf("Get(%q) = %+v, %v; want %+v (position %d)", w.name, p, ok, w, i)
		}
		if got := ps.Rank(w.name); got != i+1 {
			t.Errorf("Rank(%q) = %d; want %d", w.name, got, i+1)
		}
	}
	if p, ok := ps.Get(" Solo "); !ok || p.Name != "solo" {
		t.Errorf("Get(%q) = %v, %v; want solo (case and space insensitive)", " Solo ", p.Name, ok)
	}
	for _, name := range []string{"", "free", "starter", "pro"} {
		if _, ok := ps.Get(name); ok {
			t.Errorf("Get(%q) found a plan; want none (there is no free plan)", name)
		}
	}
	if p, ok := ps.ByStripePrice("price_solo"); !ok || p.Name != "solo" {
		t.Errorf("ByStripePrice(price_solo) = %v, %v; want solo", p.Name, ok)
	}
	if _, ok := ps.ByStripePrice(""); ok {
		t.Error("ByStripePrice(\"\") matched a plan without a price")
	}
}

func writePlans(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plans.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadPlansOverrides(t *testing.T) {
	path := writePlans(t, `{"solo": {"pricePence": 3500, "agents": 2, "models": ["gpt-4o-mini"]},
		"label": {"agents": "unlimited", "modelTier": "all", "maxTokens": 16000, "maxPromptBytes": 200000}}`)
	ps, err := LoadPlans(config.BillingConfig{PlansFile: path})
	if err != nil {
		t.Fatal(err)
	}
	solo, _ := ps.Get("solo")
	if solo.PricePence != 3500 || solo.Agents != 2 || solo.SkillsPerAgent != 3 || solo.ModelTier != "small" ||
		len(solo.Models) != 1 || solo.Models[0] != "gpt-4o-mini" {
		t.Errorf("solo = %+v; want price 3500, 2 agents, the rest default, models [gpt-4o-mini]", solo)
	}
	label, _ := ps.Get("label")
	if label.Agents != Unlimited || label.ModelTier != "all" || label.PricePence != 14900 || label.MaxTokens != 16000 ||
		label.MaxPromptBytes != 200000 {
		t.Errorf("label = %+v; want unlimited agents, tier all, default price, caps 16000 tokens and 200000 bytes", label)
	}
	if solo.MaxTokens != 1024 || solo.MaxPromptBytes != 16384 {
		t.Errorf("solo caps = %d, %d; want the defaults", solo.MaxTokens, solo.MaxPromptBytes)
	}
	if c, _ := ps.Get("collective"); c.PricePence != 6900 {
		t.Errorf("collective = %+v; want the default", c)
	}
}

func TestLoadPlansErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not json", `{`, "JSON object keyed by plan name"},
		{"array", `[]`, "JSON object keyed by plan name"},
		{"unknown plan", `{"free": {"pricePence": 0}}`, `unknown plan "free"`},
		{"unknown field", `{"solo": {"price": 29}}`, `plan "solo": json: unknown field "price"`},
		{"zero price", `{"solo": {"pricePence": 0}}`, "pricePence must be a positive number of pence"},
		{"negative price", `{"solo": {"pricePence": -100}}`, "pricePence must be a positive"},
		{"fractional price", `{"solo": {"pricePence": 29.5}}`, `plan "solo"`},
		{"zero agents", `{"solo": {"agents": 0}}`, `must be a positive integer or "unlimited"`},
		{"bad limit word", `{"solo": {"skillsPerAgent": "lots"}}`, `must be a positive integer or "unlimited"`},
		{"bad tier", `{"solo": {"modelTier": "huge"}}`, `modelTier "huge" must be one of small, mid, large, all`},
		{"empty model", `{"solo": {"models": [""]}}`, "models must not contain empty ids"},
		{"zero max tokens", `{"solo": {"maxTokens": 0}}`, "maxTokens must be an integer from 1 to 1000000"},
		{"max tokens too high", `{"solo": {"maxTokens": 1000001}}`, "maxTokens must be an integer from 1 to 1000000"},
		{"unlimited max tokens", `{"solo": {"maxTokens": "unlimited"}}`, `plan "solo"`},
		{"negative prompt bytes", `{"network": {"maxPromptBytes": -1}}`, "maxPromptBytes must be an integer from 1 to 1048576"},
		{"prompt bytes too high", `{"network": {"maxPromptBytes": 1048577}}`, "maxPromptBytes must be an integer from 1 to 1048576"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writePlans(t, tc.body)
			_, err := LoadPlans(config.BillingConfig{PlansFile: path})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "AGENTBOT_PLANS") {
				t.Errorf("LoadPlans(%s) = %v; want an AGENTBOT_PLANS error containing %q", tc.body, err, tc.want)
			}
		})
	}
	_, err := LoadPlans(config.BillingConfig{PlansFile: filepath.Join(t.TempDir(), "missing.json")})
	if err == nil || !strings.Contains(err.Error(), "AGENTBOT_PLANS") {
		t.Errorf("LoadPlans(missing file) = %v; want an AGENTBOT_PLANS error", err)
	}
}

func TestLimitJSON(t *testing.T) {
	b, _ := json.Marshal(map[string]Limit{"a": 3, "b": Unlimited})
	if string(b) != `{"a":3,"b":null}` {
		t.Errorf("Marshal = %s; want unlimited as null", b)
	}
	var l Limit
	if err := json.Unmarshal([]byte(`"unlimited"`), &l); err != nil || l != Unlimited {
		t.Errorf(`Unmarshal("unlimited") = %v, %v`, l, err)
	}
	if !Unlimited.Allows(1 << 60) {
		t.Error("Unlimited refused")
	}
	if Limit(3).Allows(3) || !Limit(3).Allows(2) {
		t.Error("Limit(3) must allow a 3rd (2 in use) and refuse a 4th (3 in use)")
	}
}

func mustPlans(t *testing.T) *Plans {
	t.Helper()
	ps, err := LoadPlans(config.BillingConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// render runs err through the one error renderer, as a handler would.
func render(t *testing.T, err error) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	api.WriteError(rec, "", api.AsError(err))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return rec.Code, body
}

func TestCheckRules(t *testing.T) {
	ps := mustPlans(t)
	tests := []struct {
		name    string
		acct    Account
		r       Resource
		current int64
		status  int    // 0: allowed
		message string // of the error
	}{
		{"no plan", Account{}, Agents, 0, 402, "A paid plan is required"},
		{"free plan", Account{Plan: "free", SubscriptionStatus: "active"}, Agents, 0, 402, "A paid plan is required"},
		{"inactive", Account{Plan: "solo", SubscriptionStatus: "past_due"}, Agents, 0, 402, "not active"},
		{"canceled", Account{Plan: "collective", SubscriptionStatus: "canceled"}, SkillsPerAgent, 0, 402, "not active"},
		{"first agent", Account{Plan: "solo", SubscriptionStatus: "active"}, Agents, 0, 0, ""},
		{"second agent on solo", Account{Plan: "solo", SubscriptionStatus: "active"}, Agents, 1, 429, "Agent limit reached for solo tier"},
		{"third agent on collective", Account{Plan: "collective", SubscriptionStatus: "active"}, Agents, 2, 0, ""},
		{"fourth agent on collective", Account{Plan: "collective", SubscriptionStatus: "active"}, Agents, 3, 429, "Agent limit reached for collective tier"},
		{"network is unlimited", Account{Plan: "network", SubscriptionStatus: "active"}, Agents, 1_000_000, 0, ""},
		{"skills on solo", Account{Plan: "solo", SubscriptionStatus: "active"}, SkillsPerAgent, 3, 429, "Skill limit reached for solo tier"},
		{"messages on label", Account{Plan: "label", SubscriptionStatus: "active"}, A2AMessagesPerDay, 2000, 429, "Message limit reached for label tier"},
		{"admin without plan", Account{Admin: true}, Agents, 500, 0, ""},
		{"admin over limit", Account{Admin: true, Plan: "solo", SubscriptionStatus: "canceled"}, Agents, 9, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ps.Check(tc.acct, tc.r, tc.current)
			if tc.status == 0 {
				if err != nil {
					t.Errorf("Check(%+v, %d) = %v; want allowed", tc.acct, tc.current, err)
				}
				return
			}
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Status != tc.status || !strings.Contains(ae.Message, tc.message) {
				t.Fatalf("Check(%+v, %d) = %v; want %d %q", tc.acct, tc.current, err, tc.status, tc.message)
			}
		})
	}

	status, body := render(t, ps.Check(Account{Plan: "solo", SubscriptionStatus: "active"}, Agents, 1))
	if status != 429 || body["error"] != "Agent limit reached for solo tier" || body["code"] != "TIER_LIMIT" ||
		body["current"] != float64(1) || body["limit"] != float64(1) {
		t.Errorf("rendered tier limit = %d %v; want 429 {error, code TIER_LIMIT, current 1, limit 1}", status, body)
	}
	status, body = render(t, ps.Check(Account{Plan: "free"}, Agents, 0))
	if status != 402 || body["code"] != "PAYMENT_REQUIRED" {
		t.Errorf("rendered no plan = %d %v; want 402 PAYMENT_REQUIRED", status, body)
	}
}

func TestEntitled(t *testing.T) {
	ps := mustPlans(t)
	if p, err := ps.Entitled(Account{Plan: "label", SubscriptionStatus: "active"}); err != nil || p.Name != "label" {
		t.Errorf("Entitled(label active) = %v, %v; want label", p.Name, err)
	}
	if p, err := ps.Entitled(Account{Admin: true}); err != nil || p.Name != "network" {
		t.Errorf("Entitled(admin, no plan) = %v, %v; want network", p.Name, err)
	}
	if p, err := ps.Entitled(Account{Admin: true, Plan: "solo"}); err != nil || p.Name != "solo" {
		t.Errorf("Entitled(admin on solo) = %v, %v; want solo", p.Name, err)
	}
}
