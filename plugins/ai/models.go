package ai

import (
	"fmt"
	"slices"
	"strings"
)

// Model is one entry of the model table. Prices are micro-USD per 1,000 tokens.
type Model struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Provider      string   `json:"provider"`
	Description   string   `json:"description"`
	ContextWindow int      `json:"contextWindow"`
	InputPer1K    int64    `json:"inputPer1kMicroUsd"`
	OutputPer1K   int64    `json:"outputPer1kMicroUsd"`
	Tags          []string `json:"tags"`
	// Tier is the smallest plan tier that may use the model: small, mid or large.
	Tier string `json:"tier"`
	// Upstream is the model name sent to the provider; ID when empty.
	Upstream string `json:"upstream,omitempty"`
}

func (m Model) upstreamName() string {
	if m.Upstream != "" {
		return m.Upstream
	}
	return m.ID
}

// Cost is the price of a call in micro-USD, rounded up to a whole micro-dollar.
func (m Model) Cost(in, out int64) int64 {
	total := in*m.InputPer1K + out*m.OutputPer1K
	return (total + 999) / 1000
}

// DefaultModels is the model table used when the operator gives none. Prices
// are the providers' public list prices per 1k tokens, in micro-USD.
func DefaultModels() []Model {
	return []Model{
		{ID: "gpt-4o-mini", Name: "GPT-4o mini", Provider: "openai", Description: "Fast, inexpensive general model",
			ContextWindow: 128000, InputPer1K: 150, OutputPer1K: 600, Tags: []string{"general", "fast", "cheap"}, Tier: "small"},
		{ID: "gemini-2.0-flash", Name: "Gemini 2.0 Flash", Provider: "gemini", Description: "Google's fast multimodal model",
			ContextWindow: 1000000, InputPer1K: 100, OutputPer1K: 400, Tags: []string{"general", "fast", "long-context"}, Tier: "small"},
		{ID: "llama-3.3-70b-versatile", Name: "Llama 3.3 70B (Groq)", Provider: "groq", Description: "Open model on Groq's low-latency hardware",
			ContextWindow: 128000, InputPer1K: 590, OutputPer1K: 790, Tags: []string{"general", "fast"}, Tier: "small"},
		{ID: "gpt-4o", Name: "GPT-4o", Provider: "openai", Description: "OpenAI's flagship multimodal model",
			ContextWindow: 128000, InputPer1K: 2500, OutputPer1K: 10000, Tags: []string{"general", "reasoning", "creative"}, Tier: "mid"},
		{ID: "claude-3-5-sonnet", Name: "Claude 3.5 Sonnet", Provider: "anthropic", Upstream: "claude-3-5-sonnet-latest",
			Description: "Anthropic's balanced model, strong at code", ContextWindow: 200000, InputPer1K: 3000, OutputPer1K: 15000,
			Tags: []string{"code", "reasoning", "writing"}, Tier: "mid"},
		{ID: "gpt-4-turbo", Name: "GPT-4 Turbo", Provider: "openai", Description: "Large OpenAI model",
			ContextWindow: 128000, InputPer1K: 10000, OutputPer1K: 30000, Tags: []string{"reasoning", "code"}, Tier: "large"},
		{ID: "claude-3-opus", Name: "Claude 3 Opus", Provider: "anthropic", Upstream: "claude-3-opus-latest",
			Description: "Anthropic's largest model", ContextWindow: 200000, InputPer1K: 15000, OutputPer1K: 75000,
			Tags: []string{"reasoning", "writing", "analysis"}, Tier: "large"},
		{ID: "openrouter/auto", Name: "OpenRouter Auto", Provider: "openrouter", Description: "OpenRouter picks a model for the prompt",
			ContextWindow: 128000, InputPer1K: 3000, OutputPer1K: 15000, Tags: []string{"general"}, Tier: "network"},
	}
}

// tierRank orders plan tiers; a plan may use models of its rank or lower.
var tierRank = map[string]int{"small": 1, "mid": 2, "large": 3, "network": 4}

// planRank maps plans to the highest tier they may use (the plans' model lists, README Billing). A caller
// without a plan (paying per call) gets the smallest models.
var planRank = map[string]int{"": 1, "free": 1, "solo": 1, "collective": 2, "label": 3, "network": 4}

func validateModels(ms []Model, providers map[string]Upstream) error {
	seen := map[string]bool{}
	for _, m := range ms {
		switch {
		case m.ID == "":
			return fmt.Errorf("a model has no id")
		case seen[m.ID]:
			return fmt.Errorf("model %q is listed twice", m.ID)
		case tierRank[m.Tier] == 0:
			return fmt.Errorf("model %q: tier must be small, mid, large or network", m.ID)
		case m.InputPer1K < 0 || m.OutputPer1K < 0:
			return fmt.Errorf("model %q: prices must not be negative", m.ID)
		}
		if _, ok := providers[m.Provider]; !ok {
			return fmt.Errorf("model %q: unknown provider %q", m.ID, m.Provider)
		}
		seen[m.ID] = true
	}
	return nil
}

// allowed lists the models a caller may use.
func (p *Provider) allowed(plan string, admin bool) []string {
	cfg := p.cfg()
	plan = strings.ToLower(plan)
	rank := planRank[plan]
	var only []string
	if pm, ok := cfg.Plans[plan]; ok {
		if len(pm.Models) > 0 {
			only = pm.Models
		} else if r := tierRank[pm.Tier]; r > 0 {
			rank = r
		} else if pm.Tier == "all" {
			rank = tierRank["network"]
		}
	}
	if rank == 0 {
		rank = 1
	}
	var out []string
	for _, m := range cfg.Models {
		switch {
		case admin, only == nil && tierRank[m.Tier] <= rank, only != nil && slices.Contains(only, m.ID):
			out = append(out, m.ID)
		}
	}
	return out
}

func (p *Provider) model(id string) (Model, bool) {
	for _, m := range p.cfg().Models {
		if m.ID == id {
			return m, true
		}
	}
	return Model{}, false
}

// selectModel picks the first model tagged for taskType among those allowed,
// falling back to the default model, then to the first allowed one.
func (p *Provider) selectModel(taskType string, allowed []string) (Model, bool) {
	cfg := p.cfg()
	tag := taskTags[strings.ToLower(taskType)]
	if tag == "" {
		tag = "general"
	}
	for _, m := range cfg.Models {
		if slices.Contains(allowed, m.ID) && slices.Contains(m.Tags, tag) {
			return m, true
		}
	}
	if m, ok := p.model(cfg.DefaultModel); ok && slices.Contains(allowed, m.ID) {
		return m, true
	}
	for _, m := range cfg.Models {
		if slices.Contains(allowed, m.ID) {
			return m, true
		}
	}
	return Model{}, false
}

var taskTags = map[string]string{
	"general": "general", "chat": "general", "fast": "fast", "quick": "fast",
	"code": "code", "coding": "code", "reasoning": "reasoning", "analysis": "reasoning",
	"creative": "creative", "writing": "writing", "long-context": "long-context",
}
