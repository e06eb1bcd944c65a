package evm

import (
	"encoding/hex"
	"errors"
)

// Address is a 20-byte Ethereum account or contract address.
type Address [20]byte

var (
	errAddress  = errors.New("evm: not an address (0x followed by 40 hex digits)")
	errChecksum = errors.New("evm: mixed-case address with a wrong EIP-55 checksum")
)

// ParseAddress parses "0x" followed by 40 hex digits. All-lower-case and
// all-upper-case digits carry no checksum and are accepted as they are; mixed
// case must be a correct EIP-55 checksum, which catches mistyped addresses.
// (viem's strict isAddress rejects all-upper-case too; EIP-55 allows it.)
func ParseAddress(s string) (Address, error) {
	var a Address
	if err := decodeHex(a[:], s); err != nil {
		return Address{}, errAddress
	}
	var lower, upper bool
	for _, c := range s[2:] {
		switch {
		case 'a' <= c && c <= 'f':
			lower = true
		case 'A' <= c && c <= 'F':
			upper = true
		}
	}
	if lower && upper && a.Hex() != s {
		return Address{}, errChecksum
	}
	return a, nil
}

// Hex returns the EIP-55 checksummed form: "0x" and 40 hex digits, where a
// letter is upper case when the matching nibble of keccak256 of the
// lower-case hex is 8 or more.
func (a Address) Hex() string {
	var buf [42]byte
	buf[0], buf[1] = '0', 'x'
	hex.Encode(buf[2:], a[:])
	h := Keccak256(buf[2:])
	for i := 2; i < len(buf); i++ {
		nibble := h[(i-2)/2]
		if i%2 == 0 {
			nibble >>= 4
		}
		if buf[i] >= 'a' && nibble&0xf >= 8 {
			buf[i] -= 'a' - 'A'
		}
	}
	return string(buf[:])
}

// String returns a.Hex().
func (a Address) String() string { return a.Hex() }
