package evm_test

import (
	"encoding/hex"
	"math/big"
	"testing"

	"github.com/agentbot/gateway/core/evm"
)

func mustAddr(t *testing.T, s string) *evm.Address {
	t.Helper()
	a, err := evm.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return &a
}

// TestSignTxVectors compares with transactions viem 2.57.0 signed
// (privateKeyToAccount(key).signTransaction) with anvil's first development
// key.
func TestSignTxVectors(t *testing.T) {
	key, err := evm.ParsePrivateKey("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
	if err != nil {
		t.Fatal(err)
	}
	transfer, _ := hex.DecodeString("a9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c800000000000000000000000000000000000000000000000000000000000f4240")
	for _, tc := range []struct {
		name      string
		tx        evm.DynamicFeeTx
		raw, hash string
	}{
		{"usdc transfer", evm.DynamicFeeTx{ChainID: 8453, Nonce: 7, GasTipCap: big.NewInt(1_000_000), GasFeeCap: big.NewInt(2_000_000_000),
			Gas: 65000, To: mustAddr(t, "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"), Value: big.NewInt(0), Data: transfer},
			"02f8b082210507830f4240847735940082fde894833589fcd6edb6e08f4c7c32d4f71b54bda0291380b844a9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c800000000000000000000000000000000000000000000000000000000000f4240c080a010fe544a05f109167138d2649a6444876e1d3dc5d4dc98fbfbda4660f98a6188a078c64b9865420add09c0c4e3606e80e6089b4e81e419ca473d0f39be5748cae8",
			"52b2edac1ed77fd9818a28c1355ef53b2b9187d2b2bb4a620dbcab178dea3d2f"},
		{"ether, zero fees", evm.DynamicFeeTx{ChainID: 1, Gas: 21000, To: mustAddr(t, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
			Value: big.NewInt(1_000_000_000_000_000_000)},
			"02f86a018080808252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a764000080c001a0afa58f5f9a6140da895959d715d8e7aa8ddc28a22760a7bf0c3202f303d2847ca01aac7bee39e54a814ac951c224c7c3e8b4a1fd5733f3239acbe68aaba1303300",
			"8ccb1165655ea373e5513cedafb296b27bafa9e7616815faa8c62f46976af86d"},
	} {
		raw, hash, err := key.SignTx(&tc.tx)
		if err != nil {
			t.Fatalf("%s: SignTx = %v", tc.name, err)
		}
		if got := hex.EncodeToString(raw); got != tc.raw {
			t.Errorf("%s: raw = %s; want %s", tc.name, got, tc.raw)
		}
		if got := hex.EncodeToString(hash[:]); got != tc.hash {
			t.Errorf("%s: hash = %s; want %s", tc.name, got, tc.hash)
		}
		// The sender recovers from the signing hash and the signature.
		digest, _ := tc.tx.SigningHash()
		n := len(raw)
		sig := make([]byte, 65)
		copy(sig[:32], raw[n-65:n-33])
		copy(sig[32:64], raw[n-32:])
		// yParity precedes r's 0xa0 prefix: RLP writes 0 as 0x80, 1 as 0x01.
		sig[64] = 27
		if raw[n-67] == 0x01 {
			sig[64] = 28
		}
		if from, err := evm.RecoverSigner(digest, sig); err != nil || from != key.Address() {
			t.Errorf("%s: signer = %v, %v; want %v", tc.name, from, err, key.Address())
		}
	}
}

func TestSignTxRejectsNegative(t *testing.T) {
	key, _ := evm.GenerateKey()
	if _, _, err := key.SignTx(&evm.DynamicFeeTx{Value: big.NewInt(-1)}); err == nil {
		t.Error("SignTx(value -1) = nil; want an error")
	}
}

func TestKeyBytesRoundTrip(t *testing.T) {
	key, err := evm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	back, err := evm.PrivateKeyFromBytes(key.Bytes())
	if err != nil || back.Address() != key.Address() {
		t.Fatalf("PrivateKeyFromBytes(Bytes()) = %v, %v; want %v", back, err, key.Address())
	}
	for _, b := range [][]byte{nil, make([]byte, 32), make([]byte, 31)} {
		if _, err := evm.PrivateKeyFromBytes(b); err == nil {
			t.Errorf("PrivateKeyFromBytes(%x) = nil error; want one", b)
		}
	}
}
