// Package billing owns plans and paying for them through Stripe (CONTRACT §5):
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

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/config"
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

// Routes registers the endpoints on r.
func (s *Service) Routes(r *httprouter.Router, a api.Adapter) {
	r.GET("/api/stripe/checkout", a.Handle(s.checkout))
	r.GET("/api/stripe/credits", a.Handle(s.credits))
	r.POST("/api/stripe/storage-upgrade", a.Handle(s.storageUpgrade))
	r.POST("/api/webhooks/stripe", a.Handle(s.webhook))
	r.GET("/api/billing", a.Handle(s.getBilling))
	r.POST("/api/billing", a.Handle(s.postBilling))
	r.GET("/api/admin/payments", a.Handle(s.adminPayments))
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
	return &api.Error{Status: http.StatusServiceUnavailable, Code: "BILLING_DISABLED", Message: what}
}

// stripeFailed is a Stripe API failure: 502, with the cause logged only.
func stripeFailed(err error) *api.Error {
	return &api.Error{Status: http.StatusBadGateway, Code: "STRIPE_ERROR", Message: "The payment provider could not be reached; try again",
		Err: err}
}

// storeErr maps store errors that reach a handler.
func storeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return api.Unauthorized("TOKEN_INVALID", "The account behind this credential no longer exists")
	case errors.Is(err, store.ErrNoPrincipal):
		return api.ErrAuthRequired
	}
	return err
}
