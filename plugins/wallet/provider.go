package wallet

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/sdk/provider"
)

const (
	// Name and Version identify the plugin to the gateway.
	Name    = "wallet"
	Version = "1.0.0"
)

var (
	_ provider.Provider   = (*Provider)(nil)
	_ provider.Configurer = (*Provider)(nil)
)

// Provider serves the wallet ids. Create it with New; until Configure gives
// it a seal key every call answers 503 WALLET_NOT_CONFIGURED.
type Provider struct {
	cur atomic.Pointer[configured]
	log *slog.Logger
}

// configured is a configuration and the chain client made from it.
type configured struct {
	*settings
	chain *chain.Client // nil without rpcUrl
}

// New returns an unconfigured Provider.
func New() *Provider { return &Provider{log: slog.Default()} }

// Metadata lists the four ids; all are free by default (the operator may
// price them), transfers being bounded by the host's spend cap instead.
func (p *Provider) Metadata(context.Context, *provider.MetadataRequest) (*provider.MetadataResponse, error) {
	return &provider.MetadataResponse{Name: Name, Version: Version, Capabilities: []provider.Capability{
		{ID: CapAddress, Description: "The caller's (or its agent's) wallet address, made on first use"},
		{ID: CapBalance, Description: "ETH and USDC balances of the wallet"},
		{ID: CapTransfer, Description: "Send USDC from the wallet, within the daily spend cap, once per idempotency key"},
		{ID: CapSign, Description: "Sign an EIP-191 message or EIP-712 typed data with the wallet's key"},
	}}, nil
}

// Configure applies a Config; a bad one leaves the previous in place.
func (p *Provider) Configure(_ context.Context, req *provider.ConfigureRequest) (*provider.ConfigureResponse, error) {
	s, err := parseSettings(req.Config)
	if err != nil {
		return &provider.ConfigureResponse{Error: provider.Errorf(400, "INVALID_CONFIG", "%v", err)}, nil
	}
	c := &configured{settings: s}
	if s.rpcURL != "" {
		c.chain = &chain.Client{URL: s.rpcURL, Timeout: s.rpcTimeout}
	}
	p.cur.Store(c)
	return &provider.ConfigureResponse{}, nil
}

// Invoke runs one call. Failures the caller should see are in the response.
func (p *Provider) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	c := p.cur.Load()
	if c == nil {
		return fail(provider.Errorf(http.StatusServiceUnavailable, "WALLET_NOT_CONFIGURED", "The wallet plugin has no seal key"))
	}
	var env Envelope
	if err := json.Unmarshal(req.Input, &env); err != nil || env.Owner == "" {
		return fail(provider.Errorf(http.StatusBadRequest, "INVALID_ENVELOPE", "The wallet plugin takes its input from the gateway's wallet service"))
	}
	var out any
	var err error
	switch req.Capability {
	case CapAddress:
		out, err = c.address(ctx, &env)
	case CapBalance:
		out, err = c.balance(ctx, &env)
	case CapTransfer:
		out, err = c.transfer(ctx, &env)
	case CapSign:
		out, err = c.sign(ctx, &env)
	default:
		err = provider.Errorf(http.StatusNotFound, "NOT_FOUND", "Unknown capability %q", req.Capability)
	}
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) {
			return fail(pe)
		}
		p.log.Error("wallet: call failed", "capability", req.Capability, "request_id", req.Caller.RequestID, "err", err)
		return fail(provider.Errorf(http.StatusBadGateway, "WALLET_FAILED", "The wallet call failed"))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &provider.InvokeResponse{Output: b}, nil
}

func fail(e *provider.Error) (*provider.InvokeResponse, error) {
	return &provider.InvokeResponse{Error: e}, nil
}

// key opens the envelope's sealed key.
func (c *configured) key(env *Envelope) (*evm.PrivateKey, error) {
	if len(env.SealedKey) == 0 {
		return nil, provider.Errorf(http.StatusNotFound, "WALLET_NOT_FOUND", "There is no wallet yet")
	}
	k, err := open(c.sealKey, env.Owner, env.SealedKey)
	if err != nil {
		return nil, provider.Errorf(http.StatusInternalServerError, "WALLET_SEALED", "The wallet's key does not open with this gateway's seal key")
	}
	return k, nil
}

func (c *configured) address(ctx context.Context, env *Envelope) (*AddressOutput, error) {
	if c.cdp != nil {
		return c.cdpAddress(ctx, env)
	}
	if len(env.SealedKey) > 0 {
		k, err := c.key(env)
		if err != nil {
			return nil, err
		}
		return &AddressOutput{Address: k.Address().Hex(), Network: c.network}, nil
	}
	k, err := evm.GenerateKey()
	if err != nil {
		return nil, err
	}
	blob, err := seal(c.sealKey, env.Owner, k)
	if err != nil {
		return nil, err
	}
	return &AddressOutput{Address: k.Address().Hex(), Network: c.network, Created: true, SealedKey: blob, Backend: "local"}, nil
}

func (c *configured) needChain() error {
	if c.chain == nil {
		return provider.Errorf(http.StatusServiceUnavailable, "CHAIN_UNAVAILABLE", "No chain is configured (EVM_RPC_URL)")
	}
	return nil
}

// chainErr turns a node's failure into the caller's 503.
func chainErr(err error) error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return err
	}
	return provider.Errorf(http.StatusServiceUnavailable, "CHAIN_UNAVAILABLE", "The chain did not answer")
}

func (c *configured) chainID(ctx context.Context) (uint64, error) {
	if c.settings.chainID != 0 {
		return c.settings.chainID, nil
	}
	return c.chain.ChainID(ctx)
}

