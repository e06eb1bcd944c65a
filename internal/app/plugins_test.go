package app

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/agentbot/gateway/core/config"
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
