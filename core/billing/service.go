// Package billing owns plans and paying for them through Stripe
// (docs/api-conventions.md#plans-and-payment):
// the plan table and its rules (402 without an active paid plan, 429 at a tier
// limit), Checkout Sessions for subscriptions, credit packs and the storage
// upgrade, the Stripe webhook (each event applied once, in any arrival order),
// and GET/POST /api/billing with users' own provider keys (BYOK), sealed at
// rest. Handlers are thin; the store applies webhook effects atomically.
package billing

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/store"
)

// Hooks are what billing needs from the gateway, passed in so that core does
// not import it.
type Hooks struct {
	// ForgetCaller drops the gateway's cached view of a user after their plan
	// or keys changed. Optional.
	ForgetCaller func(userID string)
}

// Service serves the billing endpoints.
type Service struct {
	Store *store.Store
	Plans *Plans
	// Stripe is nil when billing through Stripe is disabled (no secret key).
	Stripe        *Stripe
	WebhookSecret string
	// CreditPacks maps allow-listed Stripe price ids to the micro-USD they buy.
	CreditPacks  map[string]int64
	StoragePrice string
	// PublicURL prefixes the URLs Stripe sends users back to.
	PublicURL string
	Secrets   *secrets.Box
	Hooks     Hooks
	Log       *slog.Logger
	Now       func() time.Time
}

// New builds the service from the configuration: the plans (with the
// AGENTBOT_PLANS overrides) and, when STRIPE_SECRET_KEY is set, a Stripe
// client for STRIPE_API_BASE.
func New(cfg *config.Config, st *store.Store, box *secrets.Box, hooks Hooks, log *slog.Logger) (*Service, error) {
	if box == nil {
		return nil, errors.New("billing: a secrets box is required to seal BYOK keys")
	}
	if log == nil {
		log = slog.Default()
	}
	plans, err := LoadPlans(cfg.Billing)
	if err != nil {
		return nil, err
	}
	s := &Service{Store: st, Plans: plans, WebhookSecret: cfg.Billing.StripeWebhookSecret,
		CreditPacks: cfg.Billing.CreditPacks, StoragePrice: cfg.Billing.StoragePrice, PublicURL: cfg.PublicURL,
		Secrets: box, Hooks: hooks, Log: log}
	if cfg.Billing.StripeSecretKey != "" {
		s.Stripe = NewStripe(cfg.Billing.StripeSecretKey, cfg.Billing.StripeAPIBase, nil, log)
		for _, p := range plans.All() {
			if p.StripePrice == "" {
				log.Warn("billing: plan has no Stripe price; its checkout answers 503", "plan", p.Name,
					"variable", "STRIPE_PRICE_"+strings.ToUpper(p.Name))
			}
		}
		if s.WebhookSecret == "" {
			log.Warn("billing: STRIPE_WEBHOOK_SECRET is unset; Stripe webhooks are refused, so payments will not activate plans")
		}
	}
	return s, nil
}

// Routes are the billing endpoints.
func (s *Service) Routes() []route.Route {
	const get, post = http.MethodGet, http.MethodPost
	return []route.Route{
		{Method: get, Path: "/api/stripe/checkout", Handler: s.checkout, Access: route.User,
			Query:  []route.Param{{Name: "plan", Doc: "solo, collective, label or network", Required: true}},
			Status: http.StatusSeeOther, Errors: []api.Code{api.CodeBillingDisabled, api.CodeStripeError},
			Summary: "`?plan=solo|collective|label|network` → 303 to Stripe Checkout (invalid plan → 303 `/pricing?error=invalid_plan`)"},
		{Method: get, Path: "/api/stripe/credits", Handler: s.credits, Access: route.User,
			Query:  []route.Param{{Name: "price", Doc: "a credit pack's price id", Required: true}},
			Status: http.StatusSeeOther, Errors: []api.Code{api.CodeInvalidPrice, api.CodeBillingDisabled, api.CodeStripeError},
			Summary: "`?price=<credit-pack price id>` → 303 to Stripe Checkout; other prices → 400 `INVALID_PRICE`"},
		{Method: post, Path: "/api/stripe/storage-upgrade", Handler: s.storageUpgrade, Access: route.User, Response: urlAnswer{}, Errors: []api.Code{api.CodeBillingDisabled, api.CodeStripeError},
			Summary: "→ `{url}` of a Checkout Session"},
		{Method: post, Path: "/api/webhooks/stripe", Handler: s.webhook, Access: route.Public, Limit: "stripe-webhooks",
			Response: webhookAnswer{},
			Errors:   []api.Code{api.CodeInvalidSignature, api.CodeInvalidEvent, api.CodeInvalidBody, api.CodeBillingDisabled, api.CodeStripeError},
			Summary:  "Stripe's signed events (`Stripe-Signature`; bad signature → 400 `INVALID_SIGNATURE`)"},
		{Method: get, Path: "/api/billing", Handler: s.getBilling, Access: route.User,
			Response: billingDoc{}, Errors: []api.Code{api.CodeTokenInvalid},
			Summary: "`{plans, plan, subscriptionStatus, byok, usage, credits, creditPacks, payments, …}`"},
		{Method: post, Path: "/api/billing", Handler: s.postBilling, Access: route.User,
			Request: billingAction{Action: "create-checkout", Plan: "solo"}, Response: billingActionAnswer{},
			Errors: []api.Code{api.CodeInvalidAction, api.CodeInvalidPlan, api.CodeInvalidPrice, api.CodeInvalidProvider,
				api.CodeInvalidAPIKeyFormat, api.CodeInvalidMonth, api.CodeValidationError, api.CodeBillingDisabled, api.CodeStripeError},
			Summary: "`{action, …}`: create-checkout, enable-byok, disable-byok, get-usage, buy-credits"},
		{Method: get, Path: "/api/admin/payments", Handler: s.adminPayments, Access: route.Admin,
			Query:    []route.Param{{Name: "limit", Doc: "1 to 500 (default 100)"}},
			Response: adminPaymentsDoc{}, Errors: []api.Code{api.CodeInvalidLimit},
			Summary: "`?limit=1..500` → every machine payment (anonymous ones too) with its receipt, and the total"},
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) forget(userID string) {
	if s.Hooks.ForgetCaller != nil {
		s.Hooks.ForgetCaller(userID)
	}
}

// errDisabled answers requests that need Stripe when it is not configured.
func errDisabled(what string) *api.Error {
	return &api.Error{Status: http.StatusServiceUnavailable, Code: api.CodeBillingDisabled, Message: what}
}

// stripeFailed is a Stripe API failure: 502, with the cause logged only.
func stripeFailed(err error) *api.Error {
	return &api.Error{Status: http.StatusBadGateway, Code: api.CodeStripeError, Message: "The payment provider could not be reached; try again",
		Err: err}
}

// storeErr maps store errors that reach a handler.
func storeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return api.Unauthorized(api.CodeTokenInvalid, "The account behind this credential no longer exists")
	case errors.Is(err, store.ErrNoPrincipal):
		return api.ErrAuthRequired
	}
	return err
}
