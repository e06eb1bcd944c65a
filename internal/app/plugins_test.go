package app

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/plugins/ai"
)

// The plans' model lists (AGENTBOT_PLANS) reach the AI plugin's configuration.
func TestAIConfigCarriesPlanModels(t *testing.T) {
	f := filepath.Join(t.TempDir(), "plans.json")
	if err := os.WriteFile(f, []byte(`{"solo":{"models":["gpt-4o"]},"label":{"modelTier":"small"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ac, err := aiConfig(&config.Config{Billing: config.BillingConfig{PlansFile: f}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ac.Plans["solo"]; !slices.Equal(got.Models, []string{"gpt-4o"}) {
		t.Errorf("solo = %+v; want models [gpt-4o]", got)
	}
	if got := ac.Plans["label"]; got.Tier != "small" || got.Models != nil {
		t.Errorf("label = %+v; want tier small", got)
	}
	if got := ac.Plans["network"]; got.Tier != "all" {
		t.Errorf("network = %+v; want the default tier all", got)
	}
	if err := os.WriteFile(f, []byte(`{"solo":{"modelTier":"huge"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := aiConfig(&config.Config{Billing: config.BillingConfig{PlansFile: f}}); err == nil {
		t.Error("a bad plans file was accepted")
	}
}

// The plans' request caps reach the AI plugin: each plan's, and the cheapest
// plan's for callers without an active plan.
func TestAIConfigCarriesPlanCaps(t *testing.T) {
	f := filepath.Join(t.TempDir(), "plans.json")
	if err := os.WriteFile(f, []byte(`{"solo":{"maxTokens":300,"maxPromptBytes":4000},"network":{"maxTokens":32000}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ac, err := aiConfig(&config.Config{Billing: config.BillingConfig{PlansFile: f}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ai.Limits{"solo": {MaxTokens: 300, MaxPromptBytes: 4000}, "collective": {MaxTokens: 2048, MaxPromptBytes: 32768},
		"label": {MaxTokens: 4096, MaxPromptBytes: 65536}, "network": {MaxTokens: 32000, MaxPromptBytes: 131072}}
	for plan, w := range want {
		if got := ac.Plans[plan].Limits; got != w {
			t.Errorf("%s caps = %+v; want %+v", plan, got, w)
		}
	}
	if ac.Limits != want["solo"] {
		t.Errorf("caps without a plan = %+v; want the cheapest plan's %+v", ac.Limits, want["solo"])
	}
}

// The AI plugin's built-in caps (used when it is configured by a plugin file
// rather than by the host) are the contract's plans' caps.
func TestAIDefaultCapsMatchThePlans(t *testing.T) {
	plans := billing.DefaultPlans()
	if len(ai.DefaultPlanLimits) != len(plans) {
		t.Errorf("ai.DefaultPlanLimits has %d plans; want %d", len(ai.DefaultPlanLimits), len(plans))
	}
	for _, p := range plans {
		want := ai.Limits{MaxTokens: p.MaxTokens, MaxPromptBytes: p.MaxPromptBytes}
		if got := ai.DefaultPlanLimits[p.Name]; got != want {
			t.Errorf("ai.DefaultPlanLimits[%q] = %+v; want %+v", p.Name, got, want)
		}
	}
	if cheapest := plans[0]; ai.DefaultLimits != (ai.Limits{MaxTokens: cheapest.MaxTokens, MaxPromptBytes: cheapest.MaxPromptBytes}) {
		t.Errorf("ai.DefaultLimits = %+v; want the cheapest plan's", ai.DefaultLimits)
	}
}

// The wallet plugin's seal key is derived from the master key: stable for one
// master key, different for another, never the master key itself.
func TestWalletConfigSealKey(t *testing.T) {
	mk := func(b byte) *config.Config {
		key := make([]byte, 32)
		for i := range key {
			key[i] = b
		}
		return &config.Config{MasterKey: key, Wallet: config.WalletConfig{USDC: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", Network: "base"}}
	}
	a, a2, b := walletConfig(mk(1)), walletConfig(mk(1)), walletConfig(mk(2))
	if len(a.SealKey) != 64 || a.SealKey != a2.SealKey || a.SealKey == b.SealKey {
		t.Errorf("seal keys %q, %q, %q; want 32 hex bytes, stable per master key", a.SealKey, a2.SealKey, b.SealKey)
	}
	if a.SealKey == "0101010101010101010101010101010101010101010101010101010101010101" {
		t.Error("the seal key is the master key")
	}
	if a.Backend != "local" || a.USDC == "" || a.Network != "base" {
		t.Errorf("walletConfig = %+v", a)
	}
}

// CDP_API_KEY_ID selects the cdp backend, with its credentials.
func TestWalletConfigCDP(t *testing.T) {
	cfg := &config.Config{MasterKey: make([]byte, 32), Wallet: config.WalletConfig{CDPAPIURL: "http://127.0.0.1:1/platform",
		CDPAPIKeyID: "k", CDPAPIKeySecret: "s", CDPWalletSecret: "w"}}
	if w := walletConfig(cfg); w.Backend != "cdp" || w.CDPAPIURL != "http://127.0.0.1:1/platform" || w.CDPAPIKeyID != "k" ||
		w.CDPAPIKeySecret != "s" || w.CDPWalletSecret != "w" {
		t.Errorf("walletConfig = %+v; want the cdp backend with its credentials", w)
	}
}
