// Package mpptest is a paying client for tests: a wallet that answers MPP
// evm/charge challenges and x402 exact requirements the way the reference
// clients (mppx, @x402/evm) do, signing EIP-3009 authorizations with its key.
package mpptest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/x402"
)

// Wallet signs payments with one key.
type Wallet struct {
	key     *secp256k1.PrivateKey
	Address evm.Address
}

// Test terms: Base Sepolia USDC's EIP-712 domain and a recipient, for tests
// of machine payments.
var (
	PayTo  = mustAddress("0x742d35cc6634c0532925a3b844bc9e7595f8fe00")
	USDC   = mustAddress("0x036CbD53842c5426634e7929541eC2318f3dCF7e")
	Domain = evm.Domain{Name: "USDC", Version: "2", ChainID: 84532, VerifyingContract: USDC}
)

func mustAddress(s string) evm.Address {
	a, err := evm.ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return a
}

// NewWallet returns a wallet with a fresh random key.
func NewWallet(t testing.TB) *Wallet {
	t.Helper()
	k, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub := k.PubKey().SerializeUncompressed()
	h := evm.Keccak256(pub[1:])
	w := &Wallet{key: k}
	copy(w.Address[:], h[12:])
	return w
}

// Sign returns the 0x-hex r‖s‖v signature of an authorization in domain d.
func (w *Wallet) Sign(d evm.Domain, a evm.TransferAuthorization) string {
	digest := evm.TransferDigest(d, a)
	c := ecdsa.SignCompact(w.key, digest[:], false) // v ‖ r ‖ s
	sig := append(append([]byte{}, c[1:]...), c[0])
	return "0x" + hex.EncodeToString(sig)
}

// PayMPP answers an evm/charge challenge as mppx does and returns the
// header value "Payment <credential>". tamper, if set, may change the
// authorization before it is signed and the echoed challenge fields.
func (w *Wallet) PayMPP(t testing.TB, d evm.Domain, ch mpp.Challenge, tamper func(*evm.TransferAuthorization, map[string]any)) string {
	t.Helper()
	var terms struct {
		Amount    string `json:"amount"`
		Recipient string `json:"recipient"`
	}
	if err := ch.DecodeRequest(&terms); err != nil {
		t.Fatal(err)
	}
	exp, _ := ch.ExpiresAt()
	to, _ := evm.ParseAddress(terms.Recipient)
	v, _ := new(big.Int).SetString(terms.Amount, 10)
	a := evm.TransferAuthorization{From: w.Address, To: to, Value: v, ValidAfter: big.NewInt(0),
		ValidBefore: big.NewInt(exp.Unix()), Nonce: evm.Keccak256([]byte(ch.ID + ch.Realm))}
	echo := map[string]any{"id": ch.ID, "realm": ch.Realm, "method": ch.Method, "intent": ch.Intent,
		"request": ch.Request, "expires": ch.Expires, "description": ch.Description}
	if ch.CredentialHeader != "" {
		echo["header"] = ch.CredentialHeader
	}
	if tamper != nil {
		tamper(&a, echo)
	}
	cred := map[string]any{"challenge": echo, "source": fmt.Sprintf("did:pkh:eip155:%d:%s", d.ChainID, w.Address.Hex()),
		"payload": map[string]any{"type": "authorization", "from": a.From.Hex(), "to": a.To.Hex(), "value": a.Value.String(),
			"validAfter": a.ValidAfter.String(), "validBefore": a.ValidBefore.String(),
			"nonce": "0x" + hex.EncodeToString(a.Nonce[:]), "signature": w.Sign(d, a)}}
	b, _ := json.Marshal(cred)
	return "Payment " + base64.RawURLEncoding.EncodeToString(b)
}

// PayX402 signs the first requirements of a PAYMENT-REQUIRED header value as
// @x402/evm does (random nonce, valid for maxTimeoutSeconds from now) and
// returns the PAYMENT-SIGNATURE value.
func (w *Wallet) PayX402(t testing.TB, d evm.Domain, paymentRequired string, now time.Time) string {
	t.Helper()
	var pr x402.PaymentRequired
	if err := x402.DecodeHeader(paymentRequired, &pr); err != nil || len(pr.Accepts) == 0 {
		t.Fatalf("PAYMENT-REQUIRED: %+v, %v", pr, err)
	}
	req := pr.Accepts[0]
	var nonce [32]byte
	_, _ = rand.Read(nonce[:])
	to, _ := evm.ParseAddress(req.PayTo)
	v, _ := new(big.Int).SetString(req.Amount, 10)
	a := evm.TransferAuthorization{From: w.Address, To: to, Value: v, ValidAfter: big.NewInt(0),
		ValidBefore: big.NewInt(now.Unix() + req.MaxTimeoutSeconds), Nonce: nonce}
	payload, _ := json.Marshal(x402.ExactPayload{Signature: w.Sign(d, a), Authorization: x402.Authorization{
		From: a.From.Hex(), To: a.To.Hex(), Value: a.Value.String(), ValidAfter: "0", ValidBefore: a.ValidBefore.String(),
		Nonce: "0x" + hex.EncodeToString(nonce[:])}})
	h, err := x402.EncodeHeader(x402.PaymentPayload{X402Version: 2, Resource: &pr.Resource, Accepted: req, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
