package auth

import (
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Password length bounds in bytes. bcrypt reads at most 72 bytes; a longer
// password is refused rather than silently truncated.
const (
	MinPassword = 8
	MaxPassword = 72
)

// Passwords hashes and checks passwords with bcrypt.
type Passwords struct {
	// Cost is the bcrypt cost; 12 when zero. Tests lower it.
	Cost int
}

func (p Passwords) cost() int {
	if p.Cost == 0 {
		return 12
	}
	return p.Cost
}

// dummyHashes holds, per cost, the hash checked against when an account does
// not exist, so that a sign-in for an unknown email costs as much as one for a
// known email hashed at the configured cost.
var dummyHashes sync.Map // int → []byte

func (p Passwords) dummyHash() []byte {
	c := p.cost()
	if h, ok := dummyHashes.Load(c); ok {
		return h.([]byte)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("agentbot-dummy-password"), c)
	v, _ := dummyHashes.LoadOrStore(c, h)
	return v.([]byte)
}

// Hash returns the bcrypt hash of pw.
func (p Passwords) Hash(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), p.cost())
	return string(h), err
}

// Check reports whether pw matches hash. An empty hash (unknown account) is
// checked against a dummy hash and never matches; so is a password longer than
// MaxPassword, which bcrypt would otherwise compare by its first 72 bytes only.
func (p Passwords) Check(hash, pw string) bool {
	if hash == "" || len(pw) > MaxPassword {
		_ = bcrypt.CompareHashAndPassword(p.dummyHash(), []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}
