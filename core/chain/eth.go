package chain

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/agentbot/gateway/core/evm"
)

// Latest names the newest block, the default for calls.
const Latest = "latest"

// ChainID returns the node's chain id (eth_chainId), asked once and then
// remembered: an endpoint does not change chains.
func (c *Client) ChainID(ctx context.Context) (uint64, error) {
	c.chainMu.Lock()
	id := c.chainID
	c.chainMu.Unlock()
	if id != 0 {
		return id, nil
	}
	var s string
	if err := c.Call(ctx, &s, "eth_chainId"); err != nil {
		return 0, err
	}
	n, err := parseQuantity(s)
	if err != nil || !n.IsUint64() || n.Sign() == 0 {
		return 0, fmt.Errorf("%w: eth_chainId: %q is not a chain id", ErrUnavailable, s)
	}
	c.chainMu.Lock()
	c.chainID = n.Uint64()
	c.chainMu.Unlock()
	return n.Uint64(), nil
}

// Msg is a call or a transaction. To nil is a contract creation (for a call:
// a deployless call that runs Data as creation code).
type Msg struct {
	From  *evm.Address
	To    *evm.Address
	Data  []byte
	Value *big.Int
	Gas   uint64
}

// Params is m as a JSON-RPC transaction object.
func (m Msg) Params() map[string]any {
	p := map[string]any{"data": "0x" + hex.EncodeToString(m.Data)}
	if m.From != nil {
		p["from"] = m.From.Hex()
	}
	if m.To != nil {
		p["to"] = m.To.Hex()
	}
	if m.Value != nil && m.Value.Sign() > 0 {
		p["value"] = "0x" + m.Value.Text(16)
	}
	if m.Gas > 0 {
		p["gas"] = "0x" + strconv.FormatUint(m.Gas, 16)
	}
	return p
}

// CallContract runs m at block (Latest when "") without a transaction
// (eth_call) and returns what it returned. A revert is an *Error.
func (c *Client) CallContract(ctx context.Context, m Msg, block string) ([]byte, error) {
	if block == "" {
		block = Latest
	}
	var s string
	if err := c.Call(ctx, &s, "eth_call", m.Params(), block); err != nil {
		return nil, err
	}
	return decodeResult("eth_call", s)
}

// Code returns the code at addr (eth_getCode); empty for an account without
// code.
func (c *Client) Code(ctx context.Context, addr evm.Address, block string) ([]byte, error) {
	if block == "" {
		block = Latest
	}
	var s string
	if err := c.Call(ctx, &s, "eth_getCode", addr.Hex(), block); err != nil {
		return nil, err
	}
	return decodeResult("eth_getCode", s)
}

// Balance returns addr's balance in wei (eth_getBalance).
func (c *Client) Balance(ctx context.Context, addr evm.Address, block string) (*big.Int, error) {
	if block == "" {
		block = Latest
	}
	var s string
	if err := c.Call(ctx, &s, "eth_getBalance", addr.Hex(), block); err != nil {
		return nil, err
	}
	n, err := parseQuantity(s)
	if err != nil {
		return nil, fmt.Errorf("%w: eth_getBalance: %v", ErrUnavailable, err)
	}
	return n, nil
}

// SendRawTransaction submits a signed transaction (eth_sendRawTransaction)
// and returns its hash.
func (c *Client) SendRawTransaction(ctx context.Context, raw []byte) ([32]byte, error) {
	var s string
	if err := c.Call(ctx, &s, "eth_sendRawTransaction", "0x"+hex.EncodeToString(raw)); err != nil {
		return [32]byte{}, err
	}
	return parseHash("eth_sendRawTransaction", s)
}

// Receipt is the part of a transaction receipt the gateway reads.
type Receipt struct {
	TxHash          [32]byte
	Status          uint64 // 1 success, 0 reverted
	BlockNumber     uint64
	ContractAddress *evm.Address // set for a contract creation
	GasUsed         uint64
}

// ErrPending: the transaction has no receipt yet (not mined, or unknown).
var ErrPending = errors.New("chain: no receipt yet")

// TransactionReceipt returns the receipt of a mined transaction
// (eth_getTransactionReceipt), or ErrPending.
func (c *Client) TransactionReceipt(ctx context.Context, hash [32]byte) (*Receipt, error) {
	var r *struct {
		TransactionHash string  `json:"transactionHash"`
		Status          string  `json:"status"`
		BlockNumber     string  `json:"blockNumber"`
		ContractAddress *string `json:"contractAddress"`
		GasUsed         string  `json:"gasUsed"`
	}
	if err := c.Call(ctx, &r, "eth_getTransactionReceipt", "0x"+hex.EncodeToString(hash[:])); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, ErrPending
	}
	out := &Receipt{TxHash: hash}
	for _, f := range []struct {
		s   string
		dst *uint64
	}{{r.Status, &out.Status}, {r.BlockNumber, &out.BlockNumber}, {r.GasUsed, &out.GasUsed}} {
		n, err := parseQuantity(f.s)
		if err != nil || !n.IsUint64() {
			return nil, fmt.Errorf("%w: eth_getTransactionReceipt: bad quantity %q", ErrUnavailable, f.s)
		}
		*f.dst = n.Uint64()
	}
	if r.ContractAddress != nil {
		a, err := evm.ParseAddress(strings.ToLower(*r.ContractAddress))
		if err != nil {
			return nil, fmt.Errorf("%w: eth_getTransactionReceipt: bad contract address", ErrUnavailable)
		}
		out.ContractAddress = &a
	}
	return out, nil
}

