package mpp

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func issue(t *testing.T) *Challenge {
	t.Helper()
	is := Issuer{Secret: []byte(strings.Repeat("s", 32)), Realm: "api.example.com",
		Now: func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }}
	c, err := is.Issue("evm", "charge", map[string]any{"amount": "10000", "recipient": "0xabc", "methodDetails": map[string]any{"chainId": 84532}}, `say "hi"`)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func credentialToken(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(b)
}

// A challenge survives the round trip header → client → credential, and the
// echoed copy still verifies.
func TestChallengeHeaderRoundTrip(t *testing.T) {
	c := issue(t)
	got, err := ParseChallenges([]string{`Bearer realm="x", ` + c.Header() + ", " + c.Header()})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != *c || got[1] != *c {
		t.Fatalf("ParseChallenges = %+v; want twice %+v", got, *c)
	}
	tok := credentialToken(t, map[string]any{"challenge": map[string]any{"id": c.ID, "realm": c.Realm, "method": c.Method,
		"intent": c.Intent, "request": c.Request, "expires": c.Expires, "description": c.Description},
		"payload": map[string]any{"type": "authorization"}, "source": "did:pkh:eip155:84532:0xabc"})
	cred, err := ParseCredential(tok)
	if err != nil {
		t.Fatal(err)
	}
	if cred.Challenge != *c || cred.Source != "did:pkh:eip155:84532:0xabc" || string(cred.Payload) != `{"type":"authorization"}` {
		t.Errorf("ParseCredential = %+v; want the challenge echoed", cred)
	}
	is := Issuer{Secret: []byte(strings.Repeat("s", 32))}
	if !is.Verify(&cred.Challenge) {
		t.Error("the echoed challenge does not verify")
	}
	var terms struct {
		Amount string `json:"amount"`
	}
	if err := cred.Challenge.DecodeRequest(&terms); err != nil || terms.Amount != "10000" {
		t.Errorf("DecodeRequest = %+v, %v", terms, err)
	}
	if at, ok := cred.Challenge.ExpiresAt(); !ok || !at.Equal(time.Date(2026, 11, 29, 12, 5, 0, 0, time.UTC)) {
		t.Errorf("ExpiresAt = %v, %v; want 12:05", at, ok)
	}
}

// A legacy client that echoes request as an object is read as its canonical encoding.
func TestCredentialLegacyObjectRequest(t *testing.T) {
	c := issue(t)
	var terms map[string]any
	if err := c.DecodeRequest(&terms); err != nil {
		t.Fatal(err)
	}
	tok := credentialToken(t, map[string]any{"challenge": map[string]any{"id": c.ID, "realm": c.Realm, "method": c.Method,
		"intent": c.Intent, "request": terms, "expires": c.Expires}, "payload": map[string]any{}})
	cred, err := ParseCredential(tok)
	if err != nil {
		t.Fatal(err)
	}
	if cred.Challenge.Request != c.Request {
		t.Errorf("request = %q; want %q", cred.Challenge.Request, c.Request)
	}
}

func TestParseCredentialRejects(t *testing.T) {
	c := issue(t)
	good := map[string]any{"id": c.ID, "realm": c.Realm, "method": c.Method, "intent": c.Intent, "request": c.Request}
	without := func(k string) map[string]any {
		m := map[string]any{}
		for kk, v := range good {
			if kk != k {
				m[kk] = v
			}
		}
		return m
	}
	for name, tok := range map[string]string{
		"empty":           "",
		"not base64":      "!!!",
		"not JSON":        b64.EncodeToString([]byte("hello")),
		"JSON array":      credentialToken(t, []int{1}),
		"no challenge":    credentialToken(t, map[string]any{"payload": map[string]any{}}),
		"no id":           credentialToken(t, map[string]any{"challenge": without("id"), "payload": map[string]any{}}),
		"no request":      credentialToken(t, map[string]any{"challenge": without("request"), "payload": map[string]any{}}),
		"numeric request": credentialToken(t, map[string]any{"challenge": map[string]any{"id": "x", "realm": "r", "method": "evm", "intent": "charge", "request": 5}, "payload": map[string]any{}}),
		"no payload":      credentialToken(t, map[string]any{"challenge": good}),
		"string payload":  credentialToken(t, map[string]any{"challenge": good, "payload": "x"}),
		"huge":            strings.Repeat("A", MaxCredential+1),
	} {
		if _, err := ParseCredential(tok); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseCredential = %v; want ErrMalformed", name, err)
		}
	}
}

func TestFromHeader(t *testing.T) {
	for _, tc := range []struct {
		h    http.Header
		want string
		ok   bool
	}{
		{http.Header{"Authorization": {"Payment abc"}}, "abc", true},
		{http.Header{"Authorization": {"Bearer sk_x, Payment abc"}}, "abc", true},
		{http.Header{"Authorization": {"Bearer sk_x"}, "Payment-Authorization": {"Payment def"}}, "def", true},
		{http.Header{"Authorization": {"Payment abc"}, "Payment-Authorization": {"Payment def"}}, "def", true},
		{http.Header{"Authorization": {"payment  abc "}}, "abc", true},
		{http.Header{"Authorization": {"Bearer sk_x"}}, "", false},
		{http.Header{}, "", false},
	} {
		got, ok := FromHeader(tc.h)
		if got != tc.want || ok != tc.ok {
			t.Errorf("FromHeader(%v) = %q, %v; want %q, %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

func TestReceiptRoundTrip(t *testing.T) {
	r := Receipt{Method: "evm", Reference: "0xabc", Status: "success", Timestamp: "2026-11-29T12:00:00Z"}
	enc := r.Encode()
	if strings.ContainsAny(enc, "+/=") {
		t.Errorf("receipt %q is not unpadded base64url", enc)
	}
	raw, _ := b64.DecodeString(enc)
	if string(raw) != `{"method":"evm","reference":"0xabc","status":"success","timestamp":"2026-11-29T12:00:00Z"}` {
		t.Errorf("receipt JSON = %s", raw)
	}
	got, err := DecodeReceipt(enc)
	if err != nil || *got != r {
		t.Errorf("DecodeReceipt = %+v, %v", got, err)
	}
}

func TestParseChallengesRejectsUnterminated(t *testing.T) {
	if _, err := ParseChallenges([]string{`Payment id="abc`}); err == nil {
		t.Error("unterminated quote accepted")
	}
}

// A challenge naming Payment-Authorization round-trips through the header
// and the echoed credential, and still verifies.
func TestCredentialHeaderRoundTrip(t *testing.T) {
	is := Issuer{Secret: []byte(strings.Repeat("s", 32)), Realm: "api.example.com"}
	c, err := is.IssueFor(PaymentAuthorization, "evm", "charge", map[string]any{"amount": "1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseChallenges([]string{c.Header()})
	if err != nil || len(got) != 1 || got[0].CredentialHeader != PaymentAuthorization {
		t.Fatalf("ParseChallenges = %+v, %v", got, err)
	}
	tok := credentialToken(t, map[string]any{"challenge": map[string]any{"id": c.ID, "realm": c.Realm, "method": c.Method,
		"intent": c.Intent, "request": c.Request, "expires": c.Expires, "header": c.CredentialHeader}, "payload": map[string]any{}})
	cred, err := ParseCredential(tok)
	if err != nil || !is.Verify(&cred.Challenge) {
		t.Fatalf("credential %+v (%v) does not verify", cred, err)
	}
	cred.Challenge.CredentialHeader = ""
	if is.Verify(&cred.Challenge) {
		t.Error("a credential that drops the bound header still verifies")
	}
}
