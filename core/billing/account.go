package billing

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/money"
)

// getBilling: GET /api/billing → the plans, the caller's plan and
// subscription status, BYOK state, this month's usage and credits. The seed's
// field names (currentPlan, byokEnabled) are kept beside the new ones.
func (s *Service) getBilling(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	from, to := monthOf(s.now())
	a, err := s.Store.BillingAccount(r.Context(), p.UserID, from, to)
	if err != nil {
		return storeErr(err)
	}
	var plan, status, storage any
	if a.Plan != "" {
		plan = a.Plan
	}
	if a.SubscriptionStatus != "" {
		status = a.SubscriptionStatus
	}
	if a.StorageStatus != "" {
		storage = a.StorageStatus
	}
	providers := a.BYOKProviders
	if providers == nil {
		providers = []string{}
	}
	api.OK(w, map[string]any{
		"plans":              s.renderPlans(),
		"planOrder":          s.planNames(),
		"plan":               plan,
		"currentPlan":        plan,
		"subscriptionStatus": status,
		"storage":            map[string]any{"status": storage},
		"byok":               map[string]any{"enabled": len(providers) > 0, "providers": providers},
		"byokEnabled":        len(providers) > 0,
		"usage": map[string]any{"month": from.Format("2006-01"), "calls": a.Calls, "spendMicroUsd": a.SpendMicroUSD,
			"spend": json.Number(money.FormatUSD(a.SpendMicroUSD))},
		"credits":          json.Number(money.FormatUSD(a.BalanceMicroUSD)),
		"balanceMicroUsd":  a.BalanceMicroUSD,
		"creditPacks":      s.renderPacks(),
		"billingAvailable": s.Stripe != nil,
	})
	return nil
}

// renderPlans shows each plan keyed by name, as the seed did: the price in
// pounds and in pence, and its limits (null is unlimited).
func (s *Service) renderPlans() map[string]any {
	out := map[string]any{}
	for _, p := range s.Plans.All() {
		models := p.Models
		if models == nil {
			models = []string{}
		}
		out[p.Name] = map[string]any{
			"name":              p.Name,
			"price":             json.Number(money.FormatMicro(p.PricePence, 2)),
			"pricePence":        p.PricePence,
			"currency":          "GBP",
			"interval":          "month",
			"agents":            p.Agents,
			"skillsPerAgent":    p.SkillsPerAgent,
			"a2aMessagesPerDay": p.A2AMessagesPerDay,
			"modelTier":         p.ModelTier,
			"models":            models,
			"available":         s.Stripe != nil && p.StripePrice != "",
		}
	}
	return out
}

func (s *Service) planNames() []string {
	var names []string
	for _, p := range s.Plans.All() {
		names = append(names, p.Name)
	}
	return names
}

// renderPacks lists the credit packs for sale, by price id.
func (s *Service) renderPacks() []map[string]any {
	ids := make([]string, 0, len(s.CreditPacks))
	for id := range s.CreditPacks {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(cmp.Compare(s.CreditPacks[a], s.CreditPacks[b]), strings.Compare(a, b))
	})
	out := make([]map[string]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"price": id, "credits": json.Number(money.FormatUSD(s.CreditPacks[id])),
			"creditsMicroUsd": s.CreditPacks[id]}
	}
	return out
}

// monthOf returns the UTC calendar month containing t as [from, to).
func monthOf(t time.Time) (from, to time.Time) {
	t = t.UTC()
	from = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return from, from.AddDate(0, 1, 0)
}

// postBilling: POST /api/billing {action, …}.
func (s *Service) postBilling(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	raw, err := api.ReadJSON(r)
	if err != nil {
		return err
	}
	var in struct {
		Action string `json:"action"`
	}
	if err := api.Unmarshal(raw, &in); err != nil {
		return err
	}
	ctx := r.Context()
	switch in.Action {
	case "create-checkout":
		var req struct {
			Plan string `json:"plan"`
		}
		if err := api.Unmarshal(raw, &req); err != nil {
			return err
		}
		plan, ok := s.Plans.Get(req.Plan)
		if !ok {
			return api.BadRequest("INVALID_PLAN", "Invalid plan; choose one of the plans GET /api/billing lists")
		}
		to, err := s.planCheckout(ctx, p.UserID, plan)
		if err != nil {
			return err
		}
		api.OK(w, map[string]any{"url": to})
	case "buy-credits":
		var req struct {
			Pack string `json:"pack"`
		}
		if err := api.Unmarshal(raw, &req); err != nil {
			return err
		}
		to, err := s.creditsCheckout(ctx, p.UserID, req.Pack)
		if err != nil {
			return err
		}
		api.OK(w, map[string]any{"url": to})
	case "enable-byok":
		return s.enableBYOK(w, r, p.UserID, raw)
	case "disable-byok":
		return s.disableBYOK(w, r, p.UserID, raw)
	case "get-usage":
		return s.usage(w, r, p.UserID, raw)
	case "":
		return api.BadRequest("INVALID_ACTION", "Field \"action\" is required: create-checkout, enable-byok, disable-byok, get-usage or buy-credits")
	default:
		return api.BadRequest("INVALID_ACTION", "Invalid action; use create-checkout, enable-byok, disable-byok, get-usage or buy-credits")
	}
	return nil
}
