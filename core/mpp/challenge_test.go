package mpp

import (
	"testing"
	"time"
)

// Known answers from the protocol's reference (mppx reproduces both).
func TestChallengeIDKnownAnswers(t *testing.T) {
	secret := []byte("test-vector-secret")
	req, err := EncodeRequest(map[string]any{"amount": "1000000"})
	if err != nil {
		t.Fatal(err)
	}
	c := &Challenge{Realm: "api.example.com", Method: "tempo", Intent: "charge", Request: req}
	if got, want := ComputeID(secret, c), "X6v1eo7fJ76gAxqY0xN9Jd__4lUyDDYmriryOM-5FO4"; got != want {
		t.Errorf("ComputeID(amount 1000000) = %q; want %q", got, want)
	}
	opaque, err := EncodeRequest(map[string]string{"pi": "pi_3abc123XYZ", "deposit": "dep_456"})
	if err != nil {
		t.Fatal(err)
	}
	c.Opaque = opaque
	if got, want := ComputeID(secret, c), "aKskU8sadR5ZuFbUCsIwhO-ENxuVpTw17FdwHEXsJDk"; got != want {
		t.Errorf("ComputeID(with opaque) = %q; want %q", got, want)
	}
}

// mppx binds a non-default credential header in a slot before opaque, and
// renders it after expires (vectors computed with mppx 0.11.0's Challenge.from).
func TestChallengeHeaderBinding(t *testing.T) {
	secret := []byte("test-vector-secret")
	req, _ := EncodeRequest(map[string]any{"amount": "1000000"})
	base := Challenge{Realm: "api.example.com", Method: "tempo", Intent: "charge", Request: req}
	opaque, _ := EncodeRequest(map[string]string{"pi": "pi_1"})
	for _, tc := range []struct {
		c          Challenge
		id, header string
	}{
		{Challenge{Realm: base.Realm, Method: base.Method, Intent: base.Intent, Request: req, CredentialHeader: "Payment-Authorization"},
			"S91xi-OFGZPMs-j7GsX0FDpIkmCcZT1P9XyV58WNy_U",
			`Payment id="S91xi-OFGZPMs-j7GsX0FDpIkmCcZT1P9XyV58WNy_U", realm="api.example.com", method="tempo", intent="charge", request="eyJhbW91bnQiOiIxMDAwMDAwIn0", header="Payment-Authorization"`},
		{Challenge{Realm: base.Realm, Method: base.Method, Intent: base.Intent, Request: req, CredentialHeader: "Payment-Authorization",
			Expires: "2026-01-01T00:00:00.000Z", Digest: "sha-256=abc", Opaque: opaque},
			"cpNZ1tupIFnW8Bbyz3PhR-WP5pmsHULVuNXVbge-qyk",
			`Payment id="cpNZ1tupIFnW8Bbyz3PhR-WP5pmsHULVuNXVbge-qyk", realm="api.example.com", method="tempo", intent="charge", request="eyJhbW91bnQiOiIxMDAwMDAwIn0", digest="sha-256=abc", expires="2026-01-01T00:00:00.000Z", header="Payment-Authorization", opaque="eyJwaSI6InBpXzEifQ"`},
		{Challenge{Realm: base.Realm, Method: base.Method, Intent: base.Intent, Request: req, CredentialHeader: "authorization"},
			"X6v1eo7fJ76gAxqY0xN9Jd__4lUyDDYmriryOM-5FO4",
			`Payment id="X6v1eo7fJ76gAxqY0xN9Jd__4lUyDDYmriryOM-5FO4", realm="api.example.com", method="tempo", intent="charge", request="eyJhbW91bnQiOiIxMDAwMDAwIn0"`},
	} {
		c := tc.c
		if c.ID = ComputeID(secret, &c); c.ID != tc.id {
			t.Errorf("ComputeID(header %q) = %q; want %q", c.CredentialHeader, c.ID, tc.id)
		}
		if got := c.Header(); got != tc.header {
			t.Errorf("Header() = %s\nwant       %s", got, tc.header)
		}
	}
}

