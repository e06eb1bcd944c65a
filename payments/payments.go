// Package payments decides how a gateway call is paid: by an active
// subscription (or an admin's account), by the caller's credits, or per call
// with a machine payment (MPP or x402), and settles what it charged once the
// call's outcome is known. It answers with typed decisions — Covered, Charged,
// Offer, Refused — and knows nothing of HTTP status codes: the gateway
// translates decisions to responses. Header values the protocols define (an
// MPP challenge, x402's PAYMENT-REQUIRED, a receipt) travel as data in the
// decisions. The rules are those of docs/api-conventions.md#plans-and-payment.
package payments

import (
	"context"
	"time"

	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/x402"
)

// Method is how a call is paid. Its values are the wire's: X-Payment-Method,
// the answer's payment.method and the usage records all carry them.
type Method string

const (
	// MethodFree is a call whose price is zero.
	MethodFree Method = "free"
	// MethodStripe is the platform: a subscription or credits bought through Stripe.
	MethodStripe Method = "stripe"
	// MethodMPP is a per-call payment over MPP (a "Payment" credential).
	MethodMPP Method = "mpp"
	// MethodX402 is a per-call payment over x402 (PAYMENT-SIGNATURE).
	MethodX402 Method = "x402"
)

// Request is a call awaiting payment, with the payment it carries.
type Request struct {
	// Target is the gateway id called.
	Target        string
	PriceMicroUSD int64
	// Principal is nil for an anonymous caller.
	Principal *auth.Principal
	// User is the principal's account (nil when anonymous).
	User *store.User

	// Method is the method the caller chose, lower case ("" when none). A
	// value that names no method is refused with ReasonInvalidMethod.
	Method Method
	// HasMPP reports that an MPP credential was presented; MPP is it
	// (without its "Payment" scheme).
	HasMPP bool
	MPP    string
	// X402 is the x402 payment payload presented (base64 JSON), "" when none.
	X402 string
	// ChallengeHeader is the header an MPP challenge asks the credential in:
	// "" for Authorization, mpp.PaymentAuthorization when the caller's own
	// credentials already occupy Authorization.
	ChallengeHeader string
	// Path is the request's path; x402 names the resource paid for by it.
	Path string
}

func (r *Request) userID() string {
	if r.Principal == nil {
		return ""
	}
	return r.Principal.UserID
}

// Outcome is how a paid call ended.
type Outcome struct {
	// OK charges the call; otherwise what was held for it is released.
	OK bool
	// CostMicroUSD is the amount to settle (the price when charged).
	CostMicroUSD int64
}

// Payer is the payment step. Authorize decides whether a call may proceed;
// its error is a failure of the step itself (a database down), never an
// answer to the caller. Settle completes a Charged decision once the call's
// outcome is known: charging on success, releasing otherwise. It returns a
// Refused when a machine payment could not be settled, in which case the
// call's output must be withheld.
type Payer interface {
	Authorize(ctx context.Context, r *Request) (Decision, error)
	Settle(ctx context.Context, c *Charged, o Outcome) (*Refused, error)
}

// Decision is the payment step's answer to a call: *Covered, *Charged,
// *Offer or *Refused.
type Decision interface{ decision() }

// Covered lets a call through with nothing to settle: a free call, an
// admin, an active subscription.
type Covered struct {
	Method Method
}

// Charged lets a call through with money held for it — credits reserved or
// a machine payment verified and claimed — to be settled with Payer.Settle.
type Charged struct {
	Method         Method
	AmountMicroUSD int64
	// Receipt is a settled machine payment's receipt: MPP's Payment-Receipt
	// value, or x402's PAYMENT-RESPONSE value ("" until then, and for credits).
	Receipt string

	credits *reservation
	machine *machinePayment
	settled bool
}

// Settled reports whether the charge was already taken (a machine payment
// settled as its stream started): the call is paid for, whatever follows.
func (c *Charged) Settled() bool { return c.settled }

// NeedsReceipt reports whether settling the charge yields a receipt (a
// machine payment). The receipt travels in the response headers, so a
// stream, whose headers leave before its outcome is known, settles such a
// charge as it starts.
func (c *Charged) NeedsReceipt() bool { return c.machine != nil }

// Offer is the answer to a priced call that nothing pays for yet: every
// way to pay, presented at once.
type Offer struct {
	Target        string
	PriceMicroUSD int64
	// CheckoutURL is where an account subscribes or buys credits.
	CheckoutURL string
	// Machine is the per-call payment offered; nil when machine payments are off.
	Machine *MachineOffer
}

