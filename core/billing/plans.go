package billing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/agentbot/gateway/core/config"
)

// Currency is the currency plans are priced and sold in.
const Currency = "gbp"

// Limit is a plan's allowance of something; Unlimited allows any number.
type Limit int64

// Unlimited is the Limit of a plan without a cap.
const Unlimited Limit = -1

// Allows reports whether one more is allowed when current are in use.
func (l Limit) Allows(current int64) bool { return l == Unlimited || current < int64(l) }

// MarshalJSON renders Unlimited as null.
func (l Limit) MarshalJSON() ([]byte, error) {
	if l == Unlimited {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, int64(l), 10), nil
}

// UnmarshalJSON accepts a positive integer or "unlimited".
func (l *Limit) UnmarshalJSON(b []byte) error {
	if string(b) == `"unlimited"` {
		*l = Unlimited
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf(`must be a positive integer or "unlimited", got %s`, b)
	}
	*l = Limit(n)
	return nil
}

// Model tiers, smallest first: a plan may use models of its tier and below
// (the AI provider's model table gives each model its tier); "all" is every
// model.
var ModelTiers = []string{"small", "mid", "large", "all"}

// Plan is one subscription plan.
type Plan struct {
	Name string `json:"name"`
	// PricePence is the monthly price in pence (GBP minor units).
	PricePence        int64 `json:"pricePence"`
	Agents            Limit `json:"agents"`
	SkillsPerAgent    Limit `json:"skillsPerAgent"`
	A2AMessagesPerDay Limit `json:"a2aMessagesPerDay"`
	// ModelTier is the largest model tier the plan may use.
	ModelTier string `json:"modelTier"`
	// Models, when set, lists the model ids the plan may use instead of the tier.
	Models []string `json:"models,omitempty"`
	// MaxTokens caps the output tokens one chat request may ask for (and is
	// what a request that names none gets); MaxPromptBytes caps its prompt
	// text. A call's price is flat, so what it buys must be bounded; callers
	// without an active plan (credits, machine payments) get the cheapest
	// plan's caps.
	MaxTokens      int `json:"maxTokens"`
	MaxPromptBytes int `json:"maxPromptBytes"`
	// StripePrice is the Stripe price id (STRIPE_PRICE_<PLAN>); "" when unset.
	StripePrice string `json:"-"`
}

// DefaultPlans are the published plans (README, Billing), cheapest first.
func DefaultPlans() []Plan {
	return []Plan{
		{Name: "solo", PricePence: 2900, Agents: 1, SkillsPerAgent: 3, A2AMessagesPerDay: 100, ModelTier: "small",
			MaxTokens: 1024, MaxPromptBytes: 16 << 10},
		{Name: "collective", PricePence: 6900, Agents: 3, SkillsPerAgent: 10, A2AMessagesPerDay: 500, ModelTier: "mid",
			MaxTokens: 2048, MaxPromptBytes: 32 << 10},
		{Name: "label", PricePence: 14900, Agents: 10, SkillsPerAgent: 25, A2AMessagesPerDay: 2000, ModelTier: "large",
			MaxTokens: 4096, MaxPromptBytes: 64 << 10},
		{Name: "network", PricePence: 49900, Agents: Unlimited, SkillsPerAgent: 100, A2AMessagesPerDay: 10000, ModelTier: "all",
			MaxTokens: 8192, MaxPromptBytes: 128 << 10},
	}
}

// Plans is the configured set of plans. It is immutable after LoadPlans.
type Plans struct {
	list []Plan // cheapest first: the order of config.Plans
}

// NewPlans validates plans (at least one, unique known names, positive
// prices, known tiers) and orders them as config.Plans does.
func NewPlans(plans []Plan) (*Plans, error) {
	if len(plans) == 0 {
		return nil, errors.New("no plans")
	}
	seen := map[string]bool{}
	for _, p := range plans {
		if !slices.Contains(config.Plans, p.Name) {
			return nil, fmt.Errorf("unknown plan %q (plans are %s)", p.Name, strings.Join(config.Plans, ", "))
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("plan %q is listed twice", p.Name)
		}
		seen[p.Name] = true
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("plan %q: %w", p.Name, err)
		}
	}
	out := slices.Clone(plans)
	slices.SortFunc(out, func(a, b Plan) int {
		return slices.Index(config.Plans, a.Name) - slices.Index(config.Plans, b.Name)
	})
	return &Plans{list: out}, nil
}

