package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/money"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/payments"
)

// The payment step's decisions on the wire: what a request carries is read
// into a payments.Request, and each decision becomes the answer
// docs/api-conventions.md#plans-and-payment describes — Offer a 402 with
// every way to pay, Refused a 401, a 400 or an RFC 9457 problem with a fresh
// offer, Charged a receipt once settled.

// paid is a call the payment step let through: how it is paid, and the
// charge to settle once its outcome is known (nil when there is none).
type paid struct {
	method payments.Method
	charge *payments.Charged
}

// authorize runs the payment step for c: the payment to proceed with, or the
// answer to give instead.
func (g *Gateway) authorize(r *http.Request, c *payments.Request) (*paid, error) {
	readPayment(r, c)
	d, err := g.Payer.Authorize(r.Context(), c)
	if err != nil {
		return nil, err
	}
	switch d := d.(type) {
	case *payments.Covered:
		return &paid{method: d.Method}, nil
	case *payments.Charged:
		return &paid{method: d.Method, charge: d}, nil
	case *payments.Offer:
		return nil, offerError(d)
	case *payments.Refused:
		return nil, refusalError(d)
	}
	return nil, fmt.Errorf("payment step: unexpected decision %T", d)
}

// readPayment copies into c the payment r carries.
func readPayment(r *http.Request, c *payments.Request) {
	c.Method = payments.Method(strings.ToLower(strings.TrimSpace(r.Header.Get("X-Payment-Method"))))
	c.MPP, c.HasMPP = mpp.FromHeader(r.Header)
	c.X402 = x402Payment(r.Header)
	// A caller whose Authorization carries their own credentials (an API key)
	// is asked to send the payment in Payment-Authorization beside it.
	if v := r.Header.Get("Authorization"); v != "" && !strings.HasPrefix(strings.ToLower(v), "payment ") {
		c.ChallengeHeader = mpp.PaymentAuthorization
	}
	c.Path = r.URL.Path
}

// x402Payment is the x402 payment payload h carries: PAYMENT-SIGNATURE, or
// X-PAYMENT as x402 v1 named it.
func x402Payment(h http.Header) string {
	for _, name := range []string{"PAYMENT-SIGNATURE", "X-PAYMENT"} {
		if v := h.Get(name); v != "" {
			return v
		}
	}
	return ""
}

// offerError is the 402 of an offer: the checkout, and when machine payments
// are on, both protocols' offers in the body and headers.
func offerError(o *payments.Offer) *api.Error {
	e := &api.Error{Status: http.StatusPaymentRequired, Code: api.CodePaymentRequired, Message: "payment_required",
		Fields: map[string]any{
			"message": "Payment required for " + o.Target + ". Subscribe to a plan or pay per call.",
			"plugin":  o.Target,
			"stripe":  map[string]any{"checkoutUrl": o.CheckoutURL, "amount": money.FormatUSD(o.PriceMicroUSD), "currency": "usd"},
		}}
	m := o.Machine
	if m == nil {
		return e
	}
	e.Header = machineOfferHeader(m)
	exp := int64(0)
	if !m.ExpiresAt.IsZero() {
		exp = m.ExpiresAt.UnixMilli()
	}
	e.Fields["message"] = "Payment required for " + o.Target + ". Pay per call (MPP or x402), subscribe, or buy credits."
	e.Fields["mpp"] = map[string]any{"scheme": "Payment", "method": "evm", "intent": "charge",
		"amount": money.FormatUSD(o.PriceMicroUSD), "amountBaseUnits": m.AmountBaseUnits,
		"currency": m.Asset.Hex(), "recipient": m.PayTo.Hex(), "chainId": m.ChainID,
		"challengeId": m.ChallengeID, "expiresAt": exp}
	e.Fields["x402"] = map[string]any{"x402Version": 2, "accepts": []any{m.Requirements}}
	return e
}

// machineOfferHeader carries a machine offer: an MPP challenge and x402's
// PAYMENT-REQUIRED, never cached.
func machineOfferHeader(m *payments.MachineOffer) http.Header {
	h := http.Header{}
	if m.Challenge != "" {
		h.Add("WWW-Authenticate", m.Challenge)
	}
	if m.PaymentRequired != "" {
		h.Set("PAYMENT-REQUIRED", m.PaymentRequired)
	}
	h.Set("Cache-Control", "no-store")
	return h
}

// refusalError is the answer to a refused payment. A machine payment refused
// is an RFC 9457 problem (MPP's problem types) with a fresh offer.
func refusalError(r *payments.Refused) *api.Error {
	switch r.Reason {
	case payments.ReasonAuthRequired:
		return api.ErrAuthRequired
	case payments.ReasonInvalidMethod:
		return api.BadRequest(api.CodeInvalidPaymentMethod, "X-Payment-Method must be stripe, mpp or x402")
	case payments.ReasonMethodUnavailable:
		return api.BadRequest(api.CodePaymentMethodUnavailable, "Machine payments are not enabled on this gateway; pay with stripe")
	}
	status := http.StatusPaymentRequired
	if r.Reason == payments.ReasonMethodUnsupported {
		status = http.StatusBadRequest
	}
	code := r.Reason.Problem()
	h, id := http.Header{}, ""
	if r.Offer != nil {
		h, id = machineOfferHeader(r.Offer), r.Offer.ChallengeID
	}
	h.Set("Content-Type", "application/problem+json")
	if r.SettleResponse != "" {
		h.Set("PAYMENT-RESPONSE", r.SettleResponse)
	}
	return &api.Error{Status: status, Code: api.Code(strings.ToUpper(strings.ReplaceAll(code, "-", "_"))), Message: r.Detail,
		Header: h, Fields: map[string]any{"type": mpp.ProblemType(code), "title": mpp.ProblemTitles[code],
			"status": status, "detail": r.Detail, "challengeId": id, "plugin": r.Target}}
}

// setReceipt adds a settled machine payment's receipt to the response.
func setReceipt(w http.ResponseWriter, pay *paid) {
	if pay.charge == nil || pay.charge.Receipt == "" {
		return
	}
	name := "Payment-Receipt"
	if pay.method == payments.MethodX402 {
		name = "PAYMENT-RESPONSE"
	}
	h := w.Header()
	h.Set(name, pay.charge.Receipt)
	h.Set("Cache-Control", "private")
}

// paymentJSON is the answer's "payment" member.
func paymentJSON(pay *paid) paymentInfo {
	p := paymentInfo{Method: pay.method}
	if pay.charge != nil && pay.charge.Receipt != "" {
		p.Receipt = &pay.charge.Receipt
	}
	return p
}

// paymentInfo is how a call was paid: the method, and the machine payment's
// receipt (null for other methods).
type paymentInfo struct {
	Method  payments.Method `json:"method"`
	Receipt *string         `json:"receipt"`
}