// parseQuantity parses a JSON-RPC quantity: "0x" and hex digits without
// leading zeros ("0x0" for zero). Leading zeros are tolerated.
func parseQuantity(s string) (*big.Int, error) {
	digits, ok := strings.CutPrefix(s, "0x")
	if !ok || digits == "" || len(digits) > 64 {
		return nil, fmt.Errorf("%q is not a quantity", s)
	}
	n, ok := new(big.Int).SetString(digits, 16)
	if !ok {
		return nil, fmt.Errorf("%q is not a quantity", s)
	}
	return n, nil
}

func decodeHex(s string) ([]byte, error) {
	digits, ok := strings.CutPrefix(s, "0x")
	if !ok {
		return nil, fmt.Errorf("%q is not 0x-prefixed hex", s)
	}
	return hex.DecodeString(digits)
}

func decodeResult(method, s string) ([]byte, error) {
	b, err := decodeHex(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, method, err)
	}
	return b, nil
}

func parseHash(method, s string) ([32]byte, error) {
	var h [32]byte
	b, err := decodeHex(s)
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("%w: %s: %q is not a 32-byte hash", ErrUnavailable, method, s)
	}
	copy(h[:], b)
	return h, nil
}

// WaitForReceipt polls TransactionReceipt every interval until the
// transaction is mined or ctx ends.
func (c *Client) WaitForReceipt(ctx context.Context, hash [32]byte, interval time.Duration) (*Receipt, error) {
	for {
		r, err := c.TransactionReceipt(ctx, hash)
		if !errors.Is(err, ErrPending) {
			return r, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for transaction 0x%x: %w", hash, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// PendingNonce is the next nonce of addr counting its pending transactions
// (eth_getTransactionCount at "pending").
func (c *Client) PendingNonce(ctx context.Context, addr evm.Address) (uint64, error) {
	var s string
	if err := c.Call(ctx, &s, "eth_getTransactionCount", addr.Hex(), "pending"); err != nil {
		return 0, err
	}
	n, err := parseQuantity(s)
	if err != nil || !n.IsUint64() {
		return 0, fmt.Errorf("%w: eth_getTransactionCount: %q", ErrUnavailable, s)
	}
	return n.Uint64(), nil
}

// EstimateGas is the gas m would use (eth_estimateGas); a revert is an *Error.
func (c *Client) EstimateGas(ctx context.Context, m Msg) (uint64, error) {
	var s string
	if err := c.Call(ctx, &s, "eth_estimateGas", m.Params()); err != nil {
		return 0, err
	}
	n, err := parseQuantity(s)
	if err != nil || !n.IsUint64() {
		return 0, fmt.Errorf("%w: eth_estimateGas: %q", ErrUnavailable, s)
	}
	return n.Uint64(), nil
}

// Fees suggests EIP-1559 fees: the tip from eth_maxPriorityFeePerGas (or,
// where a node lacks it, eth_gasPrice less the base fee), and a fee cap of
// twice the latest block's base fee plus the tip, which survives several full
// blocks of base-fee increases.
func (c *Client) Fees(ctx context.Context) (tip, feeCap *big.Int, err error) {
	var block struct {
		BaseFee string `json:"baseFeePerGas"`
	}
	if err := c.Call(ctx, &block, "eth_getBlockByNumber", Latest, false); err != nil {
		return nil, nil, err
	}
	base, err := parseQuantity(block.BaseFee)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the latest block has no base fee (not an EIP-1559 chain?)", ErrUnavailable)
	}
	var s string
	if err := c.Call(ctx, &s, "eth_maxPriorityFeePerGas"); err == nil {
		tip, err = parseQuantity(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: eth_maxPriorityFeePerGas: %q", ErrUnavailable, s)
		}
	} else {
		if err := c.Call(ctx, &s, "eth_gasPrice"); err != nil {
			return nil, nil, err
		}
		price, err := parseQuantity(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: eth_gasPrice: %q", ErrUnavailable, s)
		}
		tip = new(big.Int).Sub(price, base)
		if tip.Sign() < 0 {
			tip.SetInt64(0)
		}
	}
	feeCap = new(big.Int).Add(new(big.Int).Lsh(base, 1), tip)
	return tip, feeCap, nil
}

// TokenBalance is owner's balance of an ERC-20 token (balanceOf), in the
// token's base units.
func (c *Client) TokenBalance(ctx context.Context, token, owner evm.Address) (*big.Int, error) {
	data, err := evm.EncodeCall("balanceOf(address)", owner)
	if err != nil {
		return nil, err
	}
	out, err := c.CallContract(ctx, Msg{To: &token, Data: data}, "")
	if err != nil {
		return nil, err
	}
	if len(out) != 32 {
		return nil, fmt.Errorf("%w: balanceOf returned %d bytes; want 32", ErrUnavailable, len(out))
	}
	return new(big.Int).SetBytes(out), nil
}
