package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/x402"
)

// Machine payments: a caller without an account (or one whose account does
// not cover the call) pays per call over HTTP 402, with either protocol:
//
//   - MPP (draft-httpauth-payment): the 402 carries WWW-Authenticate: Payment
//     challenges; the client answers with Authorization (or
//     Payment-Authorization) "Payment <credential>" and gets Payment-Receipt.
//   - x402 v2: the 402 carries PAYMENT-REQUIRED; the client answers with
//     PAYMENT-SIGNATURE and gets PAYMENT-RESPONSE.
//
// Both pay with an EIP-3009 TransferWithAuthorization signed with EIP-712,
// verified here (the signer recovered locally); each authorization is claimed
// once across nodes, then settled through a Settler after the call succeeds
// (as it starts, for streams, whose headers go out first).

// Machine offers and accepts per-call payments.
type Machine struct {
	Issuer mpp.Issuer
	PayTo  evm.Address
	Domain evm.Domain // the asset's EIP-712 domain: name, version, chain, token address
	// Decimals of the asset: prices (micro-USD) are converted to its base units.
	Decimals int
	// PublicURL prefixes the x402 resource URL.
	PublicURL string
	Claims    Claims
	Settler   Settler
	Store     *store.Store
	Log       *slog.Logger
	Now       func() time.Time
}

func (m *Machine) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

func (m *Machine) network() string {
	return "eip155:" + strconv.FormatInt(m.Domain.ChainID, 10)
}

