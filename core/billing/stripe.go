package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Stripe is the few Stripe API calls billing makes, through stripe-go with a
// backend of its own (its base URL, HTTP client and logger); it never touches
// stripe-go's global key or backends.
type Stripe struct {
	api *client.API
}

// NewStripe returns a client for key at base (https://api.stripe.com, or
// stripe-mock in tests).
func NewStripe(key, base string, hc *http.Client, log *slog.Logger) *Stripe {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if log == nil {
		log = slog.Default()
	}
	backend := func(t stripe.SupportedBackend) stripe.Backend {
		return stripe.GetBackendWithConfig(t, &stripe.BackendConfig{
			URL:               stripe.String(base),
			HTTPClient:        hc,
			LeveledLogger:     stripeLog{log},
			MaxNetworkRetries: stripe.Int64(2),
		})
	}
	a := &client.API{}
	a.Init(key, &stripe.Backends{API: backend(stripe.APIBackend), Connect: backend(stripe.ConnectBackend),
		Uploads: backend(stripe.UploadsBackend)})
	return &Stripe{api: a}
}

// NewCustomer creates the Stripe customer of a user. The idempotency key makes
// concurrent first checkouts of one user create one customer.
func (s *Stripe) NewCustomer(ctx context.Context, userID, email, name string) (string, error) {
	p := &stripe.CustomerParams{Email: stripe.String(email)}
	if name != "" {
		p.Name = stripe.String(name)
	}
	p.Context = ctx
	p.AddMetadata("user_id", userID)
	p.SetIdempotencyKey("agentbot-customer-" + userID)
	c, err := s.api.Customers.New(p)
	if err != nil {
		return "", stripeErr("create customer", err)
	}
	return c.ID, nil
}

// Checkout describes a Checkout Session to create.
type Checkout struct {
	// Mode is "subscription" or "payment".
	Mode     string
	Customer string
	UserID   string
	Price    string
	// Currency forces the session's currency ("" leaves it to the price).
	Currency string
	// Metadata goes on the session and on the subscription or payment intent
	// it creates, so that every later event carries it.
	Metadata   map[string]string
	SuccessURL string
	CancelURL  string
}

// NewCheckout creates a Checkout Session and returns its id and URL.
func (s *Stripe) NewCheckout(ctx context.Context, c Checkout) (id, url string, err error) {
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(c.Mode),
		Customer:          stripe.String(c.Customer),
		ClientReferenceID: stripe.String(c.UserID),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(c.Price), Quantity: stripe.Int64(1)}},
		SuccessURL:        stripe.String(c.SuccessURL),
		CancelURL:         stripe.String(c.CancelURL),
		Metadata:          c.Metadata,
	}
	if c.Currency != "" {
		p.Currency = stripe.String(c.Currency)
	}
	switch c.Mode {
	case string(stripe.CheckoutSessionModeSubscription):
		p.SubscriptionData = &stripe.CheckoutSessionSubscriptionDataParams{Metadata: c.Metadata}
	case string(stripe.CheckoutSessionModePayment):
		p.PaymentIntentData = &stripe.CheckoutSessionPaymentIntentDataParams{Metadata: c.Metadata}
	}
	p.Context = ctx
	cs, err := s.api.CheckoutSessions.New(p)
	if err != nil {
		return "", "", stripeErr("create checkout session", err)
	}
	if cs.URL == "" {
		return "", "", fmt.Errorf("stripe: checkout session %s has no URL", cs.ID)
	}
	return cs.ID, cs.URL, nil
}

// stripeErr keeps Stripe's own message for the log; clients see a 502.
func stripeErr(op string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		return fmt.Errorf("stripe: %s: %d %s %s: %s", op, se.HTTPStatusCode, se.Type, se.Code, se.Msg)
	}
	return fmt.Errorf("stripe: %s: %w", op, err)
}

// stripeLog adapts slog to stripe-go's logger. Its errors are also returned
// to us, so they are logged at warning level here.
type stripeLog struct{ l *slog.Logger }

func (s stripeLog) Debugf(f string, v ...any) { s.l.Debug("stripe: " + fmt.Sprintf(f, v...)) }
func (s stripeLog) Infof(f string, v ...any)  { s.l.Debug("stripe: " + fmt.Sprintf(f, v...)) }
func (s stripeLog) Warnf(f string, v ...any)  { s.l.Warn("stripe: " + fmt.Sprintf(f, v...)) }
func (s stripeLog) Errorf(f string, v ...any) { s.l.Warn("stripe: " + fmt.Sprintf(f, v...)) }
