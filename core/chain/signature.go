package chain

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentbot/gateway/core/evm"
)

// ValidSignature reports whether sig is signer's signature of hash on this
// node's chain, whatever signer is: an EOA, a deployed ERC-1271 smart wallet,
// or a wallet not deployed yet whose ERC-6492 signature says how to deploy it.
// It makes one deployless eth_call of ERC-6492's ValidateSigOffchain
// (evm.ValidatorCallData), so it needs no contract on the chain and changes
// nothing there. A signature the validator cannot judge (a wrapped deployment
// that fails, a wallet that reverts) is invalid: false, nil. Only a node that
// cannot be asked is an error.
func (c *Client) ValidSignature(ctx context.Context, signer evm.Address, hash [32]byte, sig []byte) (bool, error) {
	out, err := c.CallContract(ctx, Msg{Data: evm.ValidatorCallData(signer, hash, sig)}, Latest)
	var rpcErr *Error
	switch {
	case errors.As(err, &rpcErr) && rpcErr.Reverted():
		return false, nil // not a signature this signer made
	case err != nil:
		return false, err
	}
	switch {
	case len(out) == 1 && out[0] == 1:
		return true, nil
	case len(out) == 1 && out[0] == 0:
		return false, nil
	}
	return false, fmt.Errorf("%w: the signature validator answered 0x%x", ErrUnavailable, out)
}
