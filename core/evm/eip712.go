package evm

import (
	"math/big"
)

// Domain is an EIP-712 domain with the four fields EIP-3009 tokens use; for
// USDC, Name/Version are the token's metadata (e.g. "USDC"/"2" on Base
// Sepolia, "USD Coin"/"2" on Base) and VerifyingContract is the token.
type Domain struct {
	Name, Version     string
	ChainID           int64 // positive in practice; negative values are hashed as int256
	VerifyingContract Address
}

var (
	domainTypeHash   = Keccak256([]byte("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"))
	transferTypeHash = Keccak256([]byte("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"))
)

// Separator is the domain separator: hashStruct of
// EIP712Domain(string name,string version,uint256 chainId,address verifyingContract).
func (d Domain) Separator() [32]byte {
	var enc [5 * 32]byte
	copy(enc[0:], domainTypeHash[:])
	name, version := Keccak256([]byte(d.Name)), Keccak256([]byte(d.Version))
	copy(enc[32:], name[:])
	copy(enc[64:], version[:])
	putInt64(enc[96:128], d.ChainID)
	copy(enc[128+12:], d.VerifyingContract[:])
	return Keccak256(enc[:])
}

// TransferAuthorization is the EIP-3009 TransferWithAuthorization message.
// Value, ValidAfter and ValidBefore are uint256: nil, negative or larger
// values are not valid authorizations (VerifyTransfer rejects them).
type TransferAuthorization struct {
	From, To                       Address
	Value, ValidAfter, ValidBefore *big.Int
	Nonce                          [32]byte
}

// TransferDigest is the EIP-712 digest a wallet signs for a:
// keccak256(0x1901 ‖ d.Separator() ‖ hashStruct(TransferWithAuthorization(
// address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce))).
// A nil integer is hashed as 0 and one outside [0, 2^256) modulo 2^256, so
// that the function is total; VerifyTransfer refuses such messages first.
func TransferDigest(d Domain, a TransferAuthorization) [32]byte {
	var enc [7 * 32]byte
	copy(enc[0:], transferTypeHash[:])
	copy(enc[32+12:], a.From[:])
	copy(enc[64+12:], a.To[:])
	putUint256(enc[96:128], a.Value)
	putUint256(enc[128:160], a.ValidAfter)
	putUint256(enc[160:192], a.ValidBefore)
	copy(enc[192:], a.Nonce[:])
	msg := Keccak256(enc[:])
	sep := d.Separator()
	return Keccak256([]byte{0x19, 0x01}, sep[:], msg[:])
}

var two256 = new(big.Int).Lsh(big.NewInt(1), 256)

// putUint256 writes x into the 32-byte dst, big-endian, modulo 2^256.
func putUint256(dst []byte, x *big.Int) {
	if x == nil {
		return
	}
	if x.Sign() < 0 || x.BitLen() > 256 {
		x = new(big.Int).Mod(x, two256)
	}
	x.FillBytes(dst)
}

// putInt64 writes v into the 32-byte dst as a big-endian two's-complement int256.
func putInt64(dst []byte, v int64) {
	fill := byte(0)
	if v < 0 {
		fill = 0xff
	}
	for i := range dst[:24] {
		dst[i] = fill
	}
	for i := 0; i < 8; i++ {
		dst[31-i] = byte(v >> (8 * i))
	}
}

// isUint256 reports whether x is a present value in [0, 2^256).
func isUint256(x *big.Int) bool {
	return x != nil && x.Sign() >= 0 && x.BitLen() <= 256
}
