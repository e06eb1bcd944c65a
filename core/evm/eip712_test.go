package evm

import (
	"encoding/hex"
	"errors"
	"math/big"
	"testing"
)

func TestVectorsMatchViem(t *testing.T) {
	for _, tc := range loadTransfers(t) {
		if got := tc.domain.Separator(); got != tc.separator {
			t.Errorf("%s: Separator() = %x; want %x", tc.name, got, tc.separator)
		}
		if got := TransferDigest(tc.domain, tc.auth); got != tc.digest {
			t.Errorf("%s: TransferDigest() = %x; want %x", tc.name, got, tc.digest)
		}
		if got, err := RecoverSigner(tc.digest, tc.sig); err != nil || got != tc.signer {
			t.Errorf("%s: RecoverSigner() = %v, %v; want %v", tc.name, got, err, tc.signer)
		}
		if err := VerifyTransfer(tc.domain, tc.auth, tc.sig); err != nil {
			t.Errorf("%s: VerifyTransfer() = %v; want nil", tc.name, err)
		}
	}
}

func TestVerifyTransferTampered(t *testing.T) {
	other, _ := ParseAddress("0x000000000000000000000000000000000000dEaD")
	inc := func(x *big.Int) *big.Int { return new(big.Int).Add(x, big.NewInt(1)) }
	mutations := map[string]func(*Domain, *TransferAuthorization){
		"value":             func(_ *Domain, a *TransferAuthorization) { a.Value = inc(a.Value) },
		"to":                func(_ *Domain, a *TransferAuthorization) { a.To = other },
		"from":              func(_ *Domain, a *TransferAuthorization) { a.From = other },
		"nonce":             func(_ *Domain, a *TransferAuthorization) { a.Nonce[31] ^= 1 },
		"validAfter":        func(_ *Domain, a *TransferAuthorization) { a.ValidAfter = inc(a.ValidAfter) },
		"validBefore":       func(_ *Domain, a *TransferAuthorization) { a.ValidBefore = inc(a.ValidBefore) },
		"chainId":           func(d *Domain, _ *TransferAuthorization) { d.ChainID++ },
		"name":              func(d *Domain, _ *TransferAuthorization) { d.Name += "x" },
		"version":           func(d *Domain, _ *TransferAuthorization) { d.Version = "3" },
		"verifyingContract": func(d *Domain, _ *TransferAuthorization) { d.VerifyingContract = other },
		"nil value":         func(_ *Domain, a *TransferAuthorization) { a.Value = nil },
		"negative value":    func(_ *Domain, a *TransferAuthorization) { a.Value = big.NewInt(-1) },
		"value 2^256":       func(_ *Domain, a *TransferAuthorization) { a.Value = new(big.Int).Lsh(big.NewInt(1), 256) },
	}
	for _, tc := range loadTransfers(t) {
		if tc.auth.From == other || tc.auth.To == other || tc.domain.VerifyingContract == other {
			t.Fatalf("%s: test address %v occurs in the vector", tc.name, other)
		}
		for field, mutate := range mutations {
			d, a := tc.domain, tc.auth
			mutate(&d, &a)
			err := VerifyTransfer(d, a, tc.sig)
			if !errors.Is(err, ErrBadSignature) {
				t.Errorf("%s: VerifyTransfer(tampered %s) = %v; want an error wrapping ErrBadSignature", tc.name, field, err)
			}
		}
		bad := append([]byte(nil), tc.sig...)
		bad[10] ^= 0x40
		if err := VerifyTransfer(tc.domain, tc.auth, bad); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: VerifyTransfer(flipped bit in r) = %v; want ErrBadSignature", tc.name, err)
		}
	}
}

// Out-of-range integers never panic and hash like their value modulo 2^256.
func TestTransferDigestTotal(t *testing.T) {
	tc := loadTransfers(t)[0]
	a := tc.auth
	a.Value = new(big.Int).Add(a.Value, new(big.Int).Lsh(big.NewInt(1), 256))
	if got := TransferDigest(tc.domain, a); got != tc.digest {
		t.Errorf("TransferDigest(value + 2^256) = %x; want the vector's %x", got, tc.digest)
	}
	a.Value, a.ValidAfter, a.ValidBefore = nil, nil, nil
	zero := tc.auth
	zero.Value, zero.ValidAfter, zero.ValidBefore = new(big.Int), new(big.Int), new(big.Int)
	if TransferDigest(tc.domain, a) != TransferDigest(tc.domain, zero) {
		t.Error("TransferDigest(nil integers) differs from TransferDigest(zeros)")
	}
}

func TestDomainNegativeChainIDIsInt256(t *testing.T) {
	// -1 as int256 is 32 bytes of 0xff, which is also uint256 2^256-1.
	d := Domain{Name: "USDC", Version: "2", ChainID: -1}
	var enc []byte
	name, version := Keccak256([]byte("USDC")), Keccak256([]byte("2"))
	enc = append(enc, domainTypeHash[:]...)
	enc = append(enc, name[:]...)
	enc = append(enc, version[:]...)
	ff, _ := hex.DecodeString("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
	enc = append(enc, ff...)
	enc = append(enc, make([]byte, 32)...)
	if got, want := d.Separator(), Keccak256(enc); got != want {
		t.Errorf("Separator(chainId -1) = %x; want %x", got, want)
	}
}
