package payments

import (
	"context"

	"github.com/agentbot/gateway/core/x402"
)

// Step chooses how a call is paid: the method the caller chose (stripe,
// mpp or x402), else the credential the request carries (an MPP "Payment"
// credential, an x402 payment), else the platform: the caller's subscription
// or credits. A priced call that none of them covers gets an Offer of every
// way to pay at once: the platform's checkout and, when machine payments are
// on, an MPP challenge and x402's requirements.
type Step struct {
	Platform Payer
	// Machine accepts machine payments; nil turns them off.
	Machine *Machine
	// Record, if set, is told each decision (covered, charged,
	// payment_required, refused) and settlement (settled, released,
	// settle_failed) with its method: the payment metrics.
	Record func(method Method, outcome string)
}

var _ Payer = (*Step)(nil)

// Methods are the methods a caller may choose.
func (p *Step) Methods() []Method {
	if p.Machine == nil {
		return []Method{MethodStripe}
	}
	return []Method{MethodStripe, MethodMPP, MethodX402}
}

// Authorize implements Payer.
func (p *Step) Authorize(ctx context.Context, r *Request) (Decision, error) {
	d, err := p.authorize(ctx, r)
	if p.Record != nil && err == nil {
		switch d := d.(type) {
		case *Covered:
			p.Record(d.Method, "covered")
		case *Charged:
			p.Record(d.Method, "charged")
		case *Offer:
			p.Record("none", "payment_required")
		case *Refused:
			p.Record(r.Method, "refused")
		}
	}
	return d, err
}

func (p *Step) authorize(ctx context.Context, r *Request) (Decision, error) {
	method := r.Method
	explicit := method != ""
	switch {
	case method == MethodStripe || method == MethodMPP || method == MethodX402:
	case explicit:
		return &Refused{Reason: ReasonInvalidMethod, Target: r.Target}, nil
	case r.HasMPP:
		method = MethodMPP
	case r.X402 != "":
		method = MethodX402
	default:
		method = MethodStripe
	}
	if r.PriceMicroUSD == 0 || (p.Machine == nil && method == MethodStripe) {
		return p.Platform.Authorize(ctx, r)
	}
	m := p.Machine
	if m == nil {
		return &Refused{Reason: ReasonMethodUnavailable, Target: r.Target}, nil
	}
	switch method {
	case MethodMPP:
		if !r.HasMPP {
			return m.refuse(r, ReasonCredentialMissing, "Payment required for "+r.Target), nil
		}
		return m.authorizeMPP(ctx, r)
	case MethodX402:
		if r.X402 == "" {
			return m.refuse(r, ReasonCredentialMissing, "Payment required for "+r.Target), nil
		}
		return m.authorizeX402(ctx, r)
	}
	d, err := p.Platform.Authorize(ctx, r)
	if err != nil {
		return nil, err
	}
	switch d := d.(type) {
	case *Offer:
		return &Offer{Target: r.Target, PriceMicroUSD: r.PriceMicroUSD, CheckoutURL: d.CheckoutURL,
			Machine: m.offer(r, "")}, nil
	case *Refused:
		// No account: a machine payment can still pay, unless the caller
		// chose the platform.
		if d.Reason == ReasonAuthRequired && !explicit {
			return &Offer{Target: r.Target, PriceMicroUSD: r.PriceMicroUSD, CheckoutURL: DefaultCheckoutURL,
				Machine: m.offer(r, "")}, nil
		}
	}
	return d, nil
}

// Settle implements Payer: a machine payment is settled when the call
// succeeded (unless it was settled already) and released when it failed. A
// settlement that fails is refused, and the claim released.
func (p *Step) Settle(ctx context.Context, c *Charged, o Outcome) (*Refused, error) {
	ref, err := p.settle(ctx, c, o)
	if p.Record != nil {
		switch {
		case err != nil || ref != nil:
			p.Record(c.Method, "settle_failed")
		case o.OK:
			p.Record(c.Method, "settled")
		default:
			p.Record(c.Method, "released")
		}
	}
	return ref, err
}

func (p *Step) settle(ctx context.Context, c *Charged, o Outcome) (*Refused, error) {
	mp := c.machine
	if mp == nil {
		return p.Platform.Settle(ctx, c, o)
	}
	if c.settled {
		return nil, nil
	}
	m := p.Machine
	if !o.OK {
		return nil, m.Claims.Release(ctx, mp.claimKey)
	}
	receipt, err := m.settle(ctx, c)
	if err != nil {
		m.log().Warn("settle machine payment", "plugin", mp.req.Target, "err", err)
		refused := m.refuse(mp.req, ReasonSettlementFailed, "The payment could not be settled")
		if c.Method == MethodX402 {
			// x402 reports a failed settlement in PAYMENT-RESPONSE too.
			if v, err := x402.EncodeHeader(x402.SettleResponse{Success: false, ErrorReason: "settlement_failed",
				Network: m.network(), Payer: mp.s.Authorization.From.Hex()}); err == nil {
				refused.SettleResponse = v
			}
		}
		return refused, nil
	}
	c.Receipt = receipt
	return nil, nil
}
