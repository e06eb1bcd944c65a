package x402

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// official is testdata/headers.json, made by @x402/core and @x402/evm 2.27.0 (testdata/gen.mjs).
type official struct {
	Signer, PaymentRequired, PaymentSignature, PaymentResponse string
}

func loadOfficial(t *testing.T) official {
	t.Helper()
	raw, err := os.ReadFile("testdata/headers.json")
	if err != nil {
		t.Fatal(err)
	}
	var o official
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOfficialHeaders(t *testing.T) {
	o := loadOfficial(t)

	var pr PaymentRequired
	if err := DecodeHeader(o.PaymentRequired, &pr); err != nil {
		t.Fatalf("DecodeHeader(PAYMENT-REQUIRED) = %v", err)
	}
	want := Requirements{Scheme: "exact", Network: "eip155:84532", Amount: "10000",
		Asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", PayTo: "0x742d35Cc6634C0532925a3b844Bc454e4438f44e",
		MaxTimeoutSeconds: 300, Extra: map[string]any{"name": "USDC", "version": "2"}}
	if pr.X402Version != 2 || pr.Error != "Payment required" || pr.Resource.URL != "http://127.0.0.1:8080/api/v1/gateway" ||
		pr.Resource.Description != "gateway call <&>" || pr.Resource.MimeType != "application/json" ||
		len(pr.Accepts) != 1 || !reflect.DeepEqual(pr.Accepts[0], want) {
		t.Errorf("DecodeHeader(PAYMENT-REQUIRED) = %+v", pr)
	}
	// Same field order and no HTML escaping as JSON.stringify: byte-identical.
	if got, err := EncodeHeader(pr); err != nil || got != o.PaymentRequired {
		t.Errorf("EncodeHeader(PaymentRequired) = %q, %v; want @x402/core's %q", got, err, o.PaymentRequired)
	}

	var sr SettleResponse
	if err := DecodeHeader(o.PaymentResponse, &sr); err != nil {
		t.Fatalf("DecodeHeader(PAYMENT-RESPONSE) = %v", err)
	}
	if !sr.Success || sr.Network != "eip155:84532" || sr.Payer != o.Signer || sr.Transaction != "0x"+strings.Repeat("ab", 32) {
		t.Errorf("DecodeHeader(PAYMENT-RESPONSE) = %+v", sr)
	}
	if got, err := EncodeHeader(sr); err != nil || got != o.PaymentResponse {
		t.Errorf("EncodeHeader(SettleResponse) = %q, %v; want @x402/core's %q", got, err, o.PaymentResponse)
	}

	var p PaymentPayload
	if err := DecodeHeader(o.PaymentSignature, &p); err != nil {
		t.Fatalf("DecodeHeader(PAYMENT-SIGNATURE) = %v", err)
	}
	if p.X402Version != 2 || p.Resource == nil || p.Resource.URL != pr.Resource.URL || !pr.Accepts[0].Matches(p.Accepted) {
		t.Errorf("DecodeHeader(PAYMENT-SIGNATURE) = %+v", p)
	}
	var ex ExactPayload
	if err := json.Unmarshal(p.Payload, &ex); err != nil {
		t.Fatal(err)
	}
	a := ex.Authorization
	if a.From != o.Signer || a.To != want.PayTo || a.Value != want.Amount || a.ValidAfter != "0" ||
		len(a.Nonce) != 66 || len(ex.Signature) != 132 || a.ValidBefore == "" {
		t.Errorf("ExactPayload = %+v", ex)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	pr := PaymentRequired{X402Version: 2, Resource: Resource{URL: "https://gw.example/v1/x?a=1&b=<2>"},
		Accepts: []Requirements{{Scheme: "exact", Network: "eip155:8453", Amount: "1", Asset: "0xA", PayTo: "0xB",
			MaxTimeoutSeconds: 60, Extra: map[string]any{"name": "USD Coin", "version": "2", "n": 1.5, "nested": map[string]any{"k": []any{"v", true}}}}},
		Extensions: map[string]any{"bazaar": map[string]any{"info": "é ✓ 🚀"}}}
	p := PaymentPayload{X402Version: 2, Accepted: pr.Accepts[0], Payload: json.RawMessage(`{"signature":"0x01","authorization":{"from":"0xF"}}`)}
	s := SettleResponse{Success: false, Network: "eip155:8453", ErrorReason: "insufficient_funds", ErrorMessage: "a/b+c"}
	for _, tc := range []struct{ in, out any }{
		{pr, new(PaymentRequired)}, {p, new(PaymentPayload)}, {s, new(SettleResponse)},
		{VerifyResponse{IsValid: true, Payer: "0xF"}, new(VerifyResponse)},
	} {
		h, err := EncodeHeader(tc.in)
		if err != nil {
			t.Fatalf("EncodeHeader(%T) = %v", tc.in, err)
		}
		if _, err := base64.StdEncoding.Strict().DecodeString(h); err != nil {
			t.Errorf("EncodeHeader(%T) = %q, not padded standard base64: %v", tc.in, h, err)
		}
		if err := DecodeHeader(h, tc.out); err != nil {
			t.Fatalf("DecodeHeader(EncodeHeader(%T)) = %v", tc.in, err)
		}
		if got := reflect.ValueOf(tc.out).Elem().Interface(); !reflect.DeepEqual(got, tc.in) {
			t.Errorf("DecodeHeader(EncodeHeader(%T)) = %+v; want %+v", tc.in, got, tc.in)
		}
	}
	// json.RawMessage survives compacted; an absent resource stays nil.
	if h, _ := EncodeHeader(p); strings.Contains(mustDecode(t, h), `"resource"`) {
		t.Errorf("EncodeHeader(PaymentPayload without resource) = %s; want resource omitted", mustDecode(t, h))
	}
	if _, err := EncodeHeader(map[string]any{"f": func() {}}); err == nil {
		t.Error("EncodeHeader(func) = nil error")
	}
}

func mustDecode(t *testing.T, h string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeHeaderStrict(t *testing.T) {
	// This JSON's standard base64 has both '+' and '/' in it.
	const js = `{"a":"??>?~~"}`
	std := base64.StdEncoding.EncodeToString([]byte(js))
	if !strings.ContainsAny(std, "+/") {
		t.Fatalf("fixture %q has no + or /", std)
	}
	var m map[string]string
	if err := DecodeHeader(std, &m); err != nil || m["a"] != "??>?~~" {
		t.Fatalf("DecodeHeader(%q) = %v, %v", std, m, err)
	}
	unpadded := strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)), "=")
	if err := DecodeHeader(unpadded, &m); err == nil {
		t.Errorf("DecodeHeader(%q) into map[string]string = nil; want a JSON type error", unpadded)
	}
	var anyv map[string]any
	if err := DecodeHeader(unpadded, &anyv); err != nil || anyv["a"] != 1.0 {
		t.Errorf("DecodeHeader(unpadded %q) = %v, %v; want {a:1}", unpadded, anyv, err)
	}

	// Exactly MaxHeaderSize encoded bytes is fine; one block more is not.
	big := `"` + strings.Repeat("x", MaxHeaderSize/4*3-2) + `"`
	h := base64.StdEncoding.EncodeToString([]byte(big))
	var s string
	if len(h) != MaxHeaderSize {
		t.Fatalf("fixture is %d bytes", len(h))
	}
	if err := DecodeHeader(h, &s); err != nil {
		t.Errorf("DecodeHeader(%d bytes) = %v; want nil", len(h), err)
	}
	big2 := base64.StdEncoding.EncodeToString([]byte(big + "   "))

	for name, bad := range map[string]string{
		"url-safe -/_":      strings.NewReplacer("+", "-", "/", "_").Replace(std),
		"url-safe unpadded": strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(std), "="),
		"oversize":          big2,
		"empty":             "",
		"junk":              "!!!",
		"space":             " " + std,
		"inner newline":     std[:8] + "\n" + std[8:],
		"trailing CRLF":     std + "\r\n",
		"bad padding":       "e30==",
		"padding inside":    "e3=0",
		"lone char":         "e",
		"non-canonical":     "e31=", // trailing bits set
		"not JSON":          base64.StdEncoding.EncodeToString([]byte("not json")),
		"two values":        base64.StdEncoding.EncodeToString([]byte("{} {}")),
		"wrong type":        base64.StdEncoding.EncodeToString([]byte(`{"x402Version":"2"}`)),
		"non-ASCII":         "e30é",
	} {
		var pr PaymentRequired
		if err := DecodeHeader(bad, &pr); !errors.Is(err, ErrHeader) {
			t.Errorf("DecodeHeader(%s %.40q) = %v; want an error wrapping ErrHeader", name, bad, err)
		}
	}

	// Unknown fields are ignored.
	var pr PaymentRequired
	h = base64.StdEncoding.EncodeToString([]byte(`{"x402Version":2,"future":{"x":1},"resource":{"url":"u","serviceName":"s"},"accepts":[]}`))
	if err := DecodeHeader(h, &pr); err != nil || pr.X402Version != 2 || pr.Resource.URL != "u" {
		t.Errorf("DecodeHeader(unknown fields) = %+v, %v", pr, err)
	}
}
