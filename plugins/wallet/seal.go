package wallet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"

	"github.com/agentbot/gateway/core/evm"
)

// The first byte of a sealed blob says what it holds, so that the format can
// change: a local key, or the address of an account CDP holds.
const (
	sealVersion = 1
	sealCDP     = 2
)

var errSealed = errors.New("wallet: the sealed key does not open (another seal key, another owner, or damaged)")

// aad binds a sealed key to its owner: a blob copied to another owner's row
// fails to open instead of signing for them.
func aad(owner string) []byte { return []byte("agentbot-wallet/v1\x00" + owner) }

// seal encrypts key for owner: version ‖ 12-byte nonce ‖ AES-256-GCM(key).
func seal(sealKey []byte, owner string, key *evm.PrivateKey) ([]byte, error) {
	return sealBytes(sealKey, owner, sealVersion, key.Bytes())
}

// open is seal's inverse.
func open(sealKey []byte, owner string, blob []byte) (*evm.PrivateKey, error) {
	plain, err := openBytes(sealKey, owner, sealVersion, blob)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return evm.PrivateKeyFromBytes(plain)
}

func sealBytes(sealKey []byte, owner string, version byte, payload []byte) ([]byte, error) {
	gcm, err := newGCM(sealKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+gcm.NonceSize(), 1+gcm.NonceSize()+len(payload)+gcm.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	// The version is authenticated too: a blob relabelled does not open.
	return gcm.Seal(out, out[1:], payload, append(aad(owner), version)), nil
}

func openBytes(sealKey []byte, owner string, version byte, blob []byte) ([]byte, error) {
	gcm, err := newGCM(sealKey)
	if err != nil {
		return nil, err
	}
	if len(blob) < 1+gcm.NonceSize()+gcm.Overhead() || blob[0] != version {
		return nil, errSealed
	}
	n := 1 + gcm.NonceSize()
	plain, err := gcm.Open(nil, blob[1:n], blob[n:], append(aad(owner), version))
	if err != nil {
		return nil, errSealed
	}
	return plain, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
