package agents

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/x402"
	"github.com/agentbot/gateway/sdk/skill/abi"
)

func TestParseUSD(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "0.01": 10_000, "1": 1_000_000, "2.5": 2_500_000, "0.000001": 1, "999999.999999": 999_999_999_999} {
		if got, ok := parseUSD(in); !ok || got != want {
			t.Errorf("parseUSD(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "1.", ".5", "0.0000001", "1e3", "1,5", " 1", "1000000", "0x10"} {
		if got, ok := parseUSD(in); ok {
			t.Errorf("parseUSD(%q) = %d; want refused", in, got)
		}
	}
}

func TestPaidFetchConfig(t *testing.T) {
	ok := `{"paidFetch":{"hosts":["api.example.com","127.0.0.1","::1"],"maxPerCallMicroUsd":50000}}`
	if c, err := parseConfig(json.RawMessage(ok)); err != nil || c.PaidFetch == nil || c.PaidFetch.MaxPerCallMicroUSD != 50000 {
		t.Fatalf("parseConfig(%s) = %+v, %v", ok, c, err)
	}
	if c, err := parseConfig(json.RawMessage(`{}`)); err != nil || c.PaidFetch != nil {
		t.Fatalf("parseConfig({}) = %+v, %v; want paid_fetch off", c, err)
	}
	for _, bad := range []string{
		`{"paidFetch":{"hosts":[],"maxPerCallMicroUsd":1}}`,
		`{"paidFetch":{"hosts":["*"],"maxPerCallMicroUsd":1}}`,
		`{"paidFetch":{"hosts":["API.example.com"],"maxPerCallMicroUsd":1}}`,
		`{"paidFetch":{"hosts":["example.com:8080"],"maxPerCallMicroUsd":1}}`,
		`{"paidFetch":{"hosts":["example.com/x"],"maxPerCallMicroUsd":1}}`,
		`{"paidFetch":{"hosts":[".example.com"],"maxPerCallMicroUsd":1}}`,
		`{"paidFetch":{"hosts":["example.com"]}}`,
		`{"paidFetch":{"hosts":["example.com"],"maxPerCallMicroUsd":100000001}}`,
		`{"paidFetch":{"hosts":["example.com"],"maxPerCallMicroUsd":1,"extra":true}}`,
		`{"paidFetch":{"hosts":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u"],"maxPerCallMicroUsd":1}}`,
	} {
		if _, err := parseConfig(json.RawMessage(bad)); err == nil {
			t.Errorf("parseConfig(%s) accepted", bad)
		}
	}
}

// b64 is base64url JSON, as an MPP request parameter.
func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestReadOffer(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	usdc := "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
	payTo := "0x742d35Cc6634c0532925a3b844bC9e7595F8fE00"
	challenge := func(terms map[string]any, expires time.Time) string {
		return `Payment id="abc", realm="shop", method="evm", intent="charge", request="` + b64(terms) +
			`", expires="` + expires.Format(time.RFC3339) + `"`
	}
	terms := func(currency string, chain, decimals int) map[string]any {
		return map[string]any{"amount": "10000", "currency": currency, "recipient": payTo,
			"methodDetails": map[string]any{"chainId": chain, "credentialTypes": []string{"authorization"}, "decimals": decimals}}
	}
	x402Header := func(asset, name string) string {
		h, _ := x402.EncodeHeader(x402.PaymentRequired{X402Version: 2, Accepts: []x402.Requirements{{Scheme: "exact",
			Network: "eip155:84532", Amount: "2500", Asset: asset, PayTo: payTo, MaxTimeoutSeconds: 60,
			Extra: map[string]any{"name": name, "version": "2"}}}})
		return h
	}
	resp := func(h map[string]string) *abi.FetchResponse { return &abi.FetchResponse{Status: 402, Headers: h} }

	o, why := readOffer(resp(map[string]string{"Www-Authenticate": challenge(terms(usdc, 84532, 6), now.Add(time.Minute))}), now)
	if o == nil || o.protocol != "mpp" || o.price != 10_000 || o.domain.Name != "USDC" || o.auth.ValidBefore.Int64() != now.Add(time.Minute).Unix() {
		t.Fatalf("MPP offer = %+v (%s)", o, why)
	}
	if o.auth.Nonce != evm.Keccak256([]byte(o.mpp.ID+o.mpp.Realm)) || o.mpp.ID != "abc" {
		t.Errorf("nonce not bound to the challenge")
	}
	o, why = readOffer(resp(map[string]string{"Payment-Required": x402Header(usdc, "USDC")}), now)
	if o == nil || o.protocol != "x402" || o.price != 2500 || o.auth.ValidBefore.Int64() != now.Unix()+60 {
		t.Fatalf("x402 offer = %+v (%s)", o, why)
	}
	for name, h := range map[string]map[string]string{
		"none":                 {},
		"expired":              {"Www-Authenticate": challenge(terms(usdc, 84532, 6), now.Add(-time.Second))},
		"unknown token":        {"Www-Authenticate": challenge(terms("0x0000000000000000000000000000000000000001", 84532, 6), now.Add(time.Minute))},
		"wrong chain":          {"Www-Authenticate": challenge(terms(usdc, 8453, 6), now.Add(time.Minute))},
		"18 decimals":          {"Www-Authenticate": challenge(terms(usdc, 84532, 18), now.Add(time.Minute))},
		"x402 wrong domain":    {"Payment-Required": x402Header(usdc, "Not USDC")},
		"x402 unknown token":   {"Payment-Required": x402Header("0x0000000000000000000000000000000000000001", "USDC")},
		"garbage":              {"Www-Authenticate": "Payment !!!", "Payment-Required": "%%%"},
		"other method and tag": {"Www-Authenticate": `Payment id="a", realm="r", method="tempo", intent="charge", request="e30"`},
	} {
		if o, _ := readOffer(resp(h), now); o != nil {
			t.Errorf("%s: offer %+v; want none", name, o)
		}
	}
}

func TestClip(t *testing.T) {
	if got := clip([]byte("héllo"), 2); got != "h" {
		t.Errorf("clip = %q; want a cut on a rune boundary", got)
	}
	if got := clip([]byte("abc"), 10); got != "abc" {
		t.Errorf("clip = %q", got)
	}
	if !strings.Contains(clip([]byte{0xff, 'a'}, 10), "a") {
		t.Errorf("clip of invalid UTF-8 lost the text")
	}
}