// baseUnits converts a price in micro-USD to the asset's base units (rounded up).
func (m *Machine) baseUnits(micro int64) *big.Int {
	v := big.NewInt(micro)
	if m.Decimals >= 6 {
		return v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(m.Decimals-6)), nil))
	}
	div := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(6-m.Decimals)), nil)
	q, r := new(big.Int).QuoRem(v, div, new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// evmTerms are the request of an evm/charge challenge (JCS-encoded).
type evmTerms struct {
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	Recipient     string `json:"recipient"`
	MethodDetails struct {
		ChainID         int64    `json:"chainId"`
		CredentialTypes []string `json:"credentialTypes,omitempty"`
		Decimals        *int     `json:"decimals,omitempty"`
	} `json:"methodDetails"`
}

func (m *Machine) terms(r *Request) map[string]any {
	return map[string]any{
		"amount":    m.baseUnits(r.PriceMicroUSD).String(),
		"currency":  m.Domain.VerifyingContract.Hex(),
		"recipient": m.PayTo.Hex(),
		"methodDetails": map[string]any{"chainId": m.Domain.ChainID, "credentialTypes": []string{"authorization"},
			"decimals": m.Decimals},
	}
}

func (m *Machine) requirements(r *Request) x402.Requirements {
	return x402.Requirements{Scheme: "exact", Network: m.network(), Amount: m.baseUnits(r.PriceMicroUSD).String(),
		Asset: m.Domain.VerifyingContract.Hex(), PayTo: m.PayTo.Hex(), MaxTimeoutSeconds: int64(m.ttl() / time.Second),
		Extra: map[string]any{"name": m.Domain.Name, "version": m.Domain.Version}}
}

func (m *Machine) ttl() time.Duration {
	if m.Issuer.TTL > 0 {
		return m.Issuer.TTL
	}
	return 5 * time.Minute
}

// offer is a fresh per-call payment for r: an MPP challenge and x402's
// requirements (whose error is reason, when a payment was refused).
func (m *Machine) offer(r *Request, reason string) *MachineOffer {
	is := m.Issuer
	is.Now = m.now
	o := &MachineOffer{Requirements: m.requirements(r), AmountBaseUnits: m.baseUnits(r.PriceMicroUSD).String(),
		Asset: m.Domain.VerifyingContract, PayTo: m.PayTo, ChainID: m.Domain.ChainID}
	ch, err := is.IssueFor(r.ChallengeHeader, "evm", "charge", m.terms(r), "Agentbot gateway call: "+r.Target)
	if err == nil {
		o.Challenge, o.ChallengeID = ch.Header(), ch.ID
		if t, ok := ch.ExpiresAt(); ok {
			o.ExpiresAt = t
		}
	} else {
		m.log().Error("issue MPP challenge", "err", err)
	}
	pr := x402.PaymentRequired{X402Version: 2, Error: reason,
		Resource: x402.Resource{URL: m.PublicURL + r.Path, Description: "Agentbot gateway call: " + r.Target, MimeType: "application/json"},
		Accepts:  []x402.Requirements{o.Requirements}}
	if pr.Error == "" {
		pr.Error = "Payment required"
	}
	if v, err := x402.EncodeHeader(pr); err == nil {
		o.PaymentRequired = v
	}
	return o
}

func (m *Machine) log() *slog.Logger {
	if m.Log != nil {
		return m.Log
	}
	return slog.Default()
}

// refuse is a refused machine payment, with a fresh offer to pay again.
func (m *Machine) refuse(r *Request, reason Reason, detail string) *Refused {
	return &Refused{Reason: reason, Detail: detail, Target: r.Target, Offer: m.offer(r, detail)}
}

// machinePayment is a verified machine payment awaiting settlement.
type machinePayment struct {
	req       *Request
	claimKey  string
	challenge string // the MPP challenge's id ("" for x402)
	s         *Settlement
}

// verifyTransfer checks an EIP-3009 authorization against a call's terms:
// recipient, exact value, a validity window that has begun, has at least
// minValidity left and ends no later than latest (so that its single-use
// claim need only be kept that long), and the signature. The error text is
// the reason given to the payer.
func (m *Machine) verifyTransfer(r *Request, a *evm.TransferAuthorization, sig []byte, minValidity time.Duration, latest time.Time) (Reason, error) {
	now := m.now()
	if a.To != m.PayTo {
		return ReasonVerificationFailed, errors.New("the authorization pays another recipient")
	}
	want := m.baseUnits(r.PriceMicroUSD)
	if a.Value.Cmp(want) < 0 {
		return ReasonInsufficient, fmt.Errorf("the authorization pays %s; this call costs %s", a.Value, want)
	}
	if a.Value.Cmp(want) != 0 {
		return ReasonVerificationFailed, fmt.Errorf("the authorization pays %s; this call costs exactly %s", a.Value, want)
	}
	unix := big.NewInt(now.Unix())
	if a.ValidAfter.Cmp(unix) > 0 {
		return ReasonVerificationFailed, errors.New("the authorization is not valid yet")
	}
	if a.ValidBefore.Cmp(big.NewInt(now.Add(minValidity).Unix())) <= 0 {
		return ReasonExpired, errors.New("the authorization has expired")
	}
	if a.ValidBefore.Cmp(big.NewInt(latest.Unix())) > 0 {
		return ReasonVerificationFailed, fmt.Errorf("the authorization stays valid past %s; sign one that expires sooner",
			latest.Format(time.RFC3339))
	}
	if err := evm.VerifyTransfer(m.Domain, *a, sig); err != nil {
		return ReasonVerificationFailed, errors.New("the signature is not the payer's")
	}
	return "", nil
}

func claimKey(d evm.Domain, a *evm.TransferAuthorization) string {
	return fmt.Sprintf("evm:%d:%s:%s:0x%x", d.ChainID, strings.ToLower(d.VerifyingContract.Hex()),
		strings.ToLower(a.From.Hex()), a.Nonce[:])
}

// claim takes the authorization's single use until it expires: nil when
// taken, a refusal when it was taken already.
func (m *Machine) claim(ctx context.Context, r *Request, key string, a *evm.TransferAuthorization) (*Refused, error) {
	// verifyTransfer bounded validBefore to minutes from now.
	until := time.Unix(a.ValidBefore.Int64(), 0)
	ok, err := m.Claims.Claim(ctx, key, until.Add(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("claim payment: %w", err)
	}
	if !ok {
		return m.refuse(r, ReasonReplayed, "This payment authorization was already used"), nil
	}
	return nil, nil
}

// charge claims a verified authorization and returns the charge to settle.
func (m *Machine) charge(ctx context.Context, r *Request, method Method, a *evm.TransferAuthorization, mp *machinePayment) (Decision, error) {
	mp.claimKey = claimKey(m.Domain, a)
	if refused, err := m.claim(ctx, r, mp.claimKey, a); refused != nil || err != nil {
		if err != nil {
			return nil, err
		}
		return refused, nil
	}
	mp.req = r
	return &Charged{Method: method, AmountMicroUSD: r.PriceMicroUSD, machine: mp}, nil
}

// authorizeMPP verifies an MPP credential, in the order the protocol sets:
// parse, binding, terms, expiry, payload, signature, then the single-use claim.
func (m *Machine) authorizeMPP(ctx context.Context, r *Request) (Decision, error) {
	refuse := func(reason Reason, detail string) (Decision, error) { return m.refuse(r, reason, detail), nil }
	cred, err := mpp.ParseCredential(r.MPP)
	if err != nil {
		return refuse(ReasonMalformedCredential, "The Payment credential is malformed")
	}
	ch := &cred.Challenge
	if ch.Method != "evm" || ch.Intent != "charge" {
		return refuse(ReasonMethodUnsupported, fmt.Sprintf("Payment method %s/%s is not accepted here; use evm/charge", ch.Method, ch.Intent))
	}
	if !m.Issuer.Verify(ch) {
		return refuse(ReasonInvalidChallenge, "The challenge was not issued by this server")
	}
	var got evmTerms
	if ch.Realm != m.Issuer.Realm || ch.DecodeRequest(&got) != nil {
		return refuse(ReasonInvalidChallenge, "The challenge does not match this call")
	}
	want := m.terms(r)
	if got.Amount != want["amount"] || got.MethodDetails.ChainID != m.Domain.ChainID ||
		!sameAddress(got.Currency, m.Domain.VerifyingContract) || !sameAddress(got.Recipient, m.PayTo) {
		return refuse(ReasonInvalidChallenge, "The challenge was issued for other terms than this call's (price "+
			want["amount"].(string)+")")
	}
	exp, ok := ch.ExpiresAt()
	if !ok {
		return refuse(ReasonInvalidChallenge, "The challenge has no expiry")
	}
	if !m.now().Before(exp) {
		return refuse(ReasonExpired, "The challenge expired at "+ch.Expires)
	}
	// The evm payload is x402's authorization, flattened, with a type and the signature.
	var p struct {
		Type string `json:"type"`
		x402.Authorization
		Signature string `json:"signature"`
	}
	if json.Unmarshal(cred.Payload, &p) != nil || p.Type != "authorization" {
		return refuse(ReasonInvalidPayload, "The payload must be an EIP-3009 authorization")
	}
	a, sig, err := parseAuthorization(p.Authorization, p.Signature)
	if err != nil {
		return refuse(ReasonInvalidPayload, "The authorization is malformed: "+err.Error())
	}
	if a.Nonce != evm.Keccak256([]byte(ch.ID+ch.Realm)) {
		return refuse(ReasonVerificationFailed, "The authorization's nonce is not bound to this challenge")
	}
	if cred.Source != "" && !strings.EqualFold(cred.Source, fmt.Sprintf("did:pkh:eip155:%d:%s", m.Domain.ChainID, a.From.Hex())) {
		return refuse(ReasonVerificationFailed, "The credential's source is not the authorization's signer")
	}
	if reason, err := m.verifyTransfer(r, a, sig, 0, exp.Add(m.ttl())); err != nil {
		return refuse(reason, err.Error())
	}
	req := m.requirements(r)
	return m.charge(ctx, r, MethodMPP, a, &machinePayment{challenge: ch.ID, s: &Settlement{Domain: m.Domain,
		Authorization: *a, Signature: sig, Requirements: req, Payload: x402Payload(req, a, sig, p.Signature)}})
}

// authorizeX402 verifies an x402 payment payload: decode, match the offered
// requirements, verify the authorization, then claim it.
func (m *Machine) authorizeX402(ctx context.Context, r *Request) (Decision, error) {
	refuse := func(reason Reason, detail string) (Decision, error) { return m.refuse(r, reason, detail), nil }
	var pp x402.PaymentPayload
	if err := x402.DecodeHeader(r.X402, &pp); err != nil || pp.X402Version != 2 {
		return refuse(ReasonMalformedCredential, "PAYMENT-SIGNATURE must be base64 JSON of an x402 v2 payment payload")
	}
	req := m.requirements(r)
	if !req.Matches(pp.Accepted) {
		return refuse(ReasonInvalidChallenge, "No matching payment requirements")
	}
	var ex x402.ExactPayload
	if json.Unmarshal(pp.Payload, &ex) != nil {
		return refuse(ReasonInvalidPayload, "The payload must be an exact EVM authorization")
	}
	a, sig, err := parseAuthorization(ex.Authorization, ex.Signature)
	if err != nil {
		return refuse(ReasonInvalidPayload, "The authorization is malformed: "+err.Error())
	}
	// The facilitator rule: at least 6 seconds of validity left to settle in.
	latest := m.now().Add(time.Duration(req.MaxTimeoutSeconds)*time.Second + 5*time.Minute) // clock skew
	if reason, err := m.verifyTransfer(r, a, sig, 6*time.Second, latest); err != nil {
		return refuse(reason, err.Error())
	}
	return m.charge(ctx, r, MethodX402, a, &machinePayment{s: &Settlement{Domain: m.Domain, Authorization: *a,
		Signature: sig, Requirements: req, Payload: pp}})
}

func x402Payload(req x402.Requirements, a *evm.TransferAuthorization, sig []byte, sigHex string) x402.PaymentPayload {
	body, _ := json.Marshal(x402.ExactPayload{Signature: sigHex, Authorization: x402.Authorization{
		From: a.From.Hex(), To: a.To.Hex(), Value: a.Value.String(), ValidAfter: a.ValidAfter.String(),
		ValidBefore: a.ValidBefore.String(), Nonce: fmt.Sprintf("0x%x", a.Nonce[:])}})
	return x402.PaymentPayload{X402Version: 2, Accepted: req, Payload: body}
}

func parseAuthorization(in x402.Authorization, signature string) (*evm.TransferAuthorization, []byte, error) {
	var a evm.TransferAuthorization
	var err error
	if a.From, err = evm.ParseAddress(in.From); err != nil {
		return nil, nil, errors.New("from is not an address")
	}
	if a.To, err = evm.ParseAddress(in.To); err != nil {
		return nil, nil, errors.New("to is not an address")
	}
	if a.Value, err = evm.ParseUint256(in.Value); err != nil {
		return nil, nil, errors.New("value is not an unsigned integer")
	}
	if a.ValidAfter, err = evm.ParseUint256(in.ValidAfter); err != nil {
		return nil, nil, errors.New("validAfter is not an unsigned integer")
	}
	if a.ValidBefore, err = evm.ParseUint256(in.ValidBefore); err != nil {
		return nil, nil, errors.New("validBefore is not an unsigned integer")
	}
	if a.Nonce, err = evm.ParseBytes32(in.Nonce); err != nil {
		return nil, nil, errors.New("nonce is not 32 bytes of hex")
	}
	sig, err := evm.ParseSignature(signature)
	if err != nil {
		return nil, nil, errors.New("signature is not 65 bytes of hex")
	}
	return &a, sig, nil
}

func sameAddress(s string, a evm.Address) bool {
	b, err := evm.ParseAddress(s)
	return err == nil && b == a
}
