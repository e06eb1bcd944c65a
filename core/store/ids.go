package store

import (
	"crypto/rand"
	"encoding/hex"
)

// newID returns prefix + 24 random hex characters.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
