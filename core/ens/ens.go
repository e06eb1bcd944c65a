// Package ens resolves an address's primary ENS name the way ENSIP-3 asks: the
// reverse record (registry → resolver → name of <addr>.addr.reverse) and then
// the forward check (the name's addr record must be the same address), over
// JSON-RPC through the ENS registry. Names that need CCIP-Read (EIP-3668, for
// L2 and off-chain names) or ENSIP-15 normalisation beyond lower-case are not
// resolved here; README.md ("Agent verification") says why.
package ens

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/evm"
)

// Registry is ENS's registry on Ethereum mainnet (the same address on its
// testnets).
var Registry = evm.Address{0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x2E, 0x07, 0x4e, 0xC6,
	0x9A, 0x0d, 0xFb, 0x29, 0x97, 0xBA, 0x6C, 0x7d, 0x2e, 0x1e}

// Caller runs read-only calls (chain.Client).
type Caller interface {
	CallContract(ctx context.Context, m chain.Msg, block string) ([]byte, error)
}

// Namehash is EIP-137's namehash of name, label by label from the right
// (the empty name is zero). The name is hashed as given: callers compare
// names in their normalised form.
func Namehash(name string) [32]byte {
	var node [32]byte
	if name == "" {
		return node
	}
	labels := strings.Split(name, ".")
	for i := len(labels) - 1; i >= 0; i-- {
		label := evm.Keccak256([]byte(labels[i]))
		node = evm.Keccak256(node[:], label[:])
	}
	return node
}

// ReverseNode is the node of addr's reverse record:
// namehash("<lower-case hex without 0x>.addr.reverse").
func ReverseNode(addr evm.Address) [32]byte {
	return Namehash(hex.EncodeToString(addr[:]) + ".addr.reverse")
}

// Errors of PrimaryName that are the address's doing, not the chain's.
var (
	// ErrNoName: no resolver or no name in the reverse record.
	ErrNoName = errors.New("ens: the address has no reverse record")
	// ErrUnsupportedName: the reverse record holds a name this package does
	// not resolve (not lower-case, an empty label, too long).
	ErrUnsupportedName = errors.New("ens: the reverse record's name is not a normalised name")
	// ErrForwardMismatch: the name's addr record is not the address.
	ErrForwardMismatch = errors.New("ens: the name does not resolve back to the address")
)

// Resolver reads ENS through Client at Registry.
type Resolver struct {
	Client   Caller
	Registry evm.Address
}

// PrimaryName returns addr's primary name: the reverse record's name whose
// forward addr record is addr. A resolver that reverts or has no code counts
// as no record; only a chain that cannot answer is an error of its own.
func (r Resolver) PrimaryName(ctx context.Context, addr evm.Address) (string, error) {
	rev := ReverseNode(addr)
	res, err := r.resolver(ctx, rev)
	if err != nil {
		return "", err
	}
	if res == (evm.Address{}) {
		return "", ErrNoName
	}
	out, err := r.call(ctx, res, "name(bytes32)", rev)
	if err != nil {
		return "", err
	}
	name, ok := decodeString(out)
	if !ok || name == "" {
		return "", ErrNoName
	}
	if !normalised(name) {
		return "", fmt.Errorf("%w: %q", ErrUnsupportedName, name)
	}
	node := Namehash(name)
	fres, err := r.resolver(ctx, node)
	if err != nil {
		return "", err
	}
	if fres == (evm.Address{}) {
		return "", fmt.Errorf("%w: %s has no resolver", ErrForwardMismatch, name)
	}
	out, err = r.call(ctx, fres, "addr(bytes32)", node)
	if err != nil {
		return "", err
	}
	if len(out) != 32 || !zero(out[:12]) || [20]byte(out[12:]) != addr {
		return "", fmt.Errorf("%w: %s", ErrForwardMismatch, name)
	}
	return name, nil
}

func (r Resolver) resolver(ctx context.Context, node [32]byte) (evm.Address, error) {
	out, err := r.call(ctx, r.Registry, "resolver(bytes32)", node)
	if err != nil {
		return evm.Address{}, err
	}
	if len(out) != 32 || !zero(out[:12]) {
		return evm.Address{}, nil // no registry answer: no resolver
	}
	return evm.Address(out[12:]), nil
}

// call runs a view function; a revert is an empty answer.
func (r Resolver) call(ctx context.Context, to evm.Address, sig string, node [32]byte) ([]byte, error) {
	data, err := evm.EncodeCall(sig, node)
	if err != nil {
		return nil, err
	}
	out, err := r.Client.CallContract(ctx, chain.Msg{To: &to, Data: data}, chain.Latest)
	var rpcErr *chain.Error
	if errors.As(err, &rpcErr) && rpcErr.Reverted() {
		return nil, nil
	}
	return out, err
}

// normalised accepts a name as ENSIP-15 would leave it, as far as checking
// it is cheap: valid UTF-8, no upper case, no empty label, at most 255 bytes.
func normalised(name string) bool {
	if len(name) > 255 || !utf8.ValidString(name) || strings.ToLower(name) != name {
		return false
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" || strings.ContainsAny(l, " \t\r\n\x00") {
			return false
		}
	}
	return true
}

// decodeString decodes a returned string: offset, length, bytes.
func decodeString(out []byte) (string, bool) {
	off, ok := word(out, 0)
	if !ok {
		return "", false
	}
	n, ok := word(out, off)
	if !ok || n > uint64(len(out)) || off+32+n > uint64(len(out)) {
		return "", false
	}
	return string(out[off+32 : off+32+n]), true
}

func word(b []byte, off uint64) (uint64, bool) {
	if off > uint64(len(b)) || off+32 > uint64(len(b)) || !zero(b[off:off+24]) {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[off+24 : off+32]), true
}

func zero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
