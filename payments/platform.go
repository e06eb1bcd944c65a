package payments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"

	"github.com/agentbot/gateway/core/store"
)

// Subscription lets through admins and callers whose subscription is
// active, and offers a subscription to everyone else.
type Subscription struct {
	// CheckoutURL is where a caller without a plan can subscribe
	// [DefaultCheckoutURL].
	CheckoutURL string
}

var _ Payer = Subscription{}

// Authorize implements Payer.
func (p Subscription) Authorize(_ context.Context, r *Request) (Decision, error) {
	if r.Principal == nil {
		return &Refused{Reason: ReasonAuthRequired, Target: r.Target}, nil
	}
	if r.PriceMicroUSD == 0 {
		return &Covered{Method: MethodFree}, nil
	}
	if r.Principal.Admin || (r.User != nil && r.User.SubscriptionStatus == "active") {
		return &Covered{Method: MethodStripe}, nil
	}
	return &Offer{Target: r.Target, PriceMicroUSD: r.PriceMicroUSD, CheckoutURL: checkoutURL(p.CheckoutURL)}, nil
}

// Settle implements Payer; a subscription charges nothing per call.
func (Subscription) Settle(context.Context, *Charged, Outcome) (*Refused, error) { return nil, nil }

// Credits is the platform ("stripe") payment method: an admin or an active
// subscription covers the call; otherwise its price is reserved from the
// caller's credits before the call, settled after it, and refunded if it
// fails; neither → an offer. Reservations are serialised per user in the
// store, so concurrent calls can never overdraw the balance.
type Credits struct {
	Store       *store.Store
	CheckoutURL string
}

var _ Payer = Credits{}

// reservation is credits held for a call.
type reservation struct {
	userID, reference string
}

// Authorize implements Payer.
func (p Credits) Authorize(ctx context.Context, r *Request) (Decision, error) {
	d, err := Subscription{CheckoutURL: p.CheckoutURL}.Authorize(ctx, r)
	if _, offered := d.(*Offer); err != nil || !offered {
		return d, err
	}
	ref := "call_" + randomHex()
	err = p.Store.ReserveCredits(ctx, r.Principal.UserID, r.PriceMicroUSD, ref)
	if errors.Is(err, store.ErrInsufficientCredits) {
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	return &Charged{Method: MethodStripe, AmountMicroUSD: r.PriceMicroUSD,
		credits: &reservation{userID: r.Principal.UserID, reference: ref}}, nil
}

// Settle implements Payer: charge the actual cost, or refund on failure.
func (p Credits) Settle(ctx context.Context, c *Charged, o Outcome) (*Refused, error) {
	rs := c.credits
	if rs == nil {
		return nil, nil
	}
	if o.OK {
		return nil, p.Store.SettleCredits(ctx, rs.userID, rs.reference, c.AmountMicroUSD, o.CostMicroUSD)
	}
	return nil, p.Store.RefundCredits(ctx, rs.userID, rs.reference, c.AmountMicroUSD)
}

func randomHex() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