func (p Plan) validate() error {
	switch {
	case p.PricePence <= 0:
		return errors.New("pricePence must be a positive number of pence (there is no free plan)")
	case p.Agents == 0 || p.Agents < Unlimited:
		return errors.New(`agents must be a positive integer or "unlimited"`)
	case p.SkillsPerAgent == 0 || p.SkillsPerAgent < Unlimited:
		return errors.New(`skillsPerAgent must be a positive integer or "unlimited"`)
	case p.A2AMessagesPerDay == 0 || p.A2AMessagesPerDay < Unlimited:
		return errors.New(`a2aMessagesPerDay must be a positive integer or "unlimited"`)
	case !slices.Contains(ModelTiers, p.ModelTier):
		return fmt.Errorf("modelTier %q must be one of %s", p.ModelTier, strings.Join(ModelTiers, ", "))
	case p.MaxTokens < 1 || p.MaxTokens > MaxTokensCeiling:
		return fmt.Errorf("maxTokens must be an integer from 1 to %d", MaxTokensCeiling)
	case p.MaxPromptBytes < 1 || p.MaxPromptBytes > MaxPromptBytesCeiling:
		return fmt.Errorf("maxPromptBytes must be an integer from 1 to %d", MaxPromptBytesCeiling)
	}
	for _, m := range p.Models {
		if strings.TrimSpace(m) == "" {
			return errors.New("models must not contain empty ids")
		}
	}
	return nil
}

// The largest caps a plan may set: the most output tokens the AI provider
// accepts in a request, and the request body limit (1 MiB).
const (
	MaxTokensCeiling      = 1_000_000
	MaxPromptBytesCeiling = 1 << 20
)

// planOverride is one plan's entry in the AGENTBOT_PLANS file: every field is
// optional and replaces the default's.
type planOverride struct {
	PricePence        *int64    `json:"pricePence"`
	Agents            *Limit    `json:"agents"`
	SkillsPerAgent    *Limit    `json:"skillsPerAgent"`
	A2AMessagesPerDay *Limit    `json:"a2aMessagesPerDay"`
	ModelTier         *string   `json:"modelTier"`
	Models            *[]string `json:"models"`
	MaxTokens         *int      `json:"maxTokens"`
	MaxPromptBytes    *int      `json:"maxPromptBytes"`
}

// LoadPlans returns the default plans with the AGENTBOT_PLANS file's
// overrides applied and each plan's Stripe price attached. The file is a JSON
// object keyed by plan name, e.g. {"solo": {"pricePence": 3500, "agents": 2}};
// unknown plans, unknown fields and bad values are errors naming the file.
func LoadPlans(cfg config.BillingConfig) (*Plans, error) {
	plans := DefaultPlans()
	if cfg.PlansFile != "" {
		raw, err := os.ReadFile(cfg.PlansFile)
		if err != nil {
			return nil, fmt.Errorf("AGENTBOT_PLANS: %w", err)
		}
		if plans, err = applyOverrides(plans, raw); err != nil {
			return nil, fmt.Errorf("AGENTBOT_PLANS %s: %w", cfg.PlansFile, err)
		}
	}
	for i := range plans {
		plans[i].StripePrice = cfg.PlanPrices[plans[i].Name]
	}
	ps, err := NewPlans(plans)
	if err != nil && cfg.PlansFile != "" {
		err = fmt.Errorf("AGENTBOT_PLANS %s: %w", cfg.PlansFile, err)
	}
	return ps, err
}

func applyOverrides(plans []Plan, raw []byte) ([]Plan, error) {
	var file map[string]json.RawMessage
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("must be a JSON object keyed by plan name: %w", err)
	}
	for name, body := range file {
		i := slices.IndexFunc(plans, func(p Plan) bool { return p.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown plan %q (plans are %s)", name, strings.Join(config.Plans, ", "))
		}
		var o planOverride
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return nil, fmt.Errorf("plan %q: %w", name, err)
		}
		p := &plans[i]
		if o.PricePence != nil {
			p.PricePence = *o.PricePence
		}
		if o.Agents != nil {
			p.Agents = *o.Agents
		}
		if o.SkillsPerAgent != nil {
			p.SkillsPerAgent = *o.SkillsPerAgent
		}
		if o.A2AMessagesPerDay != nil {
			p.A2AMessagesPerDay = *o.A2AMessagesPerDay
		}
		if o.ModelTier != nil {
			p.ModelTier = *o.ModelTier
		}
		if o.Models != nil {
			p.Models = *o.Models
		}
		if o.MaxTokens != nil {
			p.MaxTokens = *o.MaxTokens
		}
		if o.MaxPromptBytes != nil {
			p.MaxPromptBytes = *o.MaxPromptBytes
		}
	}
	return plans, nil
}

// Get returns the plan called name (case-insensitive).
func (ps *Plans) Get(name string) (Plan, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, p := range ps.list {
		if p.Name == name {
			return p, true
		}
	}
	return Plan{}, false
}

// All returns the plans, cheapest first.
func (ps *Plans) All() []Plan { return slices.Clone(ps.list) }

// ByStripePrice maps a Stripe price id back to its plan.
func (ps *Plans) ByStripePrice(price string) (Plan, bool) {
	if price == "" {
		return Plan{}, false
	}
	for _, p := range ps.list {
		if p.StripePrice == price {
			return p, true
		}
	}
	return Plan{}, false
}

// Rank orders plans: 1 for the cheapest, 0 for an unknown name.
func (ps *Plans) Rank(name string) int {
	for i, p := range ps.list {
		if p.Name == name {
			return i + 1
		}
	}
	return 0
}
