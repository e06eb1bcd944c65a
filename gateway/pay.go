package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/money"
	"github.com/agentbot/gateway/core/store"
)

// Call is a gateway call awaiting payment.
type Call struct {
	ID            string
	PriceMicroUSD int64
	// Principal is nil for an anonymous caller.
	Principal *auth.Principal
	// User is the principal's account (nil when anonymous).
	User *store.User
}

// Payment is how a call is paid for.
type Payment struct {
	Method  string // "stripe", "mpp", "x402", "free"
	Receipt string // "" when there is none
	// Reference identifies a reservation to settle (credits, a payment intent).
	Reference string
	// UserID and AmountMicroUSD describe a credit reservation.
	UserID         string
	AmountMicroUSD int64
}

// Outcome is how a paid call ended.
type Outcome struct {
	OK bool
	// CostMicroUSD is the amount to settle (the price on success).
	CostMicroUSD int64
}

// Payer is the payment step. Authorize returns the error to answer with (401,
// 402) when the call may not proceed; Settle completes a payment after the call
// (charging on success, releasing on failure).
type Payer interface {
	Authorize(ctx context.Context, r *http.Request, c *Call) (*Payment, error)
	Settle(ctx context.Context, p *Payment, o Outcome) error
}

// SubscriptionPayer lets through admins and callers whose subscription is
// active, and answers 402 to everyone else. The billing work replaces it with
// credits and machine payments.
type SubscriptionPayer struct {
	// CheckoutURL is where a caller without a plan can subscribe.
	CheckoutURL string
}

// Authorize implements Payer.
func (p SubscriptionPayer) Authorize(_ context.Context, _ *http.Request, c *Call) (*Payment, error) {
	if c.Principal == nil {
		return nil, api.ErrAuthRequired
	}
	if c.PriceMicroUSD == 0 {
		return &Payment{Method: "free"}, nil
	}
	if c.Principal.Admin || (c.User != nil && c.User.SubscriptionStatus == "active") {
		return &Payment{Method: "stripe"}, nil
	}
	return nil, PaymentRequired(c, p.CheckoutURL)
}

// Settle implements Payer; a subscription needs no settlement.
func (SubscriptionPayer) Settle(context.Context, *Payment, Outcome) error { return nil }

// PaymentRequired is the 402 answer in the seed's shape.
func PaymentRequired(c *Call, checkoutURL string) *api.Error {
	if checkoutURL == "" {
		checkoutURL = "/api/stripe/checkout?plan=solo"
	}
	amount := money.FormatUSD(c.PriceMicroUSD)
	return &api.Error{Status: http.StatusPaymentRequired, Code: "PAYMENT_REQUIRED",
		Message: "payment_required",
		Fields: map[string]any{
			"message": "Payment required for " + c.ID + ". Subscribe to a plan or pay per call.",
			"plugin":  c.ID,
			"stripe":  map[string]any{"checkoutUrl": checkoutURL, "amount": amount, "currency": "usd"},
		}}
}

// CreditsPayer is the platform ("stripe") payment method: an admin or an
// active subscription covers the call; otherwise its price is reserved from
// the caller's credits before the call, settled after it, and refunded if it
// fails; neither → 402. Reservations are serialised per user in the store, so
// concurrent calls can never overdraw the balance.
type CreditsPayer struct {
	Store       *store.Store
	CheckoutURL string
}

// Authorize implements Payer.
func (p CreditsPayer) Authorize(ctx context.Context, r *http.Request, c *Call) (*Payment, error) {
	pay, err := SubscriptionPayer{CheckoutURL: p.CheckoutURL}.Authorize(ctx, r, c)
	var e *api.Error
	if err == nil || !errors.As(err, &e) || e.Status != http.StatusPaymentRequired {
		return pay, err
	}
	ref := "call_" + randomHex()
	err = p.Store.ReserveCredits(ctx, c.Principal.UserID, c.PriceMicroUSD, ref)
	if errors.Is(err, store.ErrInsufficientCredits) {
		return nil, PaymentRequired(c, p.CheckoutURL)
	}
	if err != nil {
		return nil, err
	}
	return &Payment{Method: "stripe", Reference: ref, UserID: c.Principal.UserID, AmountMicroUSD: c.PriceMicroUSD}, nil
}

// Settle implements Payer: charge the actual cost, or refund on failure.
func (p CreditsPayer) Settle(ctx context.Context, pay *Payment, o Outcome) error {
	if pay.Reference == "" || pay.UserID == "" {
		return nil
	}
	if o.OK {
		return p.Store.SettleCredits(ctx, pay.UserID, pay.Reference, pay.AmountMicroUSD, o.CostMicroUSD)
	}
	return p.Store.RefundCredits(ctx, pay.UserID, pay.Reference, pay.AmountMicroUSD)
}

func randomHex() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