func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"b":1,"a":"x"}`, `{"a":"x","b":1}`},
		{` { "z" : [ 1 , 2.50 , -0 ] , "a" : null } `, `{"a":null,"z":[1,2.5,0]}`},
		{`{"amount":"10000","chainId":84532,"currency":"0xAbC"}`, `{"amount":"10000","chainId":84532,"currency":"0xAbC"}`},
		{`"a\u00e9\"\\\n<>&"`, "\"aé\\\"\\\\\\n<>&\""},
		{`1e21`, `1e+21`},
		{`0.000001`, `0.000001`},
		{`1E-7`, `1e-7`},
		// UTF-16 order, not UTF-8: U+1F600 (surrogates D83D…) sorts before U+FB01.
		{`{"\ufb01":1,"\ud83d\ude00":2,"\u00ff":3}`, "{\"ÿ\":3,\"😀\":2,\"ﬁ\":1}"},
	} {
		got, err := Canonical([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`{`, `{} {}`, `nope`} {
		if _, err := Canonical([]byte(bad)); err == nil {
			t.Errorf("Canonical(%q) = nil error; want an error", bad)
		}
	}
}

func TestIssueAndVerify(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	is := Issuer{Secret: []byte("0123456789abcdef0123456789abcdef"), Realm: "gw.example", Now: func() time.Time { return now }}
	c, err := is.Issue("evm", "charge", map[string]any{"amount": "10000", "chainId": 84532}, "gateway call")
	if err != nil {
		t.Fatal(err)
	}
	if c.Expires != "2026-11-29T10:05:00.000Z" {
		t.Errorf("Expires = %q; want 5 minutes ahead", c.Expires)
	}
	if !is.Verify(c) {
		t.Fatal("Verify(issued challenge) = false")
	}
	// A client that re-encodes the request non-canonically still verifies.
	echo := *c
	echo.Request = b64.EncodeToString([]byte(`{ "chainId": 84532, "amount": "10000" }`))
	if !is.Verify(&echo) {
		t.Error("Verify(re-encoded request) = false; want true (re-canonicalised)")
	}
	for name, mut := range map[string]func(*Challenge){
		"cheaper terms":  func(c *Challenge) { c.Request, _ = EncodeRequest(map[string]any{"amount": "1", "chainId": 84532}) },
		"other realm":    func(c *Challenge) { c.Realm = "evil.example" },
		"other method":   func(c *Challenge) { c.Method = "stripe" },
		"later expiry":   func(c *Challenge) { c.Expires = "2030-01-01T00:00:00.000Z" },
		"forged id":      func(c *Challenge) { c.ID = "AAAA" },
		"empty id":       func(c *Challenge) { c.ID = "" },
		"added opaque":   func(c *Challenge) { c.Opaque = "e30" },
		"description ok": nil,
	} {
		m := *c
		if mut == nil {
			m.Description = "changed: not bound"
			if !is.Verify(&m) {
				t.Errorf("Verify(%s) = false; the description is not bound", name)
			}
			continue
		}
		mut(&m)
		if is.Verify(&m) {
			t.Errorf("Verify(%s) = true; want false", name)
		}
	}
	if other := (Issuer{Secret: []byte("another-secret-another-secret-32b"), Realm: "gw.example"}); other.Verify(c) {
		t.Error("a challenge verified under another secret")
	}
	if _, err := (Issuer{Secret: []byte("short")}).Issue("evm", "charge", map[string]any{}, ""); err != ErrSecret {
		t.Errorf("Issue with a short secret = %v; want ErrSecret", err)
	}
}

func TestHeader(t *testing.T) {
	c := &Challenge{ID: "i", Realm: "r", Method: "evm", Intent: "charge", Request: "q", Description: `say "hi"`, Expires: "e"}
	want := `Payment id="i", realm="r", method="evm", intent="charge", request="q", description="say \"hi\"", expires="e"`
	if got := c.Header(); got != want {
		t.Errorf("Header() = %s; want %s", got, want)
	}
}
