package gateway

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentbot/gateway/core/api"
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
// (before it starts, for streams, whose headers go out first).

// Claims makes payment authorizations single-use across gateway nodes.
type Claims interface {
	// Claim reports false when key was already claimed.
	Claim(ctx context.Context, key string, until time.Time) (bool, error)
	// Release forgets a claim whose payment never settled.
	Release(ctx context.Context, key string) error
}

// StoreClaims keeps claims in the database.
type StoreClaims struct{ Store *store.Store }

// Claim implements Claims.
func (c StoreClaims) Claim(ctx context.Context, key string, until time.Time) (bool, error) {
	return c.Store.ClaimPayment(ctx, key, until)
}

// Release implements Claims.
func (c StoreClaims) Release(ctx context.Context, key string) error {
	return c.Store.ReleasePayment(ctx, key)
}

// Settlement is a verified authorization to settle.
type Settlement struct {
	Domain        evm.Domain
	Authorization evm.TransferAuthorization
	Signature     []byte
	// Requirements and Payload are the x402 form of the payment (built for MPP
	// credentials too), for settlement through a facilitator.
	Requirements x402.Requirements
	Payload      x402.PaymentPayload
}

// Settler moves the money of a verified authorization.
type Settler interface {
	// Settle returns the settlement's reference (a transaction hash).
	Settle(ctx context.Context, s *Settlement) (string, error)
}

// LocalSettler records payments without moving money: for development and
// tests, where no chain is reachable. Its reference is a deterministic hash
// of the authorization.
type LocalSettler struct{}

// Settle implements Settler.
func (LocalSettler) Settle(_ context.Context, s *Settlement) (string, error) {
	d := evm.TransferDigest(s.Domain, s.Authorization)
	h := evm.Keccak256([]byte("agentbot-local-settlement"), d[:])
	return "0x" + hex.EncodeToString(h[:]), nil
}

// FacilitatorSettler settles through an x402 facilitator's /settle.
type FacilitatorSettler struct{ Facilitator *x402.Facilitator }

// Settle implements Settler.
func (f FacilitatorSettler) Settle(ctx context.Context, s *Settlement) (string, error) {
	resp, err := f.Facilitator.Settle(ctx, s.Payload, s.Requirements)
	if err != nil {
		return "", err
	}
	if !resp.Success {
		reason := resp.ErrorReason
		if reason == "" {
			reason = "settlement failed"
		}
		return "", fmt.Errorf("facilitator: %s %s", reason, resp.ErrorMessage)
	}
	return resp.Transaction, nil
}