func (c *configured) balance(ctx context.Context, env *Envelope) (*BalanceOutput, error) {
	addr, err := c.addressOf(env)
	if err != nil {
		return nil, err
	}
	if err := c.needChain(); err != nil {
		return nil, err
	}
	id, err := c.chainID(ctx)
	if err != nil {
		return nil, chainErr(err)
	}
	eth, err := c.chain.Balance(ctx, addr, "")
	if err != nil {
		return nil, chainErr(err)
	}
	usdc, err := c.chain.TokenBalance(ctx, c.usdc, addr)
	if err != nil {
		return nil, chainErr(err)
	}
	return &BalanceOutput{Address: addr.Hex(), Network: c.network, ChainID: id, ETH: eth.String(), USDC: usdc.String(),
		USDCDecimals: 6, USDCContract: c.usdc.Hex()}, nil
}

func (c *configured) transfer(ctx context.Context, env *Envelope) (*TransferOutput, error) {
	var r TransferRequest
	if err := json.Unmarshal(env.Request, &r); err != nil {
		return nil, provider.Errorf(http.StatusBadRequest, "INVALID_BODY", "want {to, amount}")
	}
	to, err := evm.ParseAddress(r.To)
	if err != nil {
		return nil, provider.Errorf(http.StatusBadRequest, "INVALID_ADDRESS", "to is not an Ethereum address")
	}
	amount, err := evm.ParseUint256(r.Amount)
	if err != nil || amount.Sign() == 0 {
		return nil, provider.Errorf(http.StatusBadRequest, "INVALID_AMOUNT", "amount is a positive whole number of USDC base units")
	}
	if c.cdp != nil {
		return c.cdpTransfer(ctx, env, to, amount, r.IdempotencyKey)
	}
	k, err := c.key(env)
	if err != nil {
		return nil, err
	}
	if err := c.needChain(); err != nil {
		return nil, err
	}
	from := k.Address()
	data, err := evm.EncodeCall("transfer(address,uint256)", to, amount)
	if err != nil {
		return nil, err
	}
	id, err := c.chainID(ctx)
	if err != nil {
		return nil, chainErr(err)
	}
	nonce, err := c.chain.PendingNonce(ctx, from)
	if err != nil {
		return nil, chainErr(err)
	}
	gas, err := c.chain.EstimateGas(ctx, chain.Msg{From: &from, To: &c.usdc, Data: data})
	if err != nil {
		if ce := (*chain.Error)(nil); errors.As(err, &ce) {
			// The token refuses the transfer (most often: not enough USDC).
			return nil, provider.Errorf(http.StatusUnprocessableEntity, "TRANSFER_REJECTED", "The token contract refuses this transfer (insufficient USDC?)")
		}
		return nil, chainErr(err)
	}
	tip, feeCap, err := c.chain.Fees(ctx)
	if err != nil {
		return nil, chainErr(err)
	}
	raw, hash, err := k.SignTx(&evm.DynamicFeeTx{ChainID: id, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
		Gas: gas + gas/5, To: &c.usdc, Value: new(big.Int), Data: data})
	if err != nil {
		return nil, err
	}
	if _, err := c.chain.SendRawTransaction(ctx, raw); err != nil {
		if ce := (*chain.Error)(nil); errors.As(err, &ce) {
			msg := strings.ToLower(ce.Message)
			if strings.Contains(msg, "insufficient funds") {
				return nil, provider.Errorf(http.StatusUnprocessableEntity, "INSUFFICIENT_GAS_FUNDS", "The wallet has too little ETH to pay for gas")
			}
			return nil, provider.Errorf(http.StatusUnprocessableEntity, "TRANSFER_REJECTED", "The node refused the transaction")
		}
		return nil, chainErr(err)
	}
	return &TransferOutput{TxHash: "0x" + hex.EncodeToString(hash[:]), From: from.Hex(), To: to.Hex(), Amount: amount.String(),
		Token: c.usdc.Hex(), Nonce: nonce, ChainID: id, Network: c.network}, nil
}

func (c *configured) sign(ctx context.Context, env *Envelope) (*SignOutput, error) {
	var r SignRequest
	if err := json.Unmarshal(env.Request, &r); err != nil {
		return nil, provider.Errorf(http.StatusBadRequest, "INVALID_BODY", "want {message} or {raw} or {typedData}")
	}
	n := 0
	for _, set := range []bool{r.Message != nil, r.Raw != "", len(r.TypedData) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, provider.Errorf(http.StatusBadRequest, "INVALID_BODY", "want exactly one of message, raw and typedData")
	}
	var digest [32]byte
	switch {
	case r.Message != nil:
		digest = evm.TextHash([]byte(*r.Message))
	case r.Raw != "":
		b, err := hex.DecodeString(strings.TrimPrefix(r.Raw, "0x"))
		if err != nil || !strings.HasPrefix(r.Raw, "0x") {
			return nil, provider.Errorf(http.StatusBadRequest, "INVALID_BODY", "raw is 0x-prefixed hex")
		}
		digest = evm.TextHash(b)
	default:
		td, err := evm.ParseTypedData(r.TypedData)
		if err == nil {
			digest, err = td.Digest()
		}
		if err != nil {
			return nil, provider.Errorf(http.StatusBadRequest, "INVALID_TYPED_DATA", "%v", err)
		}
	}
	if c.cdp != nil {
		return c.cdpSign(ctx, env, &r, digest)
	}
	k, err := c.key(env)
	if err != nil {
		return nil, err
	}
	return &SignOutput{Address: k.Address().Hex(), Signature: "0x" + hex.EncodeToString(k.Sign(digest)),
		Digest: "0x" + hex.EncodeToString(digest[:])}, nil
}
