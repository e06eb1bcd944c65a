package auth

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestPasswords(t *testing.T) {
	p := Passwords{Cost: bcrypt.MinCost}
	tests := []string{"correct horse battery", "pässwörd-ünïcode", strings.Repeat("x", MaxPassword), "12345678"}
	for _, pw := range tests {
		h, err := p.Hash(pw)
		if err != nil {
			t.Fatalf("Hash(%q) = %v", pw, err)
		}
		if h == pw || !strings.HasPrefix(h, "$2") {
			t.Errorf("Hash(%q) = %q; want a bcrypt hash", pw, h)
		}
		if cost, err := bcrypt.Cost([]byte(h)); err != nil || cost != bcrypt.MinCost {
			t.Errorf("Hash(%q) cost = %d, %v; want %d", pw, cost, err, bcrypt.MinCost)
		}
		if !p.Check(h, pw) {
			t.Errorf("Check(Hash(%q), %q) = false; want true", pw, pw)
		}
		for _, wrong := range []string{"", pw + "x", strings.ToUpper(pw) + "!", pw[:len(pw)-1]} {
			if p.Check(h, wrong) {
				t.Errorf("Check(Hash(%q), %q) = true; want false", pw, wrong)
			}
		}
	}
	a, _ := p.Hash("same password")
	b, _ := p.Hash("same password")
	if a == b {
		t.Errorf("Hash(same password) twice = %q; want salted, different hashes", a)
	}
}

func TestPasswordsCheckUnknownAccount(t *testing.T) {
	p := Passwords{Cost: bcrypt.MinCost}
	for _, pw := range []string{"", "agentbot-dummy-password", "anything at all"} {
		if p.Check("", pw) {
			t.Errorf("Check(\"\", %q) = true; want false", pw)
		}
	}
	if p.Check("not a bcrypt hash", "not a bcrypt hash") {
		t.Errorf("Check(garbage hash, same text) = true; want false")
	}
}

func TestPasswordsTooLong(t *testing.T) {
	p := Passwords{Cost: bcrypt.MinCost}
	if h, err := p.Hash(strings.Repeat("x", MaxPassword+1)); err == nil {
		t.Errorf("Hash(%d bytes) = %q, nil; want an error rather than truncation", MaxPassword+1, h)
	}
	pw := strings.Repeat("y", MaxPassword)
	h, err := p.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	if p.Check(h, pw+"anything") {
		t.Errorf("Check(Hash(72 bytes), the same 72 bytes + more) = true; want false, not a match on a truncation")
	}
}

// An unknown account must cost as much as a known one: the dummy hash checked
// for it has the configured cost, not bcrypt's default.
func TestPasswordsDummyHashCost(t *testing.T) {
	for _, cost := range []int{bcrypt.MinCost, bcrypt.MinCost + 1} {
		p := Passwords{Cost: cost}
		got, err := bcrypt.Cost(p.dummyHash())
		if err != nil || got != cost {
			t.Errorf("Passwords{Cost: %d}.dummyHash() cost = %d, %v; want %d", cost, got, err, cost)
		}
	}
	if got := (Passwords{}).cost(); got != 12 {
		t.Errorf("Passwords{}.cost() = %d; want 12, the cost Hash uses", got)
	}
}
