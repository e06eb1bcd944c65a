package evm

import (
	"errors"
	"math/big"
)

// DynamicFeeTx is an EIP-1559 (type 2) transaction without an access list:
// what a wallet sends to move a token or ether.
type DynamicFeeTx struct {
	ChainID   uint64
	Nonce     uint64
	GasTipCap *big.Int // maxPriorityFeePerGas, wei
	GasFeeCap *big.Int // maxFeePerGas, wei
	Gas       uint64
	To        *Address // nil: contract creation
	Value     *big.Int // wei; nil is 0
	Data      []byte
}

var errTxField = errors.New("evm: a transaction's fee caps and value are uint256")

// fields are the RLP items of the transaction's payload before the
// signature: [chainId, nonce, tip, feeCap, gas, to, value, data, accessList].
func (tx *DynamicFeeTx) fields() ([][]byte, error) {
	for _, x := range []*big.Int{tx.GasTipCap, tx.GasFeeCap, tx.Value} {
		if x != nil && (x.Sign() < 0 || x.BitLen() > 256) {
			return nil, errTxField
		}
	}
	to := rlpBytes(nil)
	if tx.To != nil {
		to = rlpBytes(tx.To[:])
	}
	return [][]byte{rlpUint(tx.ChainID), rlpUint(tx.Nonce), rlpBig(tx.GasTipCap), rlpBig(tx.GasFeeCap),
		rlpUint(tx.Gas), to, rlpBig(tx.Value), rlpBytes(tx.Data), rlpList()}, nil
}

// SigningHash is the digest the sender signs: keccak256(0x02 ‖ rlp(fields)).
func (tx *DynamicFeeTx) SigningHash() ([32]byte, error) {
	f, err := tx.fields()
	if err != nil {
		return [32]byte{}, err
	}
	return Keccak256([]byte{0x02}, rlpList(f...)), nil
}

// SignTx signs tx with k and returns the raw transaction that
// eth_sendRawTransaction takes (0x02 ‖ rlp(fields ‖ yParity, r, s)) and its
// hash, which is the transaction's id on chain.
func (k *PrivateKey) SignTx(tx *DynamicFeeTx) (raw []byte, hash [32]byte, err error) {
	f, err := tx.fields()
	if err != nil {
		return nil, hash, err
	}
	digest := Keccak256([]byte{0x02}, rlpList(f...))
	sig := k.Sign(digest) // r ‖ s ‖ (27 + yParity)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:64])
	f = append(f, rlpUint(uint64(sig[64]-27)), rlpBig(r), rlpBig(s))
	raw = append([]byte{0x02}, rlpList(f...)...)
	return raw, Keccak256(raw), nil
}

// UnsignedBytes is the transaction as a signer is handed it to sign:
// 0x02 ‖ rlp(fields), without the signature (what Coinbase's CDP API takes).
func (tx *DynamicFeeTx) UnsignedBytes() ([]byte, error) {
	f, err := tx.fields()
	if err != nil {
		return nil, err
	}
	return append([]byte{0x02}, rlpList(f...)...), nil
}
