package mpp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the parsers of what clients send (credentials) and what
// servers answer (WWW-Authenticate), and for the JCS form both sides hash.
// `make fuzz` runs each for longer; plain `go test` replays the seeds and
// testdata/fuzz as regression cases.

var fuzzIssuer = Issuer{Secret: []byte(strings.Repeat("f", 32)), Realm: "api.example.com",
	Now: func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }}

func fuzzChallenge(f *testing.F) *Challenge {
	c, err := fuzzIssuer.Issue("evm", "charge", map[string]any{"amount": "10000",
		"currency": "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "recipient": "0x742d35Cc6634C0532925a3b844Bc9e7595f8fE00",
		"methodDetails": map[string]any{"chainId": 84532, "credentialTypes": []string{"authorization"}, "decimals": 6}},
		`Agentbot gateway call: "generate-text"`)
	if err != nil {
		f.Fatal(err)
	}
	return c
}

// normalHeader is the credential header as the protocol reads it: "" and
// "Authorization" in any case are the default.
func normalHeader(c Challenge) Challenge {
	if !c.customHeader() {
		c.CredentialHeader = ""
	}
	return c
}

// FuzzCanonical: a document JCS accepts is one JSON value; its canonical form
// is valid JSON with the same meaning, and canonical already (idempotent).
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x"]}`, `{"amount":"10000","methodDetails":{"chainId":84532}}`,
		`1e21`, `-0`, `0.000001`, `1e-7`, `"\u00e9\ud83d\ude00\u0001"`, `{"\u20ac":1,"\ud83d\ude00":2,"a":3}`,
		`{"a":1,"a":2}`, `[1] `, `1e400`, `"\ud800"`, ``, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := Canonical(doc)
		if err != nil {
			return
		}
		if !json.Valid(doc) {
			t.Fatalf("Canonical(%q) = %q; want an error for input that is not one JSON value", doc, out)
		}
		if !json.Valid(out) {
			t.Fatalf("Canonical(%q) = %q, not JSON", doc, out)
		}
		again, err := Canonical(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Canonical(%q) = %q, %v; want it unchanged (canonical of %q)", out, again, err, doc)
		}
		var a, b any
		_ = json.Unmarshal(doc, &a)
		_ = json.Unmarshal(out, &b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("Canonical(%q) = %q: means %v; want %v", doc, out, b, a)
		}
	})
}

// FuzzChallengeHeader: any challenge survives WWW-Authenticate rendering and
// parsing unchanged (quotes and backslashes escaped, nothing lost).
func FuzzChallengeHeader(f *testing.F) {
	c := fuzzChallenge(f)
	f.Add(c.ID, c.Realm, c.Method, c.Intent, c.Request, c.Expires, c.Digest, c.Opaque, c.Description, PaymentAuthorization)
	f.Add("", "", "", "", "", "", "", "", "", "")
	f.Add(`a"b`, `\`, `x\"`, `, Payment id=`, "=", `"`, "sha-256=abc", "e30", "é\x00\n", "authorization")
	f.Fuzz(func(t *testing.T, id, realm, method, intent, request, expires, digest, opaque, description, header string) {
		c := Challenge{ID: id, Realm: realm, Method: method, Intent: intent, Request: request, Expires: expires,
			Digest: digest, Opaque: opaque, Description: description, CredentialHeader: header}
		h := c.Header()
		got, err := ParseChallenges([]string{h})
		if err != nil || len(got) != 1 || got[0] != normalHeader(c) {
			t.Fatalf("ParseChallenges(%q) = %+v, %v; want [%+v]", h, got, err, normalHeader(c))
		}
		// Beside another scheme, as fetch joins repeated headers.
		got, err = ParseChallenges([]string{`Bearer realm="x", ` + h + ", " + h})
		if err != nil || len(got) != 2 || got[0] != normalHeader(c) || got[1] != normalHeader(c) {
			t.Fatalf("ParseChallenges(Bearer, %q twice) = %+v, %v; want it twice", h, got, err)
		}
	})
}

// FuzzParseChallenges: arbitrary WWW-Authenticate values end (no hang or
// panic), and every challenge read renders to a header that reads back the same.
func FuzzParseChallenges(f *testing.F) {
	c := fuzzChallenge(f)
	for _, s := range []string{c.Header(), `Payment id="a", realm="b", method="evm"`, `Bearer realm="x", Payment id=a`,
		`Basic dXNlcjpwYXNz==, Payment id="x"`, `Payment id="abc`, `Payment id="a\"b\\", realm=r`, `,,, Payment`,
		`Payment id = "x" , realm= y`, `=`, `Payment ="x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		chs, err := ParseChallenges([]string{s})
		if err != nil {
			return
		}
		for _, c := range chs {
			got, err := ParseChallenges([]string{c.Header()})
			if err != nil || len(got) != 1 || got[0] != normalHeader(c) {
				t.Fatalf("ParseChallenges(%q) read %+v, whose header %q reads back as %+v, %v", s, c, c.Header(), got, err)
			}
		}
	})
}

// credentialJSON is the wire form of a credential as mppx sends it.
func credentialJSON(c *Credential) map[string]any {
	ch := map[string]any{"id": c.Challenge.ID, "realm": c.Challenge.Realm, "method": c.Challenge.Method,
		"intent": c.Challenge.Intent, "request": c.Challenge.Request, "description": c.Challenge.Description,
		"digest": c.Challenge.Digest, "expires": c.Challenge.Expires, "header": c.Challenge.CredentialHeader}
	if c.Challenge.Opaque != "" {
		ch["opaque"] = c.Challenge.Opaque
	}
	return map[string]any{"challenge": ch, "payload": c.Payload, "source": c.Source}
}

