// Package evm holds the Ethereum primitives the gateway computes offline:
// EIP-55 addresses, keccak256, secp256k1 signatures (recovery, and signing
// with a key), EIP-712 digests of EIP-3009 TransferWithAuthorization (the
// check behind the MPP "evm"/"charge" method and the x402 "exact" scheme),
// EIP-191 message digests (sign-in with Ethereum), EIP-712 digests of any
// typed data (TypedData), EIP-1559 transactions signed offline (DynamicFeeTx,
// with the minimal RLP they need), a minimal ABI encoder, and ERC-6492
// signatures with the call data of its off-chain validator. It also
// parses the hex and decimal strings those protocols carry. It never talks to
// a chain; core/chain does.
package evm

import (
	"encoding/hex"
	"errors"
	"math/big"

	"golang.org/x/crypto/sha3"
)

// Keccak256 is Ethereum's keccak256 (the original Keccak padding, not
// SHA3-256) of the concatenation of data.
func Keccak256(data ...[]byte) [32]byte {
	h := sha3.NewLegacyKeccak256()
	for _, d := range data {
		h.Write(d)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

var (
	errUint256 = errors.New("evm: not a decimal uint256")
	errBytes32 = errors.New("evm: not 0x followed by 64 hex digits")
	maxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
)

// ParseUint256 parses a decimal uint256 as JSON payloads carry it ("10000"):
// digits only (no sign, spaces, underscores or 0x), at most 2^256-1. Leading
// zeros are accepted (they do not change the value that is signed), up to
// 86 digits in all.
func ParseUint256(s string) (*big.Int, error) {
	if s == "" || len(s) > 78+8 { // 2^256-1 has 78 digits
		return nil, errUint256
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return nil, errUint256
		}
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Cmp(maxUint256) > 0 {
		return nil, errUint256
	}
	return n, nil
}

// ParseBytes32 parses "0x" followed by exactly 64 hex digits (either case).
func ParseBytes32(s string) ([32]byte, error) {
	var out [32]byte
	if err := decodeHex(out[:], s); err != nil {
		return out, errBytes32
	}
	return out, nil
}

// decodeHex fills dst from "0x" + exactly 2*len(dst) hex digits.
func decodeHex(dst []byte, s string) error {
	if len(s) != 2+2*len(dst) || s[0] != '0' || s[1] != 'x' {
		return errors.New("bad length or prefix")
	}
	_, err := hex.Decode(dst, []byte(s[2:]))
	return err
}