// MachinePayments offers and accepts per-call payments.
type MachinePayments struct {
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

func (m *MachinePayments) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

func (m *MachinePayments) network() string {
	return "eip155:" + strconv.FormatInt(m.Domain.ChainID, 10)
}

// baseUnits converts a price in micro-USD to the asset's base units (rounded up).
func (m *MachinePayments) baseUnits(micro int64) *big.Int {
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

func (m *MachinePayments) terms(c *Call) map[string]any {
	return map[string]any{
		"amount":    m.baseUnits(c.PriceMicroUSD).String(),
		"currency":  m.Domain.VerifyingContract.Hex(),
		"recipient": m.PayTo.Hex(),
		"methodDetails": map[string]any{"chainId": m.Domain.ChainID, "credentialTypes": []string{"authorization"},
			"decimals": m.Decimals},
	}
}

func (m *MachinePayments) requirements(c *Call) x402.Requirements {
	return x402.Requirements{Scheme: "exact", Network: m.network(), Amount: m.baseUnits(c.PriceMicroUSD).String(),
		Asset: m.Domain.VerifyingContract.Hex(), PayTo: m.PayTo.Hex(), MaxTimeoutSeconds: int64(m.ttl() / time.Second),
		Extra: map[string]any{"name": m.Domain.Name, "version": m.Domain.Version}}
}

func (m *MachinePayments) ttl() time.Duration {
	if m.Issuer.TTL > 0 {
		return m.Issuer.TTL
	}
	return 5 * time.Minute
}

// offer sets the 402 headers for a call: an MPP challenge and x402's
// PAYMENT-REQUIRED (whose error is reason, when a payment was refused). It
// returns the challenge's id.
func (m *MachinePayments) offer(h http.Header, r *http.Request, c *Call, reason string) string {
	is := m.Issuer
	is.Now = m.now
	// A caller whose Authorization carries their own credentials (an API key)
	// is asked to send the payment in Payment-Authorization beside it.
	header := ""
	if v := r.Header.Get("Authorization"); v != "" && !strings.HasPrefix(strings.ToLower(v), "payment ") {
		header = mpp.PaymentAuthorization
	}
	ch, err := is.IssueFor(header, "evm", "charge", m.terms(c), "Agentbot gateway call: "+c.ID)
	id := ""
	if err == nil {
		h.Add("WWW-Authenticate", ch.Header())
		id = ch.ID
	} else {
		m.log().Error("issue MPP challenge", "err", err)
	}
	pr := x402.PaymentRequired{X402Version: 2, Error: reason,
		Resource: x402.Resource{URL: m.PublicURL + r.URL.Path, Description: "Agentbot gateway call: " + c.ID, MimeType: "application/json"},
		Accepts:  []x402.Requirements{m.requirements(c)}}
	if pr.Error == "" {
		pr.Error = "Payment required"
	}
	if v, err := x402.EncodeHeader(pr); err == nil {
		h.Set("PAYMENT-REQUIRED", v)
	}
	h.Set("Cache-Control", "no-store")
	return id
}

func (m *MachinePayments) log() *slog.Logger {
	if m.Log != nil {
		return m.Log
	}
	return slog.Default()
}

// refuse is the answer to a refused payment: RFC 9457 problem+json with a
// fresh offer.
func (m *MachinePayments) refuse(r *http.Request, c *Call, code, detail string) *api.Error {
	status := http.StatusPaymentRequired
	if code == "method-unsupported" || code == "bad-request" {
		status = http.StatusBadRequest
	}
	h := http.Header{}
	id := m.offer(h, r, c, detail)
	h.Set("Content-Type", "application/problem+json")
	title := mpp.ProblemTitles[code]
	return &api.Error{Status: status, Code: strings.ToUpper(strings.ReplaceAll(code, "-", "_")), Message: detail, Header: h,
		Fields: map[string]any{"type": mpp.ProblemType(code), "title": title, "status": status, "detail": detail,
			"challengeId": id, "plugin": c.ID}}
}

// machinePayment is a verified machine payment awaiting settlement.
type machinePayment struct {
	protocol  string // "mpp" or "x402"
	claimKey  string
	challenge string
	s         *Settlement
	settled   bool
	call      *Call
	refuse    func(code, detail string) *api.Error
}

// verifyTransfer checks an EIP-3009 authorization against a call's terms:
// recipient, exact value, a validity window that has begun, has at least
// minValidity left and ends no later than latest (so that its single-use
// claim need only be kept that long), and the signature. The error text is
// the reason given to the payer.
func (m *MachinePayments) verifyTransfer(c *Call, a *evm.TransferAuthorization, sig []byte, minValidity time.Duration, latest time.Time) (code string, err error) {
	now := m.now()
	if a.To != m.PayTo {
		return "verification-failed", errors.New("the authorization pays another recipient")
	}
	want := m.baseUnits(c.PriceMicroUSD)
	if a.Value.Cmp(want) < 0 {
		return "payment-insufficient", fmt.Errorf("the authorization pays %s; this call costs %s", a.Value, want)
	}
	if a.Value.Cmp(want) != 0 {
		return "verification-failed", fmt.Errorf("the authorization pays %s; this call costs exactly %s", a.Value, want)
	}
	unix := big.NewInt(now.Unix())
	if a.ValidAfter.Cmp(unix) > 0 {
		return "verification-failed", errors.New("the authorization is not valid yet")
	}
	if a.ValidBefore.Cmp(big.NewInt(now.Add(minValidity).Unix())) <= 0 {
		return "payment-expired", errors.New("the authorization has expired")
	}
	if a.ValidBefore.Cmp(big.NewInt(latest.Unix())) > 0 {
		return "verification-failed", fmt.Errorf("the authorization stays valid past %s; sign one that expires sooner",
			latest.Format(time.RFC3339))
	}
	if err := evm.VerifyTransfer(m.Domain, *a, sig); err != nil {
		return "verification-failed", errors.New("the signature is not the payer's")
	}
	return "", nil
}

func claimKey(d evm.Domain, a *evm.TransferAuthorization) string {
	return fmt.Sprintf("evm:%d:%s:%s:0x%x", d.ChainID, strings.ToLower(d.VerifyingContract.Hex()),
		strings.ToLower(a.From.Hex()), a.Nonce[:])
}

// claim takes the authorization's single use until it expires.
func (m *MachinePayments) claim(ctx context.Context, r *http.Request, c *Call, key string, a *evm.TransferAuthorization) *api.Error {
	// verifyTransfer bounded validBefore to minutes from now.
	until := time.Unix(a.ValidBefore.Int64(), 0)
	ok, err := m.Claims.Claim(ctx, key, until.Add(time.Minute))
	if err != nil {
		return api.Internal(fmt.Errorf("claim payment: %w", err))
	}
	if !ok {
		return m.refuse(r, c, "verification-failed", "This payment authorization was already used")
	}
	return nil
}

// authorizeMPP verifies an MPP credential, in the order the protocol sets:
// parse, binding, terms, expiry, payload, signature, then the single-use claim.
func (m *MachinePayments) authorizeMPP(ctx context.Context, r *http.Request, c *Call, token string) (*machinePayment, error) {
	cred, err := mpp.ParseCredential(token)
	if err != nil {
		return nil, m.refuse(r, c, "malformed-credential", "The Payment credential is malformed")
	}
	ch := &cred.Challenge
	if ch.Method != "evm" || ch.Intent != "charge" {
		return nil, m.refuse(r, c, "method-unsupported", fmt.Sprintf("Payment method %s/%s is not accepted here; use evm/charge", ch.Method, ch.Intent))
	}
	if !m.Issuer.Verify(ch) {
		return nil, m.refuse(r, c, "invalid-challenge", "The challenge was not issued by this server")
	}
	var got evmTerms
	if ch.Realm != m.Issuer.Realm || ch.DecodeRequest(&got) != nil {
		return nil, m.refuse(r, c, "invalid-challenge", "The challenge does not match this call")
	}
	want := m.terms(c)
	if got.Amount != want["amount"] || got.MethodDetails.ChainID != m.Domain.ChainID ||
		!sameAddress(got.Currency, m.Domain.VerifyingContract) || !sameAddress(got.Recipient, m.PayTo) {
		return nil, m.refuse(r, c, "invalid-challenge", "The challenge was issued for other terms than this call's (price "+
			want["amount"].(string)+")")
	}
	exp, ok := ch.ExpiresAt()
	if !ok {
		return nil, m.refuse(r, c, "invalid-challenge", "The challenge has no expiry")
	}
	if !m.now().Before(exp) {
		return nil, m.refuse(r, c, "payment-expired", "The challenge expired at "+ch.Expires)
	}
	// The evm payload is x402's authorization, flattened, with a type and the signature.
	var p struct {
		Type string `json:"type"`
		x402.Authorization
		Signature string `json:"signature"`
	}
	if json.Unmarshal(cred.Payload, &p) != nil || p.Type != "authorization" {
		return nil, m.refuse(r, c, "invalid-payload", "The payload must be an EIP-3009 authorization")
	}
	a, sig, err := parseAuthorization(p.Authorization, p.Signature)
	if err != nil {
		return nil, m.refuse(r, c, "invalid-payload", "The authorization is malformed: "+err.Error())
	}
	if a.Nonce != evm.Keccak256([]byte(ch.ID+ch.Realm)) {
		return nil, m.refuse(r, c, "verification-failed", "The authorization's nonce is not bound to this challenge")
	}
	if cred.Source != "" && !strings.EqualFold(cred.Source, fmt.Sprintf("did:pkh:eip155:%d:%s", m.Domain.ChainID, a.From.Hex())) {
		return nil, m.refuse(r, c, "verification-failed", "The credential's source is not the authorization's signer")
	}
	if code, err := m.verifyTransfer(c, a, sig, 0, exp.Add(m.ttl())); err != nil {
		return nil, m.refuse(r, c, code, err.Error())
	}
	key := claimKey(m.Domain, a)
	if e := m.claim(ctx, r, c, key, a); e != nil {
		return nil, e
	}
	req := m.requirements(c)
	return &machinePayment{protocol: "mpp", claimKey: key, challenge: ch.ID, s: &Settlement{Domain: m.Domain,
		Authorization: *a, Signature: sig, Requirements: req, Payload: x402Payload(req, a, sig, p.Signature)}}, nil
}

// authorizeX402 verifies a PAYMENT-SIGNATURE: decode, match the offered
// requirements, verify the authorization, then claim it.
func (m *MachinePayments) authorizeX402(ctx context.Context, r *http.Request, c *Call, header string) (*machinePayment, error) {
	var pp x402.PaymentPayload
	if err := x402.DecodeHeader(header, &pp); err != nil || pp.X402Version != 2 {
		return nil, m.refuse(r, c, "malformed-credential", "PAYMENT-SIGNATURE must be base64 JSON of an x402 v2 payment payload")
	}
	req := m.requirements(c)
	if !req.Matches(pp.Accepted) {
		return nil, m.refuse(r, c, "invalid-challenge", "No matching payment requirements")
	}
	var ex x402.ExactPayload
	if json.Unmarshal(pp.Payload, &ex) != nil {
		return nil, m.refuse(r, c, "invalid-payload", "The payload must be an exact EVM authorization")
	}
	a, sig, err := parseAuthorization(ex.Authorization, ex.Signature)
	if err != nil {
		return nil, m.refuse(r, c, "invalid-payload", "The authorization is malformed: "+err.Error())
	}
	// The facilitator rule: at least 6 seconds of validity left to settle in.
	latest := m.now().Add(time.Duration(req.MaxTimeoutSeconds)*time.Second + 5*time.Minute) // clock skew
	if code, err := m.verifyTransfer(c, a, sig, 6*time.Second, latest); err != nil {
		return nil, m.refuse(r, c, code, err.Error())
	}
	key := claimKey(m.Domain, a)
	if e := m.claim(ctx, r, c, key, a); e != nil {
		return nil, e
	}
	return &machinePayment{protocol: "x402", claimKey: key, s: &Settlement{Domain: m.Domain, Authorization: *a,
		Signature: sig, Requirements: req, Payload: pp}}, nil
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

// settle moves the money of a verified payment, records it and returns the
// receipt header to send; on failure the claim is released.
func (m *MachinePayments) settle(ctx context.Context, c *Call, pay *Payment) (header, value string, err error) {
	mp := pay.machine
	ref, err := m.Settler.Settle(ctx, mp.s)
	if err != nil {
		if rerr := m.Claims.Release(ctx, mp.claimKey); rerr != nil {
			m.log().Error("release payment claim", "key", mp.claimKey, "err", rerr)
		}
		return "", "", err
	}
	mp.settled = true
	ts := m.now().Format(time.RFC3339Nano)
	if mp.protocol == "mpp" {
		header, value = "Payment-Receipt", mpp.Receipt{Method: "evm", Reference: ref, Status: "success", Timestamp: ts}.Encode()
	} else {
		header = "PAYMENT-RESPONSE"
		value, _ = x402.EncodeHeader(x402.SettleResponse{Success: true, Transaction: ref, Network: m.network(),
			Payer: mp.s.Authorization.From.Hex(), Amount: mp.s.Authorization.Value.String()})
	}
	uid := ""
	if c.Principal != nil {
		uid = c.Principal.UserID
	}
	rec := &store.MachinePayment{UserID: uid, Protocol: mp.protocol, Method: "evm", Payer: mp.s.Authorization.From.Hex(),
		Network: m.network(), Asset: m.Domain.VerifyingContract.Hex(), Amount: mp.s.Authorization.Value.String(),
		AmountMicroUSD: c.PriceMicroUSD, Target: c.ID, ChallengeID: mp.challenge, ClaimKey: mp.claimKey,
		Reference: ref, Receipt: value}
	if err := m.Store.RecordPayment(ctx, rec); err != nil {
		// The money moved: the answer goes out; the record is logged for reconciliation.
		m.log().Error("record machine payment", "payer", rec.Payer, "reference", ref, "claim", rec.ClaimKey, "err", err)
	}
	return header, value, nil
}
