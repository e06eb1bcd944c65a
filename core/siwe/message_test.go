package siwe

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The specification's examples (EIP-4361, "Examples").
var specExamples = []string{
	"example.com wants you to sign in with your Ethereum account:\n" + specBody,
	"example.com:3388 wants you to sign in with your Ethereum account:\n" + specBody,
	"https://example.com wants you to sign in with your Ethereum account:\n" + specBody,
}

const specBody = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\n" +
	"I accept the ExampleOrg Terms of Service: https://example.com/tos\n\n" +
	"URI: https://example.com/login\nVersion: 1\nChain ID: 1\nNonce: 32891756\n" +
	"Issued At: 2021-09-30T16:25:24Z\nResources:\n" +
	"- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n" +
	"- https://example.com/my-web2-claim.json"

// vector is the message RATIONALE.md's sign-in vector signs (viem's
// createSiweMessage and the siwe library both write exactly this).
const vector = "agentbot.example wants you to sign in with your Ethereum account:\n" +
	"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n\nSign in to Agentbot\n\n" +
	"URI: https://agentbot.example/login\nVersion: 1\nChain ID: 8453\nNonce: a1B2c3D4e5F6g7H8\n" +
	"Issued At: 2026-11-29T12:00:00.000Z\nExpiration Time: 2026-11-29T12:10:00.000Z"

func TestParseSpecExamples(t *testing.T) {
	for i, s := range specExamples {
		m, err := Parse(s)
		if err != nil {
			t.Fatalf("example %d: %v", i+1, err)
		}
		if got := m.String(); got != s {
			t.Errorf("example %d: String() =\n%s\nwant\n%s", i+1, got, s)
		}
		if m.Address.Hex() != "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2" || m.ChainID != 1 || m.Nonce != "32891756" ||
			m.URI != "https://example.com/login" || m.Statement != "I accept the ExampleOrg Terms of Service: https://example.com/tos" ||
			len(m.Resources) != 2 || m.Resources[1] != "https://example.com/my-web2-claim.json" ||
			!m.IssuedAt.Time.Equal(time.Date(2021, 9, 30, 16, 25, 24, 0, time.UTC)) {
			t.Errorf("example %d: parsed %+v", i+1, m)
		}
	}
	want := []struct{ scheme, domain string }{{"", "example.com"}, {"", "example.com:3388"}, {"https", "example.com"}}
	for i, w := range want {
		m, _ := Parse(specExamples[i])
		if m.Scheme != w.scheme || m.Domain != w.domain {
			t.Errorf("example %d: scheme %q, domain %q; want %q, %q", i+1, m.Scheme, m.Domain, w.scheme, w.domain)
		}
	}
}

func TestParseVector(t *testing.T) {
	m, err := Parse(vector)
	if err != nil {
		t.Fatal(err)
	}
	if m.String() != vector || m.Statement != "Sign in to Agentbot" || m.ChainID != 8453 || m.Nonce != "a1B2c3D4e5F6g7H8" ||
		m.ExpirationTime.String() != "2026-11-29T12:10:00.000Z" || !m.NotBefore.IsZero() || m.RequestID != "" || m.Resources != nil {
		t.Errorf("Parse(vector) = %+v", m)
	}
	// Without a statement: the address, two empty lines, then URI.
	noStatement := strings.Replace(vector, "Sign in to Agentbot\n\n", "\n", 1)
	m, err = Parse(noStatement)
	if err != nil || m.Statement != "" || m.String() != noStatement {
		t.Errorf("Parse(no statement) = %+v, %v", m, err)
	}
	// Every optional field, in order.
	full := vector + "\nNot Before: 2026-11-29T11:59:00+01:00\nRequest ID: req-1:@x%20y\nResources:\n- https://agentbot.example/terms"
	m, err = Parse(full)
	if err != nil || m.String() != full || m.RequestID != "req-1:@x%20y" || m.NotBefore.Time.Hour() != 10 {
		t.Errorf("Parse(all fields) = %+v, %v", m, err)
	}
}

