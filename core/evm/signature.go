package evm

import (
	"errors"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// ErrBadSignature is wrapped by every error of RecoverSigner and VerifyTransfer.
var ErrBadSignature = errors.New("evm: bad signature")

// ParseSignature parses "0x" followed by 130 hex digits: the 65 bytes r‖s‖v
// that wallets return. It checks only the shape; RecoverSigner checks the rest.
func ParseSignature(s string) ([]byte, error) {
	sig := make([]byte, 65)
	if err := decodeHex(sig, s); err != nil {
		return nil, fmt.Errorf("%w: not 0x followed by 130 hex digits", ErrBadSignature)
	}
	return sig, nil
}

// RecoverSigner returns the address whose key made sig over digest. sig is
// r‖s‖v (65 bytes) with v in {27, 28} or {0, 1}. Like Ethereum since
// Homestead, and like the USDC contract, it refuses a high s (s > n/2): for
// every signature (r, s) the twin (r, n-s) is also valid, and accepting both
// would let anyone mint a second signature for the same authorization.
func RecoverSigner(digest [32]byte, sig []byte) (Address, error) {
	if len(sig) != 65 {
		return Address{}, fmt.Errorf("%w: %d bytes; want 65", ErrBadSignature, len(sig))
	}
	v := sig[64]
	if v >= 27 {
		v -= 27
	}
	if v > 1 {
		return Address{}, fmt.Errorf("%w: v = %d; want 27, 28, 0 or 1", ErrBadSignature, sig[64])
	}
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || r.IsZero() {
		return Address{}, fmt.Errorf("%w: r is 0 or not below the group order", ErrBadSignature)
	}
	if s.SetByteSlice(sig[32:64]) || s.IsZero() {
		return Address{}, fmt.Errorf("%w: s is 0 or not below the group order", ErrBadSignature)
	}
	if s.IsOverHalfOrder() {
		return Address{}, fmt.Errorf("%w: s is above n/2 (malleable)", ErrBadSignature)
	}
	// The decred compact form is (27 + recovery id) ‖ r ‖ s, the id saying
	// which of the two candidate points with x = r was used.
	var compact [65]byte
	compact[0] = 27 + v
	copy(compact[1:], sig[:64])
	pub, _, err := ecdsa.RecoverCompact(compact[:], digest[:])
	if err != nil {
		return Address{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	// An address is the last 20 bytes of keccak256(X ‖ Y).
	h := Keccak256(pub.SerializeUncompressed()[1:])
	var a Address
	copy(a[:], h[12:])
	return a, nil
}

// VerifyTransfer returns nil iff sig is a.From's signature of a under d. It
// checks the signature only: the caller still compares a.To, a.Value and the
// validity window with what it asked for, and keeps nonces single-use.
func VerifyTransfer(d Domain, a TransferAuthorization, sig []byte) error {
	for _, f := range []struct {
		name string
		ok   bool
	}{{"value", isUint256(a.Value)}, {"validAfter", isUint256(a.ValidAfter)}, {"validBefore", isUint256(a.ValidBefore)}} {
		if !f.ok {
			return fmt.Errorf("%w: %s is not a uint256", ErrBadSignature, f.name)
		}
	}
	signer, err := RecoverSigner(TransferDigest(d, a), sig)
	if err != nil {
		return err
	}
	if signer != a.From {
		return fmt.Errorf("%w: signed by %s, not by from %s", ErrBadSignature, signer, a.From)
	}
	return nil
}
