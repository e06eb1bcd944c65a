package billing

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/store"
)

// maxWebhookBody bounds a webhook's body; Stripe's events are far smaller
// (lists inside events are truncated to a few items).
const maxWebhookBody = 512 << 10

// webhook: POST /api/webhooks/stripe. The signature is checked with
// STRIPE_WEBHOOK_SECRET (400 INVALID_SIGNATURE otherwise, changing nothing);
// the event is applied once by its id, in any arrival order; events for
// unknown users, or for things billing does not sell, answer 200 and change
// nothing, so that Stripe stops retrying them. A database failure is 500, and
// Stripe retries.
func (s *Service) webhook(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if s.WebhookSecret == "" {
		return errDisabled("Stripe webhooks are not configured on this server")
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return api.ErrTooLarge
		}
		return api.BadRequest(api.CodeInvalidBody, "Could not read the request body")
	}
	if len(payload) > maxWebhookBody {
		return &api.Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodePayloadTooLarge, Message: "Webhook body exceeds 512 KiB"}
	}
	ev, err := webhook.ConstructEventWithOptions(payload, r.Header.Get("Stripe-Signature"), s.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	switch {
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader),
		errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrTooOld):
		return api.BadRequest(api.CodeInvalidSignature, "Missing or invalid Stripe-Signature")
	case err != nil:
		return api.BadRequest(api.CodeInvalidEvent, "The body is not a Stripe event")
	case ev.ID == "" || ev.Type == "" || ev.Data == nil || len(ev.Data.Raw) == 0:
		return api.BadRequest(api.CodeInvalidEvent, "The event has no id, type or data object")
	}
	log := s.Log.With("event_id", ev.ID, "event_type", string(ev.Type))
	eff, err := s.effectOf(&ev)
	if err != nil {
		return api.BadRequest(api.CodeInvalidEvent, "The event's data object is malformed")
	}
	if eff.ignored != "" {
		log.Info("stripe webhook ignored", "reason", eff.ignored)
		return received(w, "ignored")
	}
	userID := eff.userHint
	if eff.customer != "" {
		switch id, err := s.Store.UserByStripeCustomer(r.Context(), eff.customer); {
		case err == nil:
			userID = id
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	if userID == "" {
		log.Warn("stripe webhook for an unknown user; ignored", "customer", eff.customer)
		return received(w, store.StripeUnknownUser.String())
	}
	res, err := s.Store.ApplyStripeEvent(r.Context(), store.StripeEvent{ID: ev.ID, Type: string(ev.Type),
		Created: time.Unix(ev.Created, 0).UTC(), UserID: userID, Subscription: eff.sub, Credit: eff.credit}, policy{s.Plans})
	if err != nil {
		return err
	}
	switch res.Outcome {
	case store.StripeUnknownUser, store.StripeForeign:
		log.Warn("stripe webhook ignored", "user_id", userID, "customer", eff.customer, "outcome", res.Outcome.String())
	default:
		log.Info("stripe webhook", "user_id", userID, "outcome", res.Outcome.String(),
			"account_changed", res.AccountChanged, "credited_micro_usd", res.Credited)
	}
	if res.AccountChanged {
		s.forget(userID)
	}
	return received(w, res.Outcome.String())
}

func received(w http.ResponseWriter, outcome string) error {
	api.OK(w, map[string]any{"received": true, "outcome": outcome})
	return nil
}
