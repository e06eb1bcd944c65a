package auth

import "golang.org/x/crypto/bcrypt"

// Password length bounds in bytes. bcrypt reads at most 72 bytes; a longer
// password is refused rather than silently truncated.
const (
	MinPassword = 8
	MaxPassword = 72
)

// Passwords hashes and checks passwords with bcrypt.
type Passwords struct {
	// Cost is the bcrypt cost; bcrypt.DefaultCost when zero. Tests lower it.
	Cost int
}

// dummyHash is checked against when an account does not exist, so that a
// sign-in for an unknown email costs as much as one for a known email.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("agentbot-dummy-password"), bcrypt.DefaultCost)

// Hash returns the bcrypt hash of pw.
func (p Passwords) Hash(pw string) (string, error) {
	cost := p.Cost
	if cost == 0 {
		cost = 12
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	return string(h), err
}

// Check reports whether pw matches hash. An empty hash (unknown account) is
// checked against a dummy hash and never matches.
func (p Passwords) Check(hash, pw string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}
