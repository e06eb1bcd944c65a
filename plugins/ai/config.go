package ai

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Config is the AI provider's configuration, sent by the gateway with Configure.
type Config struct {
	// Upstreams by provider name: openai, anthropic, openrouter, groq, gemini,
	// or any other name speaking the OpenAI protocol (a local server).
	Upstreams map[string]Upstream `json:"upstreams"`
	// Models replaces the default model table when set.
	Models       []Model `json:"models,omitempty"`
	DefaultModel string  `json:"defaultModel,omitempty"`
	// SystemPrompt is the "agent" id's default system prompt.
	SystemPrompt string `json:"systemPrompt,omitempty"`
	// Plans overrides which models each plan may use (the host's plan
	// configuration); plans not listed keep the contract's tiers.
	Plans map[string]PlanModels `json:"plans,omitempty"`
}

// PlanModels is what one plan may use: the model ids listed, or else every
// model of its tier and below (small, mid, large, or all).
type PlanModels struct {
	Tier   string   `json:"tier,omitempty"`
	Models []string `json:"models,omitempty"`
}

// Upstream is one provider's endpoint.
type Upstream struct {
	BaseURL string `json:"baseUrl"`
	APIKey  string `json:"apiKey,omitempty"`
	// Protocol is "openai" (default) or "anthropic".
	Protocol string `json:"protocol,omitempty"`
}

const defaultSystemPrompt = "You are Agentbot, a helpful assistant for independent music businesses. Be concise and accurate."

// DefaultConfig has the providers' public endpoints and no keys.
func DefaultConfig() Config {
	return Config{
		Upstreams: map[string]Upstream{
			"openai":     {BaseURL: "https://api.openai.com/v1"},
			"anthropic":  {BaseURL: "https://api.anthropic.com/v1", Protocol: "anthropic"},
			"openrouter": {BaseURL: "https://openrouter.ai/api/v1"},
			"groq":       {BaseURL: "https://api.groq.com/openai/v1"},
			"gemini":     {BaseURL: "https://generativelanguage.googleapis.com/v1beta/openai"},
		},
		Models:       DefaultModels(),
		DefaultModel: "gpt-4o-mini",
		SystemPrompt: defaultSystemPrompt,
	}
}

// parseConfig reads a configuration over the defaults and validates it.
func parseConfig(raw json.RawMessage) (Config, error) {
	cfg := DefaultConfig()
	if len(raw) > 0 {
		var in Config
		if err := json.Unmarshal(raw, &in); err != nil {
			return cfg, fmt.Errorf("config is not valid JSON: %v", err)
		}
		for name, u := range in.Upstreams {
			base := cfg.Upstreams[name]
			if u.BaseURL != "" {
				base.BaseURL = u.BaseURL
			}
			if u.APIKey != "" {
				base.APIKey = u.APIKey
			}
			if u.Protocol != "" {
				base.Protocol = u.Protocol
			}
			cfg.Upstreams[name] = base
		}
		if len(in.Models) > 0 {
			cfg.Models = in.Models
		}
		if in.DefaultModel != "" {
			cfg.DefaultModel = in.DefaultModel
		}
		if in.SystemPrompt != "" {
			cfg.SystemPrompt = in.SystemPrompt
		}
		cfg.Plans = map[string]PlanModels{}
		for name, pm := range in.Plans {
			if pm.Tier != "" && pm.Tier != "all" && tierRank[pm.Tier] == 0 {
				return cfg, fmt.Errorf("plan %q: tier must be small, mid, large or all", name)
			}
			cfg.Plans[strings.ToLower(name)] = pm
		}
	}
	for name, u := range cfg.Upstreams {
		if pu, err := url.Parse(u.BaseURL); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return cfg, fmt.Errorf("upstream %q: baseUrl %q must be an absolute http(s) URL", name, u.BaseURL)
		}
		if u.Protocol != "" && u.Protocol != "openai" && u.Protocol != "anthropic" {
			return cfg, fmt.Errorf("upstream %q: protocol must be openai or anthropic", name)
		}
	}
	if err := validateModels(cfg.Models, cfg.Upstreams); err != nil {
		return cfg, err
	}
	found := false
	for _, m := range cfg.Models {
		found = found || m.ID == cfg.DefaultModel
	}
	if !found {
		return cfg, fmt.Errorf("defaultModel %q is not in the model table", cfg.DefaultModel)
	}
	return cfg, nil
}