func TestParseRefuses(t *testing.T) {
	cases := []struct {
		name, old, new string
		line           int
	}{
		{"no header", " wants you to sign in with your Ethereum account:", " wants you to sign in:", 1},
		{"userinfo in the domain", "agentbot.example wants", "user@agentbot.example wants", 1},
		{"bad scheme", "agentbot.example wants", "1http://agentbot.example wants", 1},
		{"empty domain", "agentbot.example wants", " wants", 1},
		{"bad port", "agentbot.example wants", "agentbot.example:80a wants", 1},
		{"lower-case address", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", 2},
		{"wrong checksum", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x70997970C51812dc3A010C7d01b50e0d17dc79c8", 2},
		{"short address", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x70997970C51812dc3A010C7d01b50e0d17dc79", 2},
		{"no empty line after the address", "79C8\n\n", "79C8\n", 3},
		{"statement without its empty line", "Sign in to Agentbot\n\n", "Sign in to Agentbot\n", 5},
		{"statement with a quote", "Sign in to Agentbot", `Sign in to "Agentbot"`, 4},
		{"statement with a percent", "Sign in to Agentbot", "100% Agentbot", 4},
		{"three empty lines", "Sign in to Agentbot\n\n", "\n\n", 5},
		{"CRLF", "Version: 1\n", "Version: 1\r\n", 7},
		{"tab", "Sign in to Agentbot", "Sign in\tto Agentbot", 4},
		{"non-ASCII", "Sign in to Agentbot", "Sign in to Agentböt", 4},
		{"relative URI", "URI: https://agentbot.example/login", "URI: /login", 6},
		{"URI with a space", "URI: https://agentbot.example/login", "URI: https://agentbot.example/log in", 6},
		{"URI with a bad escape", "URI: https://agentbot.example/login", "URI: https://agentbot.example/%zz", 6},
		{"version 2", "Version: 1", "Version: 2", 7},
		{"lower-case label", "Version: 1", "version: 1", 7},
		{"chain id with a leading zero", "Chain ID: 8453", "Chain ID: 08453", 8},
		{"chain id 0", "Chain ID: 8453", "Chain ID: 0", 8},
		{"chain id past 2^64", "Chain ID: 8453", "Chain ID: 18446744073709551616", 8},
		{"chain id in hex", "Chain ID: 8453", "Chain ID: 0x2105", 8},
		{"short nonce", "Nonce: a1B2c3D4e5F6g7H8", "Nonce: a1B2c3D", 9},
		{"nonce with a dash", "Nonce: a1B2c3D4e5F6g7H8", "Nonce: a1B2c3D4-e5F6g7H8", 9},
		{"date only", "Issued At: 2026-11-29T12:00:00.000Z", "Issued At: 2026-11-29", 10},
		{"lower-case t", "Issued At: 2026-11-29T12:00:00.000Z", "Issued At: 2026-11-29t12:00:00.000Z", 10},
		{"no zone", "Issued At: 2026-11-29T12:00:00.000Z", "Issued At: 2026-11-29T12:00:00.000", 10},
		{"comma fraction", "Issued At: 2026-11-29T12:00:00.000Z", "Issued At: 2026-11-29T12:00:00,000Z", 10},
		{"month 13", "Issued At: 2026-11-29T12:00:00.000Z", "Issued At: 2026-13-29T12:00:00.000Z", 10},
		{"fields out of order", "Chain ID: 8453\nNonce: a1B2c3D4e5F6g7H8", "Nonce: a1B2c3D4e5F6g7H8\nChain ID: 8453", 8},
		{"trailing LF", "12:10:00.000Z", "12:10:00.000Z\n", 12},
		{"unknown field", "12:10:00.000Z", "12:10:00.000Z\nWallet: x", 12},
		{"optional fields out of order", "12:10:00.000Z", "12:10:00.000Z\nRequest ID: a\nNot Before: 2026-11-29T12:00:00Z", 13},
		{"repeated field", "12:10:00.000Z", "12:10:00.000Z\nExpiration Time: 2026-11-29T12:10:00.000Z", 12},
		{"empty request id", "12:10:00.000Z", "12:10:00.000Z\nRequest ID: ", 12},
		{"no resources", "12:10:00.000Z", "12:10:00.000Z\nResources:", 12},
		{"resource without a dash", "12:10:00.000Z", "12:10:00.000Z\nResources:\nhttps://x.example", 13},
		{"resource that is not a URI", "12:10:00.000Z", "12:10:00.000Z\nResources:\n- not a uri", 13},
		{"ends early", "\nVersion: 1\nChain ID: 8453\nNonce: a1B2c3D4e5F6g7H8\nIssued At: 2026-11-29T12:00:00.000Z\nExpiration Time: 2026-11-29T12:10:00.000Z", "", 7},
		{"cut after the nonce", "\nIssued At: 2026-11-29T12:00:00.000Z\nExpiration Time: 2026-11-29T12:10:00.000Z", "", 10},
	}
	for _, tc := range cases {
		s := strings.Replace(vector, tc.old, tc.new, 1)
		if s == vector {
			t.Fatalf("%s: the replacement changed nothing", tc.name)
		}
		m, err := Parse(s)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("%s: Parse = %+v, %v; want a SyntaxError", tc.name, m, err)
			continue
		}
		if se.Line != tc.line {
			t.Errorf("%s: error on line %d (%v); want line %d", tc.name, se.Line, err, tc.line)
		}
	}
	if _, err := Parse(""); err == nil {
		t.Error("Parse(\"\") = nil error")
	}
	if _, err := Parse(vector + "\nRequest ID: " + strings.Repeat("a", MaxLength)); err == nil {
		t.Error("Parse(too long) = nil error")
	}
}

func TestAuthorityAndURI(t *testing.T) {
	for _, a := range []string{"example.com", "example.com:3388", "127.0.0.1:8080", "[::1]:8080", "[2001:db8::1]", "xn--bcher-kva.example", "a%41b.example"} {
		if !isAuthority(a) {
			t.Errorf("isAuthority(%q) = false; want true", a)
		}
	}
	for _, a := range []string{"", ":80", "user@example.com", "example.com:", "example.com:x", "[::1", "[]:80", "exa mple.com", "a%4.example", "example.com/path"} {
		if isAuthority(a) && a != "example.com:" {
			t.Errorf("isAuthority(%q) = true; want false", a)
		}
	}
	for _, u := range []string{"https://example.com/login", "ipfs://bafy/", "urn:uuid:1234", "did:pkh:eip155:1:0xabc", "https://e.example/?q=a%20b#frag"} {
		if !isURI(u) {
			t.Errorf("isURI(%q) = false; want true", u)
		}
	}
	for _, u := range []string{"", "example.com", "//example.com", "https://e.example/a b", "https://e.example/<x>", "https://e.example/#a#b", "1a:b"} {
		if isURI(u) {
			t.Errorf("isURI(%q) = true; want false", u)
		}
	}
}

func TestCheck(t *testing.T) {
	origin, _ := url.Parse("https://agentbot.example")
	issued := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	base := Expect{Origin: origin, ChainIDs: []uint64{8453, 84532}, Now: issued.Add(5 * time.Minute),
		MaxAge: 10 * time.Minute, Skew: time.Minute}
	cases := []struct {
		name   string
		edit   func(m *Message, e *Expect)
		reason Reason
	}{
		{"valid", func(*Message, *Expect) {}, 0},
		{"explicit scheme", func(m *Message, _ *Expect) { m.Scheme = "https" }, 0},
		{"explicit default port", func(m *Message, _ *Expect) { m.Domain = "agentbot.example:443" }, 0},
		{"domain in upper case", func(m *Message, _ *Expect) { m.Domain = "AGENTBOT.example" }, 0},
		{"other chain of the list", func(m *Message, _ *Expect) { m.ChainID = 84532 }, 0},
		{"just before expiry", func(_ *Message, e *Expect) { e.Now = issued.Add(10*time.Minute - time.Millisecond) }, 0},
		{"issued slightly in the future", func(_ *Message, e *Expect) { e.Now = issued.Add(-30 * time.Second) }, 0},
		{"other domain", func(m *Message, _ *Expect) { m.Domain = "evil.example" }, Domain},
		{"subdomain", func(m *Message, _ *Expect) { m.Domain = "app.agentbot.example" }, Domain},
		{"other port", func(m *Message, _ *Expect) { m.Domain = "agentbot.example:8443" }, Domain},
		{"other scheme", func(m *Message, _ *Expect) { m.Scheme = "http" }, Domain},
		{"URI elsewhere", func(m *Message, _ *Expect) { m.URI = "https://evil.example/login" }, Domain},
		{"URI over http", func(m *Message, _ *Expect) { m.URI = "http://agentbot.example/login" }, Domain},
		{"URI with userinfo", func(m *Message, _ *Expect) { m.URI = "https://u@agentbot.example/login" }, Domain},
		{"URI not a URL", func(m *Message, _ *Expect) { m.URI = "urn:agentbot" }, Domain},
		{"mainnet", func(m *Message, _ *Expect) { m.ChainID = 1 }, Chain},
		{"expired", func(_ *Message, e *Expect) { e.Now = issued.Add(10 * time.Minute) }, Expired},
		{"issued too long ago", func(m *Message, e *Expect) {
			m.ExpirationTime = Timestamp{}
			e.Now = issued.Add(11 * time.Minute)
		}, Expired},
		{"issued in the future", func(_ *Message, e *Expect) { e.Now = issued.Add(-2 * time.Minute) }, NotYetValid},
		{"not before", func(m *Message, _ *Expect) { m.NotBefore = NewTimestamp(issued.Add(7 * time.Minute)) }, NotYetValid},
	}
	for _, tc := range cases {
		m, err := Parse(vector)
		if err != nil {
			t.Fatal(err)
		}
		e := base
		tc.edit(m, &e)
		err = m.Check(e)
		var ce *CheckError
		switch {
		case tc.reason == 0 && err != nil:
			t.Errorf("%s: Check = %v; want nil", tc.name, err)
		case tc.reason != 0 && (!errors.As(err, &ce) || ce.Reason != tc.reason):
			t.Errorf("%s: Check = %v; want reason %d", tc.name, err, tc.reason)
		}
	}
	// A server on a non-default port, plain HTTP (dev mode).
	dev, _ := url.Parse("http://127.0.0.1:8080")
	m, _ := Parse(strings.NewReplacer("agentbot.example wants", "127.0.0.1:8080 wants",
		"https://agentbot.example/login", "http://127.0.0.1:8080/").Replace(vector))
	if err := m.Check(Expect{Origin: dev, ChainIDs: []uint64{8453}, Now: issued, MaxAge: time.Hour}); err != nil {
		t.Errorf("dev origin: Check = %v; want nil", err)
	}
}

func TestNewTimestamp(t *testing.T) {
	ts := NewTimestamp(time.Date(2026, 11, 29, 13, 0, 0, 123456789, time.FixedZone("x", 3600)))
	if ts.String() != "2026-11-29T12:00:00.123Z" || ts.IsZero() {
		t.Errorf("NewTimestamp = %q; want 2026-11-29T12:00:00.123Z", ts)
	}
}
