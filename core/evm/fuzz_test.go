package evm

import (
	"strings"
	"testing"
)

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
		"0x70997970C51812DC3A010C7D01B50E0D17DC79C8", "0x", "", "0xZZ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		if !strings.EqualFold(a.Hex(), s) {
			t.Fatalf("ParseAddress(%q).Hex() = %q; want the same digits", s, a.Hex())
		}
		if b, err := ParseAddress(a.Hex()); err != nil || b != a {
			t.Fatalf("ParseAddress(%q) = %v, %v; want %v", a.Hex(), b, err, a)
		}
	})
}

func FuzzRecoverSigner(f *testing.F) {
	for _, tc := range loadTransfers(f) {
		f.Add(tc.digest[:], tc.sig)
	}
	f.Add(make([]byte, 32), make([]byte, 65))
	f.Fuzz(func(t *testing.T, digest, sig []byte) {
		var d [32]byte
		copy(d[:], digest)
		a, err := RecoverSigner(d, sig)
		if err != nil && a != (Address{}) {
			t.Fatalf("RecoverSigner returned %v with error %v", a, err)
		}
		if err == nil && (len(sig) != 65 || sig[64] > 28 || (sig[64] > 1 && sig[64] < 27)) {
			t.Fatalf("RecoverSigner(sig %x) accepted a malformed signature", sig)
		}
	})
}

func FuzzParseUint256(f *testing.F) {
	for _, s := range []string{"0", "10000", "+1", "-1", "1e3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseUint256(s)
		if err != nil {
			return
		}
		if n.Sign() < 0 || n.BitLen() > 256 || strings.TrimLeft(s, "0") != strings.TrimLeft(n.String(), "0") {
			t.Fatalf("ParseUint256(%q) = %v", s, n)
		}
	})
}
