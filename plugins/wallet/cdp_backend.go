package wallet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"

	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/sdk/provider"
)

// addressOf is the wallet's address, whichever backend holds it.
func (c *configured) addressOf(env *Envelope) (evm.Address, error) {
	if c.cdp == nil {
		k, err := c.key(env)
		if err != nil {
			return evm.Address{}, err
		}
		return k.Address(), nil
	}
	return c.cdpAccountOf(env)
}

// cdpAccountOf opens the sealed address of the owner's CDP account.
func (c *configured) cdpAccountOf(env *Envelope) (evm.Address, error) {
	if len(env.SealedKey) == 0 {
		return evm.Address{}, provider.Errorf(http.StatusNotFound, "WALLET_NOT_FOUND", "There is no wallet yet")
	}
	b, err := openBytes(c.sealKey, env.Owner, sealCDP, env.SealedKey)
	if err != nil || len(b) != 20 {
		return evm.Address{}, provider.Errorf(http.StatusInternalServerError, "WALLET_SEALED", "The wallet's record does not open with this gateway's seal key")
	}
	return evm.Address(b), nil
}

// cdpErr turns a CDP failure into the caller's error; the details are CDP's
// own words, which name no secret.
func cdpErr(err error) error {
	var ce *cdpError
	if !errors.As(err, &ce) {
		return provider.Errorf(http.StatusBadGateway, "CDP_UNAVAILABLE", "Coinbase Developer Platform did not answer")
	}
	switch {
	case ce.Status == http.StatusTooManyRequests:
		return provider.Errorf(http.StatusTooManyRequests, "CDP_RATE_LIMITED", "Coinbase Developer Platform: %s", ce.Message)
	case ce.Status == http.StatusUnprocessableEntity && ce.Type == "idempotency_error":
		return provider.Errorf(http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED", "Coinbase Developer Platform: %s", ce.Message)
	case ce.Status >= 400 && ce.Status < 500 && ce.Status != 401 && ce.Status != 403:
		return provider.Errorf(http.StatusUnprocessableEntity, "TRANSFER_REJECTED", "Coinbase Developer Platform refused: %s", ce.Message)
	}
	return provider.Errorf(http.StatusBadGateway, "CDP_ERROR", "Coinbase Developer Platform failed (%d %s)", ce.Status, ce.Type)
}

func (c *configured) cdpAddress(ctx context.Context, env *Envelope) (*AddressOutput, error) {
	if len(env.SealedKey) > 0 {
		a, err := c.cdpAccountOf(env)
		if err != nil {
			return nil, err
		}
		return &AddressOutput{Address: a.Hex(), Network: c.network}, nil
	}
	acct, err := c.cdp.account(ctx, env.Owner)
	if err != nil {
		return nil, cdpErr(err)
	}
	a, err := evm.ParseAddress(strings.ToLower(acct.Address))
	if err != nil {
		return nil, fmt.Errorf("cdp: account address %q: %v", acct.Address, err)
	}
	blob, err := sealBytes(c.sealKey, env.Owner, sealCDP, a[:])
	if err != nil {
		return nil, err
	}
	return &AddressOutput{Address: a.Hex(), Network: c.network, Created: true, SealedKey: blob, Backend: "cdp"}, nil
}

// cdpIdempotencyKey is a UUID-shaped digest of the owner and the caller's
// key: stable across retries, and never the same for two owners.
func cdpIdempotencyKey(owner, key string) string {
	if key == "" {
		return ""
	}
	h := sha256.Sum256([]byte(owner + "\x00" + key))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-4" + x[13:16] + "-8" + x[17:20] + "-" + x[20:32]
}

func (c *configured) cdpTransfer(ctx context.Context, env *Envelope, to evm.Address, amount *big.Int, key string) (*TransferOutput, error) {
	from, err := c.cdpAccountOf(env)
	if err != nil {
		return nil, err
	}
	data, err := evm.EncodeCall("transfer(address,uint256)", to, amount)
	if err != nil {
		return nil, err
	}
	// CDP fills in the nonce, gas and fees, and ignores the chain id in favour
	// of the network named beside the transaction.
	unsigned, err := (&evm.DynamicFeeTx{ChainID: c.settings.chainID, To: &c.usdc, Data: data}).UnsignedBytes()
	if err != nil {
		return nil, err
	}
	hash, err := c.cdp.send(ctx, from.Hex(), c.network, unsigned, cdpIdempotencyKey(env.Owner, key))
	if err != nil {
		return nil, cdpErr(err)
	}
	if _, err := evm.ParseBytes32(hash); err != nil {
		return nil, fmt.Errorf("cdp: transaction hash %q", hash)
	}
	return &TransferOutput{TxHash: hash, From: from.Hex(), To: to.Hex(), Amount: amount.String(), Token: c.usdc.Hex(),
		ChainID: c.settings.chainID, Network: c.network}, nil
}

func (c *configured) cdpSign(ctx context.Context, env *Envelope, r *SignRequest, digest [32]byte) (*SignOutput, error) {
	from, err := c.cdpAccountOf(env)
	if err != nil {
		return nil, err
	}
	var sig string
	switch {
	case r.Message != nil:
		sig, err = c.cdp.signMessage(ctx, from.Hex(), *r.Message)
	case r.Raw != "":
		return nil, provider.Errorf(http.StatusBadRequest, "INVALID_BODY", "The cdp backend signs text messages and typed data, not raw bytes")
	default:
		sig, err = c.cdp.signTypedData(ctx, from.Hex(), r.TypedData)
	}
	if err != nil {
		return nil, cdpErr(err)
	}
	return &SignOutput{Address: from.Hex(), Signature: sig, Digest: "0x" + hex.EncodeToString(digest[:])}, nil
}
