package wallet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"

	"github.com/agentbot/gateway/core/evm"
)

// sealVersion prefixes every sealed key, so that the format can change.
const sealVersion = 1

var errSealed = errors.New("wallet: the sealed key does not open (another seal key, another owner, or damaged)")

// aad binds a sealed key to its owner: a blob copied to another owner's row
// fails to open instead of signing for them.
func aad(owner string) []byte { return []byte("agentbot-wallet/v1\x00" + owner) }

// seal encrypts key for owner: version ‖ 12-byte nonce ‖ AES-256-GCM(key).
func seal(sealKey []byte, owner string, key *evm.PrivateKey) ([]byte, error) {
	gcm, err := newGCM(sealKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+gcm.NonceSize(), 1+gcm.NonceSize()+32+gcm.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return gcm.Seal(out, out[1:], key.Bytes(), aad(owner)), nil
}

// open is seal's inverse.
func open(sealKey []byte, owner string, blob []byte) (*evm.PrivateKey, error) {
	gcm, err := newGCM(sealKey)
	if err != nil {
		return nil, err
	}
	if len(blob) < 1+gcm.NonceSize()+gcm.Overhead() || blob[0] != sealVersion {
		return nil, errSealed
	}
	n := 1 + gcm.NonceSize()
	plain, err := gcm.Open(nil, blob[1:n], blob[n:], aad(owner))
	if err != nil {
		return nil, errSealed
	}
	defer clear(plain)
	return evm.PrivateKeyFromBytes(plain)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