// FuzzParseCredential: whatever a client sends as a credential is refused
// with ErrMalformed or read into a credential that has every required part,
// and that reads back the same when sent again.
func FuzzParseCredential(f *testing.F) {
	c := fuzzChallenge(f)
	good := &Credential{Challenge: *c, Source: "did:pkh:eip155:84532:0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
		Payload: json.RawMessage(`{"type":"authorization","from":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","value":"10000"}`)}
	raw, _ := json.Marshal(credentialJSON(good))
	f.Add(b64.EncodeToString(raw))
	f.Add(b64.EncodeToString(raw) + "==")
	for _, s := range []string{`{"challenge":{"id":"x","realm":"r","method":"evm","intent":"charge","request":{"b":1,"a":2}},"payload":{}}`,
		`{"challenge":{"id":"x","realm":"r","method":"evm","intent":"charge","request":"e30","opaque":null},"payload":{ }}`,
		`{"challenge":{},"payload":{}}`, `[1]`, `{"challenge":null}`} {
		f.Add(b64.EncodeToString([]byte(s)))
	}
	f.Add("eyJjaGFsbGVuZ2UiOnt9fQ")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		cred, err := ParseCredential(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), ErrMalformed.Error()) {
				t.Fatalf("ParseCredential(%q) = %v; want ErrMalformed", s, err)
			}
			return
		}
		ch := cred.Challenge
		if ch.ID == "" || ch.Realm == "" || ch.Method == "" || ch.Intent == "" || ch.Request == "" {
			t.Fatalf("ParseCredential(%q) = %+v; want id, realm, method, intent and request", s, ch)
		}
		var payload map[string]any
		if err := json.Unmarshal(cred.Payload, &payload); err != nil || payload == nil {
			t.Fatalf("ParseCredential(%q): payload %q is not a JSON object", s, cred.Payload)
		}
		again, _ := json.Marshal(credentialJSON(cred))
		back, err := ParseCredential(b64.EncodeToString(again))
		if err != nil || back.Challenge != cred.Challenge || back.Source != cred.Source {
			t.Fatalf("ParseCredential(%q) = %+v; re-sent as %s it reads %+v, %v", s, cred, again, back, err)
		}
	})
}

// FuzzFromHeader: a Payment credential is found only behind the Payment
// scheme, and what is returned is a trimmed piece of one of the headers.
func FuzzFromHeader(f *testing.F) {
	f.Add("Payment abc", "")
	f.Add("Bearer sk_x, Payment abc", "")
	f.Add("Bearer sk_x", "Payment def")
	f.Add("payment  abc ", "Basic x")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, authz, payAuthz string) {
		h := http.Header{}
		if authz != "" {
			h.Set("Authorization", authz)
		}
		if payAuthz != "" {
			h.Set("Payment-Authorization", payAuthz)
		}
		tok, ok := FromHeader(h)
		if !ok {
			if tok != "" {
				t.Fatalf("FromHeader = %q, false", tok)
			}
			return
		}
		if tok != strings.TrimSpace(tok) || strings.Contains(tok, ",") {
			t.Fatalf("FromHeader(%q, %q) = %q; want a trimmed item", authz, payAuthz, tok)
		}
		if !strings.Contains(strings.ToLower(authz+"\n"+payAuthz), "payment") ||
			!(strings.Contains(authz, tok) || strings.Contains(payAuthz, tok)) {
			t.Fatalf("FromHeader(%q, %q) = %q; not from a Payment item", authz, payAuthz, tok)
		}
	})
}

// FuzzVerify: an echoed challenge verifies only with the terms it was issued
// with. A client may re-encode the request (it is hashed canonically) and may
// change the description (display only); any other change is refused.
func FuzzVerify(f *testing.F) {
	c := fuzzChallenge(f)
	f.Add(c.Realm, c.Method, c.Intent, c.Request, c.Expires, c.Digest, c.Opaque, "", "changed")
	f.Add("api.example.com|evm", "charge", "", c.Request, c.Expires, "", "", "Authorization", "")
	f.Add(c.Realm, c.Method, c.Intent, b64.EncodeToString([]byte(` {"amount":"10000"} `)), "2030-01-01T00:00:00.000Z", "", "", "", "")
	f.Fuzz(func(t *testing.T, realm, method, intent, request, expires, digest, opaque, header, description string) {
		echo := Challenge{ID: c.ID, Realm: realm, Method: method, Intent: intent, Request: request, Expires: expires,
			Digest: digest, Opaque: opaque, CredentialHeader: header, Description: description}
		if !fuzzIssuer.Verify(&echo) {
			return
		}
		// The id binds the fields joined by "|" (mppx's format): only fields
		// free of "|" are bound one by one.
		for _, s := range []string{realm, method, intent, request, expires, digest, opaque, header} {
			if strings.Contains(s, "|") {
				return
			}
		}
		want, got := normalHeader(*c), normalHeader(echo)
		want.Description, got.Description = "", ""
		if got.Request != want.Request {
			gr, err1 := b64.DecodeString(got.Request)
			wr, err2 := b64.DecodeString(want.Request)
			gc, err3 := Canonical(gr)
			wc, err4 := Canonical(wr)
			if err1 != nil || err2 != nil || err3 != nil || err4 != nil || !bytes.Equal(gc, wc) {
				t.Fatalf("Verify accepted request %q for issued %q", got.Request, want.Request)
			}
			got.Request = want.Request
		}
		if got != want {
			t.Fatalf("Verify accepted %+v; issued %+v", got, want)
		}
	})
}
