package billing

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
)

// Kinds of Checkout Session, carried in metadata "kind" so that webhooks know
// what was bought.
const (
	kindPlan    = "plan"
	kindStorage = "storage"
	kindCredits = "credits"
)

// checkout: GET /api/stripe/checkout?plan= → 303 to a subscription Checkout
// Session in GBP; an unknown plan → 303 to /pricing?error=invalid_plan.
// Admins need no subscription and go straight to onboarding.
func (s *Service) checkout(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	plan, ok := s.Plans.Get(r.URL.Query().Get("plan"))
	if !ok {
		http.Redirect(w, r, "/pricing?error=invalid_plan", http.StatusSeeOther)
		return nil
	}
	if p.Admin {
		http.Redirect(w, r, "/onboard?plan="+url.QueryEscape(plan.Name)+"&paid=1&admin=1", http.StatusSeeOther)
		return nil
	}
	to, err := s.planCheckout(r.Context(), p.UserID, plan)
	if err != nil {
		return err
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// planCheckout creates a subscription Checkout Session for plan.
func (s *Service) planCheckout(ctx context.Context, userID string, plan Plan) (string, error) {
	if s.Stripe == nil {
		return "", errDisabled("Billing is not configured on this server")
	}
	if plan.StripePrice == "" {
		return "", errDisabled(fmt.Sprintf("The %s plan has no Stripe price configured", plan.Name))
	}
	return s.session(ctx, userID, Checkout{Mode: "subscription", Price: plan.StripePrice, Currency: Currency,
		Metadata:   map[string]string{"kind": kindPlan, "plan": plan.Name},
		SuccessURL: s.PublicURL + "/onboard?plan=" + url.QueryEscape(plan.Name) + "&session_id={CHECKOUT_SESSION_ID}",
		CancelURL:  s.PublicURL + "/pricing?cancelled=1"})
}

// credits: GET /api/stripe/credits?price= → 303 to a one-off Checkout Session
// for an allow-listed credit pack.
func (s *Service) credits(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	to, err := s.creditsCheckout(r.Context(), p.UserID, r.URL.Query().Get("price"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// creditsCheckout creates a payment Checkout Session for the pack sold at price.
func (s *Service) creditsCheckout(ctx context.Context, userID, price string) (string, error) {
	micro, ok := s.CreditPacks[price]
	if !ok {
		return "", api.BadRequest(api.CodeInvalidPrice, "Unknown credit pack; use one of the price ids GET /api/billing lists")
	}
	if s.Stripe == nil {
		return "", errDisabled("Billing is not configured on this server")
	}
	return s.session(ctx, userID, Checkout{Mode: "payment", Price: price,
		Metadata:   map[string]string{"kind": kindCredits, "price": price, "credits_micro_usd": strconv.FormatInt(micro, 10)},
		SuccessURL: s.PublicURL + "/billing?credits=success&session_id={CHECKOUT_SESSION_ID}",
		CancelURL:  s.PublicURL + "/billing?credits=cancelled"})
}

// storageUpgrade: POST /api/stripe/storage-upgrade → {url} of a subscription
// Checkout Session for the storage price.
func (s *Service) storageUpgrade(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	if s.Stripe == nil {
		return errDisabled("Billing is not configured on this server")
	}
	if s.StoragePrice == "" {
		return errDisabled("The storage upgrade is not configured on this server")
	}
	to, err := s.session(r.Context(), p.UserID, Checkout{Mode: "subscription", Price: s.StoragePrice,
		Metadata:   map[string]string{"kind": kindStorage},
		SuccessURL: s.PublicURL + "/billing?storage=success&session_id={CHECKOUT_SESSION_ID}",
		CancelURL:  s.PublicURL + "/billing?storage=cancelled"})
	if err != nil {
		return err
	}
	api.OK(w, map[string]any{"url": to})
	return nil
}

// session creates a Checkout Session for the user (creating their Stripe
// customer first if needed) and returns its URL.
func (s *Service) session(ctx context.Context, userID string, c Checkout) (string, error) {
	cust, err := s.customer(ctx, userID)
	if err != nil {
		return "", err
	}
	c.Customer, c.UserID = cust, userID
	c.Metadata["user_id"] = userID
	_, to, err := s.Stripe.NewCheckout(ctx, c)
	if err != nil {
		return "", stripeFailed(err)
	}
	return to, nil
}

// customer returns the user's Stripe customer, creating it on first use.
func (s *Service) customer(ctx context.Context, userID string) (string, error) {
	c, err := s.Store.BillingContact(ctx, userID)
	if err != nil {
		return "", storeErr(err)
	}
	if c.StripeCustomerID != "" {
		return c.StripeCustomerID, nil
	}
	id, err := s.Stripe.NewCustomer(ctx, userID, c.Email, c.Name)
	if err != nil {
		return "", stripeFailed(err)
	}
	stored, err := s.Store.SetStripeCustomer(ctx, userID, id)
	if err != nil {
		return "", storeErr(err)
	}
	return stored, nil
}
