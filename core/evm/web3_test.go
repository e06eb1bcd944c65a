package evm

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
)

// The sign-in vector of RATIONALE.md ("Sign-in with Ethereum"): anvil's
// development account #1 signing an EIP-4361 message with personal_sign
// (made with viem; RFC 6979 makes it reproducible).
const (
	siweVectorMessage = "agentbot.example wants you to sign in with your Ethereum account:\n" +
		"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n\nSign in to Agentbot\n\n" +
		"URI: https://agentbot.example/login\nVersion: 1\nChain ID: 8453\nNonce: a1B2c3D4e5F6g7H8\n" +
		"Issued At: 2026-11-29T12:00:00.000Z\nExpiration Time: 2026-11-29T12:10:00.000Z"
	siweVectorHash = "0xc6a3affc30dff178506dd83474e6a30fbaa80d4bf5f3ca769f0a36dadaf5a6fa"
	siweVectorSig  = "0xc5bdc65e627ce22f7fae636f771a4ccd25d3b8f0e25ae1e9a9abf561adbceded06c0b0b6051120504cfddeaf13d8d787df3d0667cd3b68477f4e48952f9f12811c"
	devKey1        = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
	devAddr1       = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
)

func TestTextHashAndRecovery(t *testing.T) {
	h := TextHash([]byte(siweVectorMessage))
	if got := "0x" + hex.EncodeToString(h[:]); got != siweVectorHash {
		t.Fatalf("TextHash = %s; want %s", got, siweVectorHash)
	}
	sig, err := ParseSignature(siweVectorSig)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := RecoverSigner(h, sig); err != nil || got.Hex() != devAddr1 {
		t.Fatalf("RecoverSigner = %v, %v; want %s", got, err, devAddr1)
	}
	// The length counts bytes, not characters.
	if a, b := TextHash([]byte("é")), Keccak256([]byte("\x19Ethereum Signed Message:\n2é")); a != b {
		t.Errorf("TextHash(é) counts characters, not bytes")
	}
}

func TestPrivateKeySign(t *testing.T) {
	k, err := ParsePrivateKey(devKey1)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Address().Hex(); got != devAddr1 {
		t.Fatalf("Address() = %s; want %s", got, devAddr1)
	}
	// Deterministic signing reproduces viem's signature byte for byte.
	if got := "0x" + hex.EncodeToString(k.Sign(TextHash([]byte(siweVectorMessage)))); got != siweVectorSig {
		t.Errorf("Sign = %s; want %s", got, siweVectorSig)
	}
	for _, bad := range []string{"", "0x00", "0x" + strings.Repeat("0", 64),
		"0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", // n
		"0x" + strings.Repeat("g", 64), devKey1[2:] + "00"} {
		if _, err := ParsePrivateKey(bad); err == nil {
			t.Errorf("ParsePrivateKey(%q) = nil error; want an error", bad)
		}
	}
}

func TestEncodeArgs(t *testing.T) {
	if got := Selector("balanceOf(address)"); hex.EncodeToString(got[:]) != "70a08231" {
		t.Errorf("Selector(balanceOf(address)) = %x; want 70a08231", got)
	}
	if got := Selector("isValidSignature(bytes32,bytes)"); hex.EncodeToString(got[:]) != "1626ba7e" {
		t.Errorf("Selector(isValidSignature(bytes32,bytes)) = %x; want 1626ba7e", got)
	}
	a, _ := ParseAddress(devAddr1)
	var h [32]byte
	h[31] = 7
	got, err := EncodeArgs(a, h, []byte{1, 2, 3}, true, uint64(5), big.NewInt(256))
	if err != nil {
		t.Fatal(err)
	}
	word := func(s string) string { return strings.Repeat("0", 64-len(s)) + s }
	want := word("70997970c51812dc3a010c7d01b50e0d17dc79c8") + word("7") +
		word("c0") + // offset of the bytes: 6 head words
		word("1") + word("5") + word("100") +
		word("3") + "010203" + strings.Repeat("0", 58)
	if hex.EncodeToString(got) != want {
		t.Errorf("EncodeArgs =\n%x\nwant\n%s", got, want)
	}
	for _, bad := range []any{big.NewInt(-1), new(big.Int).Lsh(big.NewInt(1), 256), (*big.Int)(nil), "text", 3} {
		if _, err := EncodeArgs(bad); err == nil {
			t.Errorf("EncodeArgs(%#v) = nil error; want an error", bad)
		}
	}
	// Two dynamic arguments: the second offset counts the first's tail.
	got, _ = EncodeArgs([]byte{}, bytes.Repeat([]byte{9}, 33))
	want = word("40") + word("60") + word("0") + word("21") + strings.Repeat("09", 33) + strings.Repeat("0", 62)
	if hex.EncodeToString(got) != want {
		t.Errorf("EncodeArgs(empty, 33 bytes) =\n%x\nwant\n%s", got, want)
	}
}

func TestERC6492(t *testing.T) {
	factory, _ := ParseAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")
	owner, _ := ParseAddress(devAddr1)
	calldata, _ := EncodeCall("createAccount(address,uint256)", owner, uint64(0))
	sig := bytes.Repeat([]byte{0xab}, 65)
	w := WrapERC6492(factory, calldata, sig)
	// 3 head words, then 68 bytes of calldata and 65 of signature, each with
	// a length word and padded to 96, then the 32-byte suffix.
	if len(w) != 384 || !IsERC6492(w) {
		t.Fatalf("WrapERC6492: %d bytes, IsERC6492 %v; want 384, true", len(w), IsERC6492(w))
	}
	if IsERC6492(sig) || IsERC6492(ERC6492Suffix[1:]) {
		t.Errorf("IsERC6492 is true for a plain signature")
	}
	if !IsERC6492(ERC6492Suffix) {
		t.Errorf("IsERC6492(suffix alone) = false; the suffix is what marks the format")
	}
	var hash [32]byte
	data := ValidatorCallData(owner, hash, w)
	args, _ := EncodeArgs(owner, hash, w)
	if !bytes.HasPrefix(data, validatorCode) || !bytes.HasSuffix(data, args) || len(data) != len(validatorCode)+len(args) {
		t.Errorf("ValidatorCallData is not the validator's creation code followed by the encoded arguments")
	}
	// The constructor answers with one byte: mstore(0, ok); return(31, 1).
	if !bytes.Contains(validatorCode, []byte{0x60, 0x01, 0x60, 0x1f, 0xf3}) {
		t.Errorf("the embedded validator does not return(31, 1)")
	}
}
