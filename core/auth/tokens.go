package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// APIKeyPrefix starts every API key.
const APIKeyPrefix = "sk_"

// NewToken returns 32 random bytes as 64 hex characters.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewAPIKey returns a new key: "sk_" + 64 hex characters.
func NewAPIKey() string { return APIKeyPrefix + NewToken() }

// Digest is the SHA-256 of a high-entropy secret (session token, API key, reset
// token). A slow hash would buy nothing for 256-bit random secrets.
func Digest(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// KeyPreview is the display form of a key: its first 10 characters and "...".
func KeyPreview(prefix string) string { return prefix + "..." }

// KeyPrefix is what is stored for display: the first 10 characters.
func KeyPrefix(key string) string {
	if len(key) < 10 {
		return key
	}
	return key[:10]
}

// wellFormedAPIKey reports whether s has the shape of an API key.
func wellFormedAPIKey(s string) bool {
	if len(s) != len(APIKeyPrefix)+64 || !strings.HasPrefix(s, APIKeyPrefix) {
		return false
	}
	for _, c := range s[len(APIKeyPrefix):] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
