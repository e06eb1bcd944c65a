package app

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/route"
	"github.com/julienschmidt/httprouter"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/plugins"
	"github.com/agentbot/gateway/plugins/ai"
	"github.com/agentbot/gateway/plugins/wallet"
)

// firstParty are the plugins `make build` puts in the plugin directory.
var firstParty = []string{"agentbot-ai", "agentbot-rendermcp", "agentbot-wallet"}

// pluginSpecs reads the operator's plugin file, or, without one, declares the
// first-party plugins found in the plugin directory. Those are our own build
// output, so their digest is taken from the file at start.
func pluginSpecs(cfg *config.Config, log *slog.Logger) ([]plugins.Spec, error) {
	if cfg.PluginsFile != "" {
		b, err := os.ReadFile(cfg.PluginsFile)
		if err != nil {
			return nil, fmt.Errorf("AGENTBOT_PLUGINS: %w", err)
		}
		var specs []plugins.Spec
		if err := json.Unmarshal(b, &specs); err != nil {
			return nil, fmt.Errorf("AGENTBOT_PLUGINS %s: %w", cfg.PluginsFile, err)
		}
		return specs, nil
	}
	var specs []plugins.Spec
	for _, name := range firstParty {
		path := filepath.Join(cfg.PluginDir, name)
		sum, err := fileSHA256(path)
		if err != nil {
			log.Warn("first-party plugin not found; run `make build`", "path", path)
			continue
		}
		abs, _ := filepath.Abs(path)
		spec := plugins.Spec{Name: name, Path: abs, SHA256: sum}
		switch name {
		case "agentbot-ai":
			var ac ai.Config
			if ac, err = aiConfig(cfg); err == nil {
				spec.Config, err = json.Marshal(ac)
			}
		case "agentbot-rendermcp":
			spec.Config, err = json.Marshal(map[string]any{"url": cfg.RenderMCPURL})
		case "agentbot-wallet":
			if len(cfg.MasterKey) == 0 {
				log.Warn("wallet plugin not started: AGENTBOT_MASTER_KEY is unset")
				continue
			}
			spec.Config, err = json.Marshal(walletConfig(cfg))
		}
		if err != nil {
			return nil, err
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// aiConfig is the AI plugin's configuration: its upstreams, model table,
// which models each plan may use and its request caps (from the plans'
// configuration).
func aiConfig(cfg *config.Config) (ai.Config, error) {
	c := cfg.AI
	out := ai.Config{Upstreams: map[string]ai.Upstream{
		"openai":     {BaseURL: c.OpenAIBaseURL, APIKey: c.OpenAIKey},
		"anthropic":  {BaseURL: c.AnthropicBaseURL, APIKey: c.AnthropicKey, Protocol: "anthropic"},
		"openrouter": {BaseURL: c.OpenRouterBaseURL, APIKey: c.OpenRouterKey},
		"groq":       {BaseURL: c.GroqBaseURL, APIKey: c.GroqKey},
		"gemini":     {BaseURL: c.GeminiBaseURL, APIKey: c.GeminiKey},
	}, DefaultModel: c.DefaultModel}
	if c.ModelsFile != "" {
		if b, err := os.ReadFile(c.ModelsFile); err == nil {
			_ = json.Unmarshal(b, &out.Models) // the plugin validates the table and reports problems
		}
	}
	plans, err := billing.LoadPlans(cfg.Billing)
	if err != nil {
		return out, err
	}
	out.Plans = map[string]ai.PlanModels{}
	for _, p := range plans.All() {
		out.Plans[p.Name] = ai.PlanModels{Tier: p.ModelTier, Models: p.Models,
			Limits: ai.Limits{MaxTokens: p.MaxTokens, MaxPromptBytes: p.MaxPromptBytes}}
	}
	// Callers without an active plan (credits, machine payments) get the
	// cheapest plan's caps.
	cheapest := plans.All()[0]
	out.Limits = ai.Limits{MaxTokens: cheapest.MaxTokens, MaxPromptBytes: cheapest.MaxPromptBytes}
	return out, nil
}

// walletConfig is the wallet plugin's configuration. Its seal key is derived
// from the master key (HKDF-SHA256, its own label), so that the plugin never
// holds the key that seals the gateway's other secrets, and the database
// never holds a key that opens a wallet.
func walletConfig(cfg *config.Config) wallet.Config {
	seal, err := hkdf.Key(sha256.New, cfg.MasterKey, nil, "agentbot wallet seal v1", 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce
	}
	w := cfg.Wallet
	out := wallet.Config{Backend: "local", SealKey: hex.EncodeToString(seal), RPCURL: cfg.EVM.RPCURL,
		RPCTimeout: cfg.EVM.RPCTimeout.String(), USDC: w.USDC, Network: w.Network}
	if w.CDPAPIKeyID != "" {
		out.Backend, out.CDPAPIURL, out.CDPAPIKeyID = "cdp", w.CDPAPIURL, w.CDPAPIKeyID
		out.CDPAPIKeySecret, out.CDPWalletSecret = w.CDPAPIKeySecret, w.CDPWalletSecret
	}
	return out
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// pluginsStatus is GET /api/admin/plugins's answer.
type pluginsStatus struct {
	Plugins []plugins.Status `json:"plugins"`
}

// adminPluginRoutes serves the plugins' state to admins (`agentbot plugins
// status`).
func adminPluginRoutes(host *plugins.Host) []route.Route {
	return []route.Route{{Method: http.MethodGet, Path: "/api/admin/plugins", Access: route.Admin,
		Response: pluginsStatus{Plugins: []plugins.Status{{Name: "ai", Up: true, Pid: 4242, Breaker: "closed"}}},
		Handler: func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
			api.OK(w, pluginsStatus{Plugins: host.Status()})
			return nil
		},
		Summary: "`{plugins[{name, up, pid, restarts, breaker, error}]}`: each provider plugin's process state (admins)"}}
}
