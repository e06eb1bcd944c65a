package chain_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/chain/chaintest"
	"github.com/agentbot/gateway/core/evm"
)

// TestSignedTransfer funds a fresh key with ether (anvil_setBalance) and a
// test token, then sends a token transfer signed offline (EIP-1559) with the
// nonce, gas and fees the client suggests.
func TestSignedTransfer(t *testing.T) {
	c := chaintest.Start(t)
	ctx := context.Background()
	key, err := evm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	from, to := key.Address(), c.Accounts[1].Address
	if err := c.Client.Call(ctx, nil, "anvil_setBalance", from.Hex(), "0xde0b6b3a7640000"); err != nil {
		t.Fatal(err)
	}
	token := c.DeployToken(c.Accounts[0].Address, 6)
	c.Mint(c.Accounts[0].Address, token, from, big.NewInt(5_000_000))

	if bal, err := c.Client.TokenBalance(ctx, token, from); err != nil || bal.Int64() != 5_000_000 {
		t.Fatalf("TokenBalance = %v, %v; want 5000000", bal, err)
	}
	nonce, err := c.Client.PendingNonce(ctx, from)
	if err != nil || nonce != 0 {
		t.Fatalf("PendingNonce = %d, %v; want 0", nonce, err)
	}
	data, _ := evm.EncodeCall("transfer(address,uint256)", to, big.NewInt(1_250_000))
	gas, err := c.Client.EstimateGas(ctx, chain.Msg{From: &from, To: &token, Data: data})
	if err != nil || gas < 21000 || gas > 200000 {
		t.Fatalf("EstimateGas = %d, %v; want a token transfer's gas", gas, err)
	}
	tip, feeCap, err := c.Client.Fees(ctx)
	if err != nil || feeCap.Cmp(tip) < 0 || feeCap.Sign() <= 0 {
		t.Fatalf("Fees = %v, %v, %v; want a cap at least the tip", tip, feeCap, err)
	}
	raw, hash, err := key.SignTx(&evm.DynamicFeeTx{ChainID: chaintest.ChainID, Nonce: nonce, GasTipCap: tip,
		GasFeeCap: feeCap, Gas: gas, To: &token, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := c.Client.SendRawTransaction(ctx, raw)
	if err != nil || sent != hash {
		t.Fatalf("SendRawTransaction = %x, %v; want %x", sent, err, hash)
	}
	rc, err := c.Client.WaitForReceipt(ctx, hash, 10*time.Millisecond)
	if err != nil || rc.Status != 1 {
		t.Fatalf("receipt = %+v, %v; want success", rc, err)
	}
	if got := c.BalanceOf(token, to); got.Int64() != 1_250_000 {
		t.Errorf("recipient balance = %v; want 1250000", got)
	}
	if n, _ := c.Client.PendingNonce(ctx, from); n != 1 {
		t.Errorf("PendingNonce after = %d; want 1", n)
	}
}
