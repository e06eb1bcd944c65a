package evm

import (
	"encoding/json"
	"math/big"
	"os"
	"strconv"
	"testing"
)

// vectors is testdata/vectors.json, computed by viem (testdata/gen.mjs).
type vectors struct {
	Transfers []struct {
		Name   string
		Signer string
		Domain struct {
			Name, Version, ChainID, VerifyingContract string
		}
		Message struct {
			From, To, Value, ValidAfter, ValidBefore, Nonce string
		}
		DomainSeparator string
		Digest          string
		Signature       string
	}
	Keccak    []struct{ Input, Hash string }
	Addresses []struct{ Input, Checksummed string }
	MixedCase []struct {
		Input string
		Valid bool
	}
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Transfers) == 0 || len(v.Keccak) == 0 || len(v.Addresses) == 0 || len(v.MixedCase) == 0 {
		t.Fatal("testdata/vectors.json has an empty section")
	}
	return &v
}

// transferCase is one decoded transfer vector.
type transferCase struct {
	name              string
	signer            Address
	domain            Domain
	auth              TransferAuthorization
	separator, digest [32]byte
	sig               []byte
}

func loadTransfers(t testing.TB) []transferCase {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	addr := func(s string) Address { a, err := ParseAddress(s); must(err); return a }
	u256 := func(s string) *big.Int { n, err := ParseUint256(s); must(err); return n }
	b32 := func(s string) [32]byte { b, err := ParseBytes32(s); must(err); return b }
	var out []transferCase
	for _, v := range loadVectors(t).Transfers {
		chainID, err := strconv.ParseInt(v.Domain.ChainID, 10, 64)
		must(err)
		sig, err := ParseSignature(v.Signature)
		must(err)
		out = append(out, transferCase{
			name:   v.Name,
			signer: addr(v.Signer),
			domain: Domain{Name: v.Domain.Name, Version: v.Domain.Version, ChainID: chainID, VerifyingContract: addr(v.Domain.VerifyingContract)},
			auth: TransferAuthorization{
				From: addr(v.Message.From), To: addr(v.Message.To),
				Value: u256(v.Message.Value), ValidAfter: u256(v.Message.ValidAfter), ValidBefore: u256(v.Message.ValidBefore),
				Nonce: b32(v.Message.Nonce),
			},
			separator: b32(v.DomainSeparator),
			digest:    b32(v.Digest),
			sig:       sig,
		})
	}
	return out
}
