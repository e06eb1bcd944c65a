package evm

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestAddressEIP55(t *testing.T) {
	v := loadVectors(t)
	for _, tc := range v.Addresses {
		a, err := ParseAddress(tc.Input)
		if err != nil {
			t.Fatalf("ParseAddress(%q) = %v", tc.Input, err)
		}
		if got := a.Hex(); got != tc.Checksummed {
			t.Errorf("ParseAddress(%q).Hex() = %q; want %q", tc.Input, got, tc.Checksummed)
		}
		if got := a.String(); got != tc.Checksummed {
			t.Errorf("String() = %q; want %q", got, tc.Checksummed)
		}
		for _, form := range []string{tc.Checksummed, "0x" + strings.ToUpper(tc.Input[2:])} {
			if b, err := ParseAddress(form); err != nil || b != a {
				t.Errorf("ParseAddress(%q) = %v, %v; want %v", form, b, err, a)
			}
		}
	}
	for _, tc := range v.MixedCase {
		_, err := ParseAddress(tc.Input)
		if (err == nil) != tc.Valid {
			t.Errorf("ParseAddress(%q) = %v; viem's isAddress(strict) = %v", tc.Input, err, tc.Valid)
		}
	}
}

func TestParseAddressMalformed(t *testing.T) {
	const ok = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
	if a, err := ParseAddress(ok); err != nil || hex.EncodeToString(a[:]) != strings.ToLower(ok[2:]) {
		t.Fatalf("ParseAddress(%q) = %x, %v", ok, a, err)
	}
	for _, bad := range []string{
		"", "0x", "0x0", ok[2:], "0X" + ok[2:], ok[:41], ok + "0", ok + " ", " " + ok,
		"0x70997970c51812dc3a010c7d01b50e0d17dc79cg", // not hex
		"0x70997970C51812dc3A010C7d01b50e0d17dc79c8", // one letter's case wrong
		"0x70997970C51812dc3A010C7d01b50e0d17dc79Ç8", // non-ASCII
		"0x" + strings.Repeat("0", 38) + "\x00\x00",
	} {
		if a, err := ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) = %v, nil; want an error", bad, a)
		} else if a != (Address{}) {
			t.Errorf("ParseAddress(%q) returned %v with its error; want the zero address", bad, a)
		}
	}
}

func TestKeccak256(t *testing.T) {
	for _, tc := range loadVectors(t).Keccak {
		in, err := hex.DecodeString(tc.Input[2:])
		if err != nil {
			t.Fatal(err)
		}
		want, err := ParseBytes32(tc.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if got := Keccak256(in); got != want {
			t.Errorf("Keccak256(%s) = %x; want %x", tc.Input, got, want)
		}
		// Several arguments hash as their concatenation.
		if got := Keccak256(in[:len(in)/3], nil, in[len(in)/3:]); got != want {
			t.Errorf("Keccak256(%s in parts) = %x; want %x", tc.Input, got, want)
		}
	}
}

func TestParseUint256(t *testing.T) {
	const max = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
	for _, tc := range []struct{ in, want string }{
		{"0", "0"}, {"1", "1"}, {"10000", "10000"}, {"007", "7"}, {max, max}, {"0" + max, max},
	} {
		got, err := ParseUint256(tc.in)
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseUint256(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"", "+1", "-1", "-0", " 1", "1 ", "1_000", "0x10", "1e3", "1.0", "١", "abc",
		"115792089237316195423570985008687907853269984665640564039457584007913129639936", // 2^256
		strings.Repeat("9", 200), strings.Repeat("0", 100) + "1",
	} {
		if got, err := ParseUint256(bad); err == nil {
			t.Errorf("ParseUint256(%q) = %v, nil; want an error", bad, got)
		}
	}
}

func TestParseBytes32(t *testing.T) {
	good := "0x" + strings.Repeat("0123456789abcdefABCDEF0123456789", 2)
	if b, err := ParseBytes32(good); err != nil || b[0] != 0x01 || b[31] != 0x89 {
		t.Errorf("ParseBytes32(%q) = %x, %v", good, b, err)
	}
	for _, bad := range []string{"", "0x", good[2:], good[:65], good + "0", "0X" + good[2:], good[:20] + "g" + good[21:]} {
		if b, err := ParseBytes32(bad); err == nil {
			t.Errorf("ParseBytes32(%q) = %x, nil; want an error", bad, b)
		}
	}
}
