package evm

import (
	"encoding/binary"
	"math/big"
)

// RLP is the recursive length prefix encoding Ethereum serialises
// transactions with. Only encoding is needed: the gateway builds
// transactions, it never parses them.

// rlpBytes encodes a byte string: a single byte below 0x80 is itself,
// anything else a length prefix and the bytes.
func rlpBytes(b []byte) []byte {
	if len(b) == 1 && b[0] < 0x80 {
		return []byte{b[0]}
	}
	return append(rlpHeader(0x80, len(b)), b...)
}

// rlpList encodes items that are already RLP-encoded as a list.
func rlpList(items ...[]byte) []byte {
	n := 0
	for _, it := range items {
		n += len(it)
	}
	out := rlpHeader(0xc0, n)
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// rlpHeader is the prefix of a string (base 0x80) or list (base 0xc0) of n
// bytes: base+n below 56 bytes, else base+55+len(n) and n big-endian.
func rlpHeader(base byte, n int) []byte {
	if n < 56 {
		return []byte{base + byte(n)}
	}
	var be [8]byte
	binary.BigEndian.PutUint64(be[:], uint64(n))
	i := 0
	for i < 7 && be[i] == 0 {
		i++
	}
	return append([]byte{base + 55 + byte(8-i)}, be[i:]...)
}

// rlpUint encodes a non-negative integer as its minimal big-endian bytes (0
// is the empty string).
func rlpUint(x uint64) []byte {
	var be [8]byte
	binary.BigEndian.PutUint64(be[:], x)
	i := 0
	for i < 8 && be[i] == 0 {
		i++
	}
	return rlpBytes(be[i:])
}

// rlpBig is rlpUint for a *big.Int (nil is 0); the caller checks the sign.
func rlpBig(x *big.Int) []byte {
	if x == nil {
		return rlpBytes(nil)
	}
	return rlpBytes(x.Bytes())
}
