package evm

import (
	"encoding/binary"
	"fmt"
	"math/big"
)

// Selector is the 4-byte function selector of a canonical signature such as
// "balanceOf(address)": the first bytes of its keccak256.
func Selector(signature string) [4]byte {
	h := Keccak256([]byte(signature))
	return [4]byte(h[:4])
}

// EncodeCall is the call data of a function: its selector and its arguments
// ABI-encoded (EncodeArgs).
func EncodeCall(signature string, args ...any) ([]byte, error) {
	enc, err := EncodeArgs(args...)
	if err != nil {
		return nil, err
	}
	sel := Selector(signature)
	return append(sel[:], enc...), nil
}

// EncodeArgs ABI-encodes a tuple of the few types the gateway passes to
// contracts: Address (address), [32]byte (bytes32), bool, uint64 and a
// non-negative *big.Int below 2^256 (uint256) are static words; []byte
// (bytes) is dynamic: an offset in the head, then its length and its bytes
// padded to 32 in the tail.
func EncodeArgs(args ...any) ([]byte, error) {
	head := make([]byte, 32*len(args))
	var tail []byte
	for i, a := range args {
		w := head[32*i : 32*i+32]
		switch v := a.(type) {
		case Address:
			copy(w[12:], v[:])
		case [32]byte:
			copy(w, v[:])
		case bool:
			if v {
				w[31] = 1
			}
		case uint64:
			binary.BigEndian.PutUint64(w[24:], v)
		case *big.Int:
			if v == nil || v.Sign() < 0 || v.BitLen() > 256 {
				return nil, fmt.Errorf("evm: argument %d is not a uint256", i)
			}
			v.FillBytes(w)
		case []byte:
			binary.BigEndian.PutUint64(w[24:], uint64(len(head)+len(tail)))
			var n [32]byte
			binary.BigEndian.PutUint64(n[24:], uint64(len(v)))
			tail = append(tail, n[:]...)
			tail = append(tail, v...)
			tail = append(tail, make([]byte, (32-len(v)%32)%32)...)
		default:
			return nil, fmt.Errorf("evm: argument %d: cannot ABI-encode %T", i, a)
		}
	}
	return append(head, tail...), nil
}
