package siwe

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, and what it accepts it renders back byte for
// byte: the parser accepts one spelling per message, so the text that was
// signed is the text that was checked.
func FuzzParse(f *testing.F) {
	for _, s := range specExamples {
		f.Add(s)
	}
	f.Add(vector)
	f.Add(strings.Replace(vector, "Sign in to Agentbot\n\n", "\n", 1))
	f.Add(vector + "\nNot Before: 2026-11-29T11:59:00+01:00\nRequest ID: r\nResources:\n- https://a.example")
	f.Add("https://[::1]:8080 wants you to sign in with your Ethereum account:\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		if got := m.String(); got != s {
			t.Fatalf("Parse accepted\n%q\nbut renders\n%q", s, got)
		}
		if m.Version != "1" || m.ChainID == 0 || len(m.Nonce) < 8 || m.IssuedAt.IsZero() {
			t.Fatalf("Parse accepted an incomplete message: %+v", m)
		}
	})
}
