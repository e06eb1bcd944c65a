package evm

import (
	"bytes"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

func TestRecoverSignerV(t *testing.T) {
	for _, tc := range loadTransfers(t) {
		v := tc.sig[64]
		if v != 27 && v != 28 {
			t.Fatalf("%s: viem's v = %d; want 27 or 28", tc.name, v)
		}
		for _, alt := range []byte{v, v - 27} {
			sig := append([]byte(nil), tc.sig...)
			sig[64] = alt
			if got, err := RecoverSigner(tc.digest, sig); err != nil || got != tc.signer {
				t.Errorf("%s: RecoverSigner(v=%d) = %v, %v; want %v", tc.name, alt, got, err, tc.signer)
			}
		}
		// The other parity recovers some other key, or nothing.
		sig := append([]byte(nil), tc.sig...)
		sig[64] = 27 + 28 - v
		if got, err := RecoverSigner(tc.digest, sig); err == nil && got == tc.signer {
			t.Errorf("%s: RecoverSigner(flipped v) = the signer; want another address or an error", tc.name)
		}
		for _, bad := range []byte{2, 3, 26, 29, 30, 31, 35, 36, 255} {
			sig[64] = bad
			if _, err := RecoverSigner(tc.digest, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("%s: RecoverSigner(v=%d) = %v; want ErrBadSignature", tc.name, bad, err)
			}
		}
	}
}

// secp256k1's order n.
var curveN, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)

func TestRecoverSignerRejectsHighS(t *testing.T) {
	for _, tc := range loadTransfers(t) {
		// (r, n-s) with the other parity is the malleable twin of (r, s).
		s := new(big.Int).SetBytes(tc.sig[32:64])
		twin := append([]byte(nil), tc.sig...)
		new(big.Int).Sub(curveN, s).FillBytes(twin[32:64])
		twin[64] = 27 + 28 - tc.sig[64]

		// The twin is a valid signature by the same key: without the low-s
		// rule it would verify.
		compact := append([]byte{twin[64]}, twin[:64]...)
		pub, _, err := ecdsa.RecoverCompact(compact, tc.digest[:])
		if err != nil {
			t.Fatalf("%s: RecoverCompact(twin) = %v", tc.name, err)
		}
		h := Keccak256(pub.SerializeUncompressed()[1:])
		if !bytes.Equal(h[12:], tc.signer[:]) {
			t.Fatalf("%s: the high-s twin does not recover the signer; the test is wrong", tc.name)
		}

		if got, err := RecoverSigner(tc.digest, twin); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: RecoverSigner(high s) = %v, %v; want ErrBadSignature", tc.name, got, err)
		}
		if err := VerifyTransfer(tc.domain, tc.auth, twin); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: VerifyTransfer(high s) = %v; want ErrBadSignature", tc.name, err)
		}
	}
}

func TestRecoverSignerRejectsOutOfRange(t *testing.T) {
	tc := loadTransfers(t)[0]
	n := curveN.FillBytes(make([]byte, 32))
	ff := bytes.Repeat([]byte{0xff}, 32)
	zero := make([]byte, 32)
	halfPlus1 := new(big.Int).Add(new(big.Int).Rsh(curveN, 1), big.NewInt(1)).FillBytes(make([]byte, 32))
	for name, rs := range map[string][2][]byte{
		"r = 0":       {zero, tc.sig[32:64]},
		"s = 0":       {tc.sig[:32], zero},
		"r = n":       {n, tc.sig[32:64]},
		"s = n":       {tc.sig[:32], n},
		"r = 2^256-1": {ff, tc.sig[32:64]},
		"s = 2^256-1": {tc.sig[:32], ff},
		"s = n/2+1":   {tc.sig[:32], halfPlus1},
		"both 0":      {zero, zero},
	} {
		sig := append(append(append([]byte(nil), rs[0]...), rs[1]...), tc.sig[64])
		if got, err := RecoverSigner(tc.digest, sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("RecoverSigner(%s) = %v, %v; want ErrBadSignature", name, got, err)
		}
	}
	for _, size := range []int{0, 1, 64, 66, 130} {
		sig := make([]byte, size)
		copy(sig, tc.sig)
		if _, err := RecoverSigner(tc.digest, sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("RecoverSigner(%d bytes) = %v; want ErrBadSignature", size, err)
		}
	}
	if _, err := RecoverSigner(tc.digest, nil); !errors.Is(err, ErrBadSignature) {
		t.Errorf("RecoverSigner(nil) = %v; want ErrBadSignature", err)
	}
}

func TestParseSignature(t *testing.T) {
	good := "0x" + strings.Repeat("ab", 64) + "1b"
	if sig, err := ParseSignature(good); err != nil || len(sig) != 65 || sig[64] != 27 {
		t.Errorf("ParseSignature(%q) = %x, %v; want 65 bytes ending 1b", good, sig, err)
	}
	for _, bad := range []string{"", "0x", good[2:], "ab" + good[2:], good[:len(good)-2], good + "00", "0X" + good[2:], strings.Repeat("0", 132),
		good[:10] + "zz" + good[12:], " " + good, good + " "} {
		if sig, err := ParseSignature(bad); err == nil || sig != nil {
			t.Errorf("ParseSignature(%q) = %x, %v; want an error", bad, sig, err)
		}
	}
}

func BenchmarkVerifyTransfer(b *testing.B) {
	tc := loadTransfers(b)[0]
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyTransfer(tc.domain, tc.auth, tc.sig); err != nil {
			b.Fatal(err)
		}
	}
}