// MachineOffer is one per-call payment, offered in both protocols.
type MachineOffer struct {
	// Challenge is the MPP challenge, a WWW-Authenticate value ("" when none
	// could be issued); ChallengeID is its id and ExpiresAt its expiry (zero
	// when unknown).
	Challenge   string
	ChallengeID string
	ExpiresAt   time.Time
	// PaymentRequired is x402's PAYMENT-REQUIRED value ("" when it could not
	// be encoded); Requirements are what it accepts.
	PaymentRequired string
	Requirements    x402.Requirements
	// The terms: an amount in the asset's base units, paid to PayTo on ChainID.
	AmountBaseUnits string
	Asset           evm.Address
	PayTo           evm.Address
	ChainID         int64
}

// Refused is the answer to a call whose payment was refused.
type Refused struct {
	Reason Reason
	// Detail says why, for the payer (machine payments).
	Detail string
	Target string
	// Offer is a fresh machine payment to pay with instead; it comes with
	// every machine payment refused, nil otherwise.
	Offer *MachineOffer
	// SettleResponse is x402's PAYMENT-RESPONSE value reporting a failed
	// settlement ("" otherwise).
	SettleResponse string
}

func (*Covered) decision() {}
func (*Charged) decision() {}
func (*Offer) decision()   {}
func (*Refused) decision() {}

// Reason is why a payment was refused.
type Reason string

const (
	// ReasonAuthRequired: the platform pays only for an account, and the
	// caller has none (nor pays per call).
	ReasonAuthRequired Reason = "auth-required"
	// ReasonInvalidMethod: the method chosen names no method.
	ReasonInvalidMethod Reason = "invalid-method"
	// ReasonMethodUnavailable: a machine payment was chosen, and machine
	// payments are off.
	ReasonMethodUnavailable Reason = "method-unavailable"

	// Machine payments refused; each comes with a fresh offer.

	// ReasonCredentialMissing: a machine payment was chosen without one.
	ReasonCredentialMissing Reason = "credential-missing"
	// ReasonMalformedCredential: the credential does not parse.
	ReasonMalformedCredential Reason = "malformed-credential"
	// ReasonMethodUnsupported: an MPP method or intent other than evm/charge.
	ReasonMethodUnsupported Reason = "method-unsupported"
	// ReasonInvalidChallenge: not our challenge, or not for this call's terms.
	ReasonInvalidChallenge Reason = "invalid-challenge"
	// ReasonExpired: the challenge or the authorization has expired.
	ReasonExpired Reason = "expired"
	// ReasonInvalidPayload: the payload is not a well-formed EIP-3009 authorization.
	ReasonInvalidPayload Reason = "invalid-payload"
	// ReasonInsufficient: the authorization pays less than the price.
	ReasonInsufficient Reason = "insufficient"
	// ReasonVerificationFailed: the authorization does not hold (recipient,
	// amount, validity, binding, signature).
	ReasonVerificationFailed Reason = "verification-failed"
	// ReasonReplayed: the authorization was used already.
	ReasonReplayed Reason = "replayed"
	// ReasonSettlementFailed: the payment verified but could not be settled.
	ReasonSettlementFailed Reason = "settlement-failed"
)

// Problem is the MPP problem type code (https://paymentauth.org/problems/…)
// of a machine payment refused, "" for the other reasons.
func (r Reason) Problem() string {
	switch r {
	case ReasonCredentialMissing:
		return "payment-required"
	case ReasonMalformedCredential:
		return "malformed-credential"
	case ReasonMethodUnsupported:
		return "method-unsupported"
	case ReasonInvalidChallenge:
		return "invalid-challenge"
	case ReasonExpired:
		return "payment-expired"
	case ReasonInvalidPayload:
		return "invalid-payload"
	case ReasonInsufficient:
		return "payment-insufficient"
	case ReasonVerificationFailed, ReasonReplayed, ReasonSettlementFailed:
		return "verification-failed"
	}
	return ""
}

// DefaultCheckoutURL is where an account without a plan is sent to subscribe.
const DefaultCheckoutURL = "/api/stripe/checkout?plan=solo"

func checkoutURL(s string) string {
	if s == "" {
		return DefaultCheckoutURL
	}
	return s
}
