// Package secrets seals small values (users' upstream API keys, wallet keys)
// for storage with the platform's master key: AES-256-GCM with a random nonce,
// and a context string bound as associated data so a sealed value cannot be
// moved to another row.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// Box seals and opens values with one key.
type Box struct {
	aead cipher.AEAD
	mac  []byte // the key of Derive, itself derived from the master key
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secrets: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("agentbot/secrets/derive/v1"))
	return &Box{aead: aead, mac: mac.Sum(nil)}, nil
}

// Derive is a secret for label that nobody without the master key can
// compute and that need not be stored: 43 characters of A-Z a-z 0-9 _ -
// (HMAC-SHA256 under a key derived from the master key).
func (b *Box) Derive(label string) string {
	m := hmac.New(sha256.New, b.mac)
	m.Write([]byte(label))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

const version = 1

// Seal encrypts plaintext bound to context (e.g. "byok|usr_1|openai").
func (b *Box) Seal(plaintext []byte, context string) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, plaintext, []byte(context))
}

// BYOKLabel is the context a user's own key for an upstream provider (BYOK)
// is sealed with: billing seals with it and the gateway opens with it, so a
// sealed key cannot be moved to another user or provider.
func BYOKLabel(userID, provider string) string { return "byok|" + userID + "|" + provider }

// ErrOpen means a sealed value is corrupt, was sealed with another key, or
// belongs to another context.
var ErrOpen = errors.New("secrets: cannot open sealed value")

// Open decrypts a value sealed with the same context.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// ChannelLabel is the context a channel credential is sealed with: it opens
// only as its owner's credential for that bot.
func ChannelLabel(userID, kind, externalID string) string {
	return "channel|" + userID + "|" + kind + "|" + externalID
}

// InstanceTokenLabel is the associated data sealing an agent's instance
// token: a sealed token moved to another agent or user does not open.
func InstanceTokenLabel(userID, agentID string) string {
	return "instance-token|" + userID + "|" + agentID
}
