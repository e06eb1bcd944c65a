package billing

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/money"
)

// getBilling: GET /api/billing → the plans, the caller's plan and
// subscription status, BYOK state, this month's usage and credits. The field
// names existing clients read (currentPlan, byokEnabled) are kept beside the new ones.
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
	payments, err := s.payments(r.Context(), p.UserID)
	if err != nil {
		return err
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
		"payments":         payments,
	})
	return nil
}

// payments lists what the caller paid, newest first, each with its receipt:
// machine payments (MPP, x402) made with the account's credentials, and the
// Stripe purchases and grants in the credit ledger.
func (s *Service) payments(ctx context.Context, userID string) ([]map[string]any, error) {
	mps, err := s.Store.Payments(ctx, userID, 50)
	if err != nil {
		return nil, err
	}
	entries, err := s.Store.CreditEntries(ctx, userID, 50, "purchase", "referral")
	if err != nil {
		return nil, err
	}
	type row struct {
		at time.Time
		m  map[string]any
	}
	rows := make([]row, 0, len(mps)+len(entries))
	for _, p := range mps {
		rows = append(rows, row{p.CreatedAt, map[string]any{"id": p.ID, "method": p.Protocol, "kind": "call",
			"amount": json.Number(money.FormatUSD(p.AmountMicroUSD)), "amountMicroUsd": p.AmountMicroUSD, "currency": "usd",
			"target": p.Target, "payer": p.Payer, "network": p.Network, "asset": p.Asset, "assetAmount": p.Amount,
			"reference": p.Reference, "receipt": p.Receipt}})
	}
	for _, e := range entries {
		method := "stripe"
		if e.Kind == "referral" {
			method = "referral"
		}
		rows = append(rows, row{e.CreatedAt, map[string]any{"id": e.ID, "method": method, "kind": "credits",
			"amount": json.Number(money.FormatUSD(e.Amount)), "amountMicroUsd": e.Amount, "currency": "usd",
			"reference": e.Reference, "receipt": e.Reference}})
	}
	slices.SortStableFunc(rows, func(a, b row) int { return b.at.Compare(a.at) })
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		r.m["createdAt"] = r.at.UTC().Format(time.RFC3339Nano)
		out[i] = r.m
	}
	return out, nil
}

// renderPlans shows each plan keyed by name, as existing clients expect: the price in
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
			"maxTokens":         p.MaxTokens,
			"maxPromptBytes":    p.MaxPromptBytes,
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
			return api.BadRequest(api.CodeInvalidPlan, "Invalid plan; choose one of the plans GET /api/billing lists")
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
		return api.BadRequest(api.CodeInvalidAction, "Field \"action\" is required: create-checkout, enable-byok, disable-byok, get-usage or buy-credits")
	default:
		return api.BadRequest(api.CodeInvalidAction, "Invalid action; use create-checkout, enable-byok, disable-byok, get-usage or buy-credits")
	}
	return nil
}

// adminPayments: GET /api/admin/payments?limit= → every machine payment,
// anonymous ones included, newest first, with the total: the operators' view
// for reconciling settlements. Admins only.
func (s *Service) adminPayments(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	if !p.Admin {
		return api.Forbidden(api.CodeAdminRequired, "Only administrators can list all payments")
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return api.BadRequest(api.CodeInvalidLimit, "limit must be a whole number from 1 to 500")
		}
		limit = n
	}
	mps, err := s.Store.AllPayments(r.Context(), limit)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(mps))
	var total int64
	for i, p := range mps {
		total += p.AmountMicroUSD
		var user any
		if p.UserID != "" {
			user = p.UserID
		}
		out[i] = map[string]any{"id": p.ID, "userId": user, "method": p.Protocol, "payer": p.Payer, "network": p.Network,
			"asset": p.Asset, "assetAmount": p.Amount, "amount": json.Number(money.FormatUSD(p.AmountMicroUSD)),
			"amountMicroUsd": p.AmountMicroUSD, "target": p.Target, "challengeId": p.ChallengeID, "reference": p.Reference,
			"receipt": p.Receipt, "createdAt": p.CreatedAt.UTC().Format(time.RFC3339Nano)}
	}
	api.OK(w, map[string]any{"payments": out, "count": len(out), "totalMicroUsd": total,
		"total": json.Number(money.FormatUSD(total))})
	return nil
}
