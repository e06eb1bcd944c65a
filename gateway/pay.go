package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/money"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/x402"
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
	// ReceiptHeader names the response header that carries Receipt
	// (Payment-Receipt or PAYMENT-RESPONSE), once a machine payment settled.
	ReceiptHeader string

	machine *machinePayment
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

// PaymentStep chooses how a call is paid (CONTRACT §6): X-Payment-Method
// (stripe, mpp or x402), else the credential the request carries (an MPP
// "Payment" credential, an x402 PAYMENT-SIGNATURE), else the platform: the
// caller's subscription or credits. A priced call that none of them covers is
// answered 402 with every offer at once: the seed's JSON body, MPP challenges
// and x402's PAYMENT-REQUIRED.
type PaymentStep struct {
	Platform Payer
	// Machine accepts machine payments; nil turns them off.
	Machine *MachinePayments
}

// Authorize implements Payer.
func (p *PaymentStep) Authorize(ctx context.Context, r *http.Request, c *Call) (*Payment, error) {
	method := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Payment-Method")))
	token, hasMPP := mpp.FromHeader(r.Header)
	x402Header := r.Header.Get("PAYMENT-SIGNATURE")
	if x402Header == "" {
		x402Header = r.Header.Get("X-PAYMENT")
	}
	explicit := method != ""
	switch {
	case method == "stripe" || method == "mpp" || method == "x402":
	case explicit:
		return nil, api.BadRequest("INVALID_PAYMENT_METHOD", "X-Payment-Method must be stripe, mpp or x402")
	case hasMPP:
		method = "mpp"
	case x402Header != "":
		method = "x402"
	default:
		method = "stripe"
	}
	if c.PriceMicroUSD == 0 || (p.Machine == nil && method == "stripe") {
		return p.Platform.Authorize(ctx, r, c)
	}
	if p.Machine == nil {
		return nil, api.BadRequest("PAYMENT_METHOD_UNAVAILABLE", "Machine payments are not enabled on this gateway; pay with stripe")
	}
	m := p.Machine
	var mp *machinePayment
	var err error
	switch method {
	case "mpp":
		if !hasMPP {
			return nil, m.refuse(r, c, "payment-required", "Payment required for "+c.ID)
		}
		mp, err = m.authorizeMPP(ctx, r, c, token)
	case "x402":
		if x402Header == "" {
			return nil, m.refuse(r, c, "payment-required", "Payment required for "+c.ID)
		}
		mp, err = m.authorizeX402(ctx, r, c, x402Header)
	default:
		pay, err := p.Platform.Authorize(ctx, r, c)
		var e *api.Error
		if err == nil || !errors.As(err, &e) {
			return pay, err
		}
		if e.Status == http.StatusUnauthorized && explicit {
			return nil, err
		}
		if e.Status != http.StatusPaymentRequired && e.Status != http.StatusUnauthorized {
			return nil, err
		}
		return nil, p.offer(r, c, e)
	}
	if err != nil {
		return nil, err
	}
	mp.refuse = func(code, detail string) *api.Error { return m.refuse(r, c, code, detail) }
	mp.call = c
	return &Payment{Method: mp.protocol, AmountMicroUSD: c.PriceMicroUSD, machine: mp}, nil
}

// offer is the 402 for a call that nothing pays for yet: the seed's body
// (error, stripe, mpp) plus both protocols' headers.
func (p *PaymentStep) offer(r *http.Request, c *Call, e *api.Error) *api.Error {
	checkout := ""
	if e.Status == http.StatusPaymentRequired {
		if s, ok := e.Fields["stripe"].(map[string]any); ok {
			checkout, _ = s["checkoutUrl"].(string)
		}
	}
	out := PaymentRequired(c, checkout)
	out.Header = http.Header{}
	m := p.Machine
	id := m.offer(out.Header, r, c, "")
	chs, _ := mpp.ParseChallenges(out.Header.Values("WWW-Authenticate"))
	exp := int64(0)
	if len(chs) == 1 {
		if t, ok := chs[0].ExpiresAt(); ok {
			exp = t.UnixMilli()
		}
	}
	out.Fields["message"] = "Payment required for " + c.ID + ". Pay per call (MPP or x402), subscribe, or buy credits."
	out.Fields["mpp"] = map[string]any{"scheme": "Payment", "method": "evm", "intent": "charge",
		"amount": money.FormatUSD(c.PriceMicroUSD), "amountBaseUnits": m.baseUnits(c.PriceMicroUSD).String(),
		"currency": m.Domain.VerifyingContract.Hex(), "recipient": m.PayTo.Hex(), "chainId": m.Domain.ChainID,
		"challengeId": id, "expiresAt": exp}
	out.Fields["x402"] = map[string]any{"x402Version": 2, "accepts": []any{m.requirements(c)}}
	return out
}

// Settle implements Payer: a machine payment is settled when the call
// succeeded (unless it was settled up front) and released when it failed.
// A settlement that fails is answered 402 in place of the call's output.
func (p *PaymentStep) Settle(ctx context.Context, pay *Payment, o Outcome) error {
	mp := pay.machine
	if mp == nil {
		return p.Platform.Settle(ctx, pay, o)
	}
	if mp.settled {
		return nil
	}
	m := p.Machine
	if !o.OK {
		return m.Claims.Release(ctx, mp.claimKey)
	}
	header, value, err := m.settle(ctx, mp.call, pay)
	if err != nil {
		m.log().Warn("settle machine payment", "plugin", mp.call.ID, "err", err)
		refusal := mp.refuse("verification-failed", "The payment could not be settled")
		if mp.protocol == "x402" {
			// x402 reports a failed settlement in PAYMENT-RESPONSE too.
			if v, err := x402.EncodeHeader(x402.SettleResponse{Success: false, ErrorReason: "settlement_failed",
				Network: m.network(), Payer: mp.s.Authorization.From.Hex()}); err == nil {
				refusal.Header.Set("PAYMENT-RESPONSE", v)
			}
		}
		return refusal
	}
	pay.ReceiptHeader, pay.Receipt = header, value
	return nil
}
