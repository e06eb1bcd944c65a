package billing

import (
	"fmt"
	"net/http"

	"github.com/agentbot/gateway/core/api"
)

// Account is what the plan rules look at: the caller's plan, subscription
// status and whether they are an admin.
type Account struct {
	Plan               string
	SubscriptionStatus string
	Admin              bool
}

// Resource is something a plan limits.
type Resource int

const (
	// Agents a user may have.
	Agents Resource = iota
	// SkillsPerAgent installed on one agent.
	SkillsPerAgent
	// A2AMessagesPerDay is agent-to-agent messages per day.
	A2AMessagesPerDay
)

// noun names one of r in the contract's message ("Agent limit reached for …").
func (r Resource) noun() string {
	switch r {
	case Agents:
		return "Agent"
	case SkillsPerAgent:
		return "Skill"
	case A2AMessagesPerDay:
		return "Message"
	}
	return "Usage"
}

func (p Plan) limit(r Resource) Limit {
	switch r {
	case Agents:
		return p.Agents
	case SkillsPerAgent:
		return p.SkillsPerAgent
	case A2AMessagesPerDay:
		return p.A2AMessagesPerDay
	}
	return 0
}

// Entitled applies the payment rule (docs/api-conventions.md#plans-and-payment): a caller needs a known plan
// (there is no free plan) with subscription status "active", else 402
// PAYMENT_REQUIRED. Admins pass; an admin without a plan gets the most
// generous one.
func (ps *Plans) Entitled(a Account) (Plan, error) {
	p, known := ps.Get(a.Plan)
	if a.Admin {
		if !known {
			p = ps.list[len(ps.list)-1]
		}
		return p, nil
	}
	if !known {
		return Plan{}, PaymentRequired("A paid plan is required. Choose a plan at /pricing")
	}
	if a.SubscriptionStatus != "active" {
		return Plan{}, PaymentRequired(fmt.Sprintf("Your %s subscription is not active (status %q). Renew it at /pricing", p.Name,
			a.SubscriptionStatus))
	}
	return p, nil
}

// Check applies the payment rule, then the plan's limit on r: with current in
// use, one more is allowed or the answer is 429 TIER_LIMIT
// {"error":"Agent limit reached for <plan> tier","current":n,"limit":m}.
// Admins pass both.
func (ps *Plans) Check(a Account, r Resource, current int64) error {
	if a.Admin {
		return nil
	}
	p, err := ps.Entitled(a)
	if err != nil {
		return err
	}
	if l := p.limit(r); !l.Allows(current) {
		return TierLimit(p.Name, r, current, l)
	}
	return nil
}

// PaymentRequired is the contract's 402.
func PaymentRequired(msg string) *api.Error {
	return &api.Error{Status: http.StatusPaymentRequired, Code: api.CodePaymentRequired, Message: msg}
}

// TierLimit is the contract's 429 for a plan limit reached.
func TierLimit(plan string, r Resource, current int64, limit Limit) *api.Error {
	return &api.Error{Status: http.StatusTooManyRequests, Code: api.CodeTierLimit,
		Message: fmt.Sprintf("%s limit reached for %s tier", r.noun(), plan),
		Fields:  map[string]any{"current": current, "limit": limit}}
}
