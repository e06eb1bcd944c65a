package x402

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/evm"
)

// The official @x402/evm client's payment verifies with core/evm: the two
// packages together are the local "exact" check.
func TestOfficialClientPaymentVerifies(t *testing.T) {
	o := loadOfficial(t)
	var pr PaymentRequired
	var p PaymentPayload
	if err := DecodeHeader(o.PaymentRequired, &pr); err != nil {
		t.Fatal(err)
	}
	if err := DecodeHeader(o.PaymentSignature, &p); err != nil {
		t.Fatal(err)
	}
	r := pr.Accepts[0]
	if !r.Matches(p.Accepted) {
		t.Fatalf("advertised %+v does not match echoed %+v", r, p.Accepted)
	}
	var ex ExactPayload
	if err := json.Unmarshal(p.Payload, &ex); err != nil {
		t.Fatal(err)
	}

	chainID, err := strconv.ParseInt(strings.TrimPrefix(r.Network, "eip155:"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	asset, err := evm.ParseAddress(r.Asset)
	if err != nil {
		t.Fatal(err)
	}
	name, _ := r.Extra["name"].(string)
	version, _ := r.Extra["version"].(string)
	d := evm.Domain{Name: name, Version: version, ChainID: chainID, VerifyingContract: asset}

	a := ex.Authorization
	var auth evm.TransferAuthorization
	for _, step := range []error{
		parse(&auth.From, a.From, evm.ParseAddress),
		parse(&auth.To, a.To, evm.ParseAddress),
		parsePtr(&auth.Value, a.Value),
		parsePtr(&auth.ValidAfter, a.ValidAfter),
		parsePtr(&auth.ValidBefore, a.ValidBefore),
		parse(&auth.Nonce, a.Nonce, evm.ParseBytes32),
	} {
		if step != nil {
			t.Fatalf("parsing %+v: %v", a, step)
		}
	}
	sig, err := evm.ParseSignature(ex.Signature)
	if err != nil {
		t.Fatal(err)
	}
	if err := evm.VerifyTransfer(d, auth, sig); err != nil {
		t.Errorf("VerifyTransfer(official client's payment) = %v; want nil", err)
	}
	if auth.From.Hex() != o.Signer || a.To != r.PayTo || a.Value != r.Amount {
		t.Errorf("authorization %+v does not pay %s %s from %s", a, r.Amount, r.PayTo, o.Signer)
	}

	// The same signature for a different price does not verify.
	auth.Value.SetInt64(1)
	if err := evm.VerifyTransfer(d, auth, sig); err == nil {
		t.Error("VerifyTransfer(value changed) = nil; want an error")
	}
}

func parse[T any](dst *T, s string, f func(string) (T, error)) (err error) {
	*dst, err = f(s)
	return err
}

func parsePtr(dst **big.Int, s string) (err error) {
	*dst, err = evm.ParseUint256(s)
	return err
}
