package evm

import (
	"errors"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// PrivateKey is a secp256k1 key that signs digests the way Ethereum wallets
// do. The gateway itself holds no keys; tests and local tools do.
type PrivateKey struct{ k *secp256k1.PrivateKey }

// ParsePrivateKey parses "0x" followed by 64 hex digits: a scalar in [1, n).
func ParsePrivateKey(s string) (*PrivateKey, error) {
	var b [32]byte
	if err := decodeHex(b[:], s); err != nil {
		return nil, errors.New("evm: a private key is 0x followed by 64 hex digits")
	}
	var n secp256k1.ModNScalar
	if n.SetBytes(&b) != 0 || n.IsZero() {
		return nil, errors.New("evm: a private key is a number from 1 to the group order")
	}
	return &PrivateKey{secp256k1.NewPrivateKey(&n)}, nil
}

// Address is the account the key controls: the last 20 bytes of
// keccak256(X ‖ Y) of its public key.
func (k *PrivateKey) Address() Address {
	h := Keccak256(k.k.PubKey().SerializeUncompressed()[1:])
	var a Address
	copy(a[:], h[12:])
	return a
}

// Sign signs digest deterministically (RFC 6979) and returns r‖s‖v with v 27
// or 28 and a low s, as eth_sign and personal_sign return it.
func (k *PrivateKey) Sign(digest [32]byte) []byte {
	compact := ecdsa.SignCompact(k.k, digest[:], false) // (27 + recovery id) ‖ r ‖ s
	sig := make([]byte, 65)
	copy(sig, compact[1:])
	sig[64] = compact[0]
	return sig
}

// GenerateKey makes a new key from the operating system's randomness.
func GenerateKey() (*PrivateKey, error) {
	k, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		return nil, err
	}
	return &PrivateKey{k}, nil
}

// Bytes is the key's 32-byte big-endian scalar: secret material, for sealing
// at rest only.
func (k *PrivateKey) Bytes() []byte { return k.k.Serialize() }

// PrivateKeyFromBytes is the inverse of Bytes.
func PrivateKeyFromBytes(b []byte) (*PrivateKey, error) {
	if len(b) != 32 {
		return nil, errors.New("evm: a private key is 32 bytes")
	}
	var n secp256k1.ModNScalar
	if n.SetByteSlice(b) || n.IsZero() {
		return nil, errors.New("evm: a private key is a number from 1 to the group order")
	}
	return &PrivateKey{secp256k1.NewPrivateKey(&n)}, nil
}
