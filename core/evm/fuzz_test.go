package evm

import (
	"encoding/hex"
	"math/big"
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

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"0x" + strings.Repeat("ab", 32), "0x" + strings.Repeat("AB", 65), "0x" + strings.Repeat("0", 63),
		"0X" + strings.Repeat("00", 32), strings.Repeat("00", 33), "0x" + strings.Repeat("zz", 32)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if b, err := ParseBytes32(s); err == nil && "0x"+hex.EncodeToString(b[:]) != strings.ToLower(s) {
			t.Fatalf("ParseBytes32(%q) = %x; want the same digits", s, b)
		}
		if sig, err := ParseSignature(s); err == nil && (len(sig) != 65 || "0x"+hex.EncodeToString(sig) != strings.ToLower(s)) {
			t.Fatalf("ParseSignature(%q) = %x; want the same 65 bytes", s, sig)
		}
	})
}

// FuzzVerifyTransfer changes a signed authorization (its domain, message or
// signature) and checks that VerifyTransfer accepts only what was signed: a
// signature verifies no message with another digest, and the only other
// encoding of a signature it accepts is v as 0/1 instead of 27/28 (not the
// high-s twin).
func FuzzVerifyTransfer(f *testing.F) {
	cases := loadTransfers(f)
	f.Add(uint8(0), "", int64(0), int64(0), int64(0), uint8(0), uint8(0), byte(0), uint8(0), byte(0))
	f.Add(uint8(1), "USD Coin", int64(1), int64(0), int64(1), uint8(31), uint8(1), byte(1), uint8(64), byte(0xe5))
	f.Add(uint8(2), "", int64(0), int64(-1), int64(0), uint8(0), uint8(64), byte(27), uint8(32), byte(0x80))
	f.Fuzz(func(t *testing.T, which uint8, name string, chainDelta, valueDelta, beforeDelta int64,
		nonceAt uint8, sigAt uint8, sigXor byte, fromAt uint8, fromXor byte) {
		tc := cases[int(which)%len(cases)]
		d, a := tc.domain, tc.auth
		if name != "" {
			d.Name = name
		}
		d.ChainID += chainDelta
		a.Value = new(big.Int).Add(a.Value, big.NewInt(valueDelta))
		a.ValidBefore = new(big.Int).Add(a.ValidBefore, big.NewInt(beforeDelta))
		a.Nonce[nonceAt%32] ^= byte(nonceAt / 32)
		a.From[fromAt%20] ^= fromXor
		sig := append([]byte(nil), tc.sig...)
		sig[int(sigAt)%65] ^= sigXor
		if err := VerifyTransfer(d, a, sig); err != nil {
			return
		}
		if TransferDigest(d, a) != tc.digest {
			t.Fatalf("%s: VerifyTransfer accepted a message with another digest (domain %+v, message %+v)", tc.name, d, a)
		}
		if a.From != tc.signer {
			t.Fatalf("%s: VerifyTransfer accepted from %s; the signer is %s", tc.name, a.From, tc.signer)
		}
		v, w := sig[64], tc.sig[64]
		if string(sig[:64]) != string(tc.sig[:64]) || (v != w && v != w-27 && v != w+27) {
			t.Fatalf("%s: VerifyTransfer accepted signature %x; signed %x", tc.name, sig, tc.sig)
		}
	})
}
