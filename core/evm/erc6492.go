package evm

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"strings"
)

// ERC6492Suffix ends every ERC-6492 signature: a signature made by a smart
// wallet that is not deployed yet, wrapped with what deploys it.
var ERC6492Suffix = bytes.Repeat([]byte{0x64, 0x92}, 16)

// IsERC6492 reports whether sig is an ERC-6492 wrapped signature.
func IsERC6492(sig []byte) bool {
	return len(sig) >= 32 && bytes.Equal(sig[len(sig)-32:], ERC6492Suffix)
}

// WrapERC6492 wraps the signature of a smart wallet that is not deployed yet:
// abi.encode(factory, factoryCalldata, sig) ‖ ERC6492Suffix, where calling
// factory with factoryCalldata deploys the wallet.
func WrapERC6492(factory Address, factoryCalldata, sig []byte) []byte {
	enc, _ := EncodeArgs(factory, factoryCalldata, sig) // these types always encode
	return append(enc, ERC6492Suffix...)
}

//go:embed contracts/ValidateSigOffchain.hex
var validatorHex string

// validatorCode is the creation code of ERC-6492's ValidateSigOffchain,
// compiled from the ERC's reference source (contracts/ beside this file).
var validatorCode = mustHex(validatorHex)

// ValidatorCallData is the data of a deployless eth_call (no "to") that
// checks sig for signer over hash, whatever signer is: an EOA (ecrecover), a
// deployed ERC-1271 wallet, or an ERC-6492 wrapped signature of a wallet not
// deployed yet (deployed inside the call, which changes no state). The call
// returns the single byte 0x01 when the signature is valid, 0x00 when it is
// not, and reverts when it cannot tell (say, the wrapped deployment fails).
func ValidatorCallData(signer Address, hash [32]byte, sig []byte) []byte {
	args, _ := EncodeArgs(signer, hash, sig) // these types always encode
	return append(append(make([]byte, 0, len(validatorCode)+len(args)), validatorCode...), args...)
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "0x"))
	if err != nil || len(b) == 0 {
		panic("evm: embedded contract code is not hex")
	}
	return b
}
