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
	// Plans overrides which models each plan may use and its request caps
	// (the host's plan configuration); plans not listed keep the contract's
	// tiers and caps.
	Plans map[string]PlanModels `json:"plans,omitempty"`
	// Limits caps the chat requests of callers without an active plan
	// (paying with credits or per call) and of plans that set no caps of
	// their own; the host sends its cheapest plan's.
	Limits Limits `json:"limits"`
}

// PlanModels is what one plan may use: the model ids listed, or else every
// model of its tier and below (small, mid, large, or all); and how large its
// requests may be (zero fields: the contract's for the plan).
type PlanModels struct {
	Tier   string   `json:"tier,omitempty"`
	Models []string `json:"models,omitempty"`
	Limits
}

// Limits caps one chat request, whose price is flat: MaxTokens is the most
// output tokens it may ask for (and what a request that names none gets),
// MaxPromptBytes the most message text (UTF-8 bytes, the operator's agent
// system prompt not counted).
type Limits struct {
	MaxTokens      int `json:"maxTokens,omitempty"`
	MaxPromptBytes int `json:"maxPromptBytes,omitempty"`
}

// DefaultLimits are the contract's cheapest plan's caps (solo).
var DefaultLimits = Limits{MaxTokens: 1024, MaxPromptBytes: 16 << 10}

// DefaultPlanLimits are the contract's plans' caps (the host's defaults, in
// core/billing), for a plan the configuration does not list.
var DefaultPlanLimits = map[string]Limits{
	"solo":       DefaultLimits,
	"collective": {MaxTokens: 2048, MaxPromptBytes: 32 << 10},
	"label":      {MaxTokens: 4096, MaxPromptBytes: 64 << 10},
	"network":    {MaxTokens: 8192, MaxPromptBytes: 128 << 10},
}

func (l Limits) validate() error {
	if l.MaxTokens < 0 || l.MaxTokens > maxTokensCeiling || l.MaxPromptBytes < 0 {
		return fmt.Errorf("maxTokens must be from 1 to %d and maxPromptBytes positive", maxTokensCeiling)
	}
	return nil
}

// or fills l's unset caps from d.
func (l Limits) or(d Limits) Limits {
	if l.MaxTokens == 0 {
		l.MaxTokens = d.MaxTokens
	}
	if l.MaxPromptBytes == 0 {
		l.MaxPromptBytes = d.MaxPromptBytes
	}
	return l
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
		Limits:       DefaultLimits,
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
		if err := in.Limits.validate(); err != nil {
			return cfg, fmt.Errorf("limits: %v", err)
		}
		cfg.Limits = in.Limits.or(cfg.Limits)
		cfg.Plans = map[string]PlanModels{}
		for name, pm := range in.Plans {
			if pm.Tier != "" && pm.Tier != "all" && tierRank[pm.Tier] == 0 {
				return cfg, fmt.Errorf("plan %q: tier must be small, mid, large or all", name)
			}
			if err := pm.Limits.validate(); err != nil {
				return cfg, fmt.Errorf("plan %q: %v", name, err)
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
