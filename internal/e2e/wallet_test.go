package e2e

import (
	"context"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/chain/chaintest"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/plugins/plugintest"
)

const walletPkg = "github.com/agentbot/gateway/plugins/wallet/cmd/agentbot-wallet"

// startWallets runs the gateway with only the wallet plugin, on anvil, with
// token as its USDC and a daily cap of 2 USDC.
func startWallets(t *testing.T, ch *chaintest.Chain, token evm.Address) *servertest.Env {
	t.Helper()
	path, sum := plugintest.Build(t, walletPkg)
	cfg, _ := json.Marshal(map[string]any{"sealKey": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"rpcUrl": ch.URL, "usdc": token.Hex(), "chainId": chaintest.ChainID})
	b, _ := json.Marshal([]map[string]any{{"name": "wallet", "path": path, "sha256": sum, "config": json.RawMessage(cfg)}})
	file := filepath.Join(t.TempDir(), "plugins.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	se, _ := mountApp(t, map[string]string{"AGENTBOT_PLUGINS": file, "WALLET_DAILY_CAP": "2000000",
		"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/v1/gateway=100000-M"})
	return se
}

func gw(c *servertest.Client, id string, body map[string]any) *servertest.Response {
	body["plugin"] = id
	return c.Do("POST", "/api/v1/gateway", body)
}

func result(t *testing.T, r *servertest.Response) map[string]any {
	t.Helper()
	res, ok := r.JSON["result"].(map[string]any)
	if !ok {
		t.Fatalf("no result in %s", r.Body)
	}
	return res
}

// TestAgentWalletOnChain: an agent's wallet, made by the gateway and funded
// on a real local chain, sends USDC that lands; a retry with the same
// idempotency key sends nothing more; a transfer past the daily cap is
// refused before anything is signed.
func TestAgentWalletOnChain(t *testing.T) {
	ch := chaintest.Start(t)
	ctx := context.Background()
	token := ch.DeployToken(ch.Accounts[0].Address, 6)
	e := startWallets(t, ch, token)
	signup := func(email string) (*servertest.Client, string) {
		c := e.Client(t)
		uid, csrf := c.SignUp(email, "password-"+email)
		key := c.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", csrf).Expect(t, 201, "").Str("key")
		kc := e.Client(t)
		kc.Header.Set("Authorization", "Bearer "+key)
		return kc, uid
	}
	c, uid := signup("owner@example.com")

	// The seed's routes on the user's own wallet.
	if r := c.Do("GET", "/api/wallet", nil).Expect(t, 200, ""); r.JSON["hasWallet"] != false || r.JSON["address"] != nil {
		t.Errorf("GET /api/wallet before = %s; want hasWallet false", r.Body)
	}
	own := c.Do("POST", "/api/wallet", map[string]any{"action": "create"}).Expect(t, 200, "").Str("address")
	c.Do("POST", "/api/wallet", map[string]any{"action": "create"}).Expect(t, 400, "WALLET_EXISTS")
	c.Do("POST", "/api/wallet", map[string]any{"action": "export_seed"}).Expect(t, 403, "SEED_EXPORT_DISABLED")
	c.Do("POST", "/api/wallet", map[string]any{"action": "dance"}).Expect(t, 400, "INVALID_ACTION")
	if r := c.Do("POST", "/api/wallet", map[string]any{"action": "get_seed"}).Expect(t, 200, ""); r.Str("address") != own || len(r.JSON) != 4 {
		t.Errorf("get_seed = %s; want the address, network, createdAt and a warning only", r.Body)
	}
	if r := c.Do("GET", "/api/wallet", nil).Expect(t, 200, ""); r.Str("address") != own || r.JSON["hasWallet"] != true || r.Str("balance") != "0" {
		t.Errorf("GET /api/wallet = %s; want %s with balance 0", r.Body, own)
	}
	if r := c.Do("GET", "/api/wallet/address", nil).Expect(t, 200, ""); r.Str("address") != own {
		t.Errorf("GET /api/wallet/address = %s; want %s", r.Body, own)
	}
	if r := c.Do("POST", "/api/wallet/create", map[string]any{"email": "owner@example.com"}).Expect(t, 200, ""); r.Str("walletAddress") != own {
		t.Errorf("POST /api/wallet/create = %s; want %s", r.Body, own)
	}
	c.Do("POST", "/api/wallet/create", map[string]any{}).Expect(t, 400, "VALIDATION_ERROR")
	c.Do("POST", "/api/wallet/cdp", map[string]any{"privateKey": "0x01"}).Expect(t, 400, "KEY_IMPORT_DISABLED")
	if r := c.Do("POST", "/api/wallet/cdp", nil).Expect(t, 200, ""); r.Str("address") != own {
		t.Errorf("POST /api/wallet/cdp = %s; want %s", r.Body, own)
	}
	c.Do("GET", "/api/wallet/cdp", nil).Expect(t, 200, "")
	if r := gw(c, "wallet-address", map[string]any{}).Expect(t, 200, ""); result(t, r)["address"] != own {
		t.Errorf("wallet-address = %s; want the user's %s", r.Body, own)
	}

	// An agent's wallet is its own.
	ag, err := e.Store.CreateAgent(ctx, uid, store.NewAgent{Name: "payer", Model: "gpt-4o-mini"}, -1)
	if err != nil {
		t.Fatal(err)
	}
	agentAddr, _ := result(t, gw(c, "wallet-address", map[string]any{"agentId": ag.ID}).Expect(t, 200, ""))["address"].(string)
	if agentAddr == "" || agentAddr == own {
		t.Fatalf("agent address = %q; want one of its own (user's is %s)", agentAddr, own)
	}
	other, _ := signup("other@example.com")
	gw(other, "wallet-address", map[string]any{"agentId": ag.ID}).Expect(t, 404, "AGENT_NOT_FOUND")

	from, _ := evm.ParseAddress(agentAddr)
	ch.Mint(ch.Accounts[0].Address, token, from, big.NewInt(5_000_000))
	if err := ch.Client.Call(ctx, nil, "anvil_setBalance", from.Hex(), "0x2386f26fc10000"); err != nil {
		t.Fatal(err)
	}
	if b := result(t, gw(c, "wallet-balance", map[string]any{"agentId": ag.ID}).Expect(t, 200, "")); b["usdc"] != "5000000" || b["eth"] != "10000000000000000" {
		t.Errorf("wallet-balance = %v; want 5000000 USDC and 0.01 ETH", b)
	}

	to := ch.Accounts[3].Address
	transfer := map[string]any{"agentId": ag.ID, "to": to.Hex(), "amount": "1500000", "idempotencyKey": "pay-1"}
	first := result(t, gw(c, "wallet-transfer", transfer).Expect(t, 200, ""))
	hash, err := evm.ParseBytes32(first["txHash"].(string))
	if err != nil {
		t.Fatalf("txHash = %v", first["txHash"])
	}
	if rc, err := ch.Client.WaitForReceipt(ctx, hash, 10*time.Millisecond); err != nil || rc.Status != 1 {
		t.Fatalf("receipt = %+v, %v; want a successful transaction", rc, err)
	}
	if got := ch.BalanceOf(token, to); got.Int64() != 1_500_000 {
		t.Fatalf("recipient holds %v; want 1500000", got)
	}
	// The same key again: the first answer, and nothing sent.
	again := result(t, gw(c, "wallet-transfer", transfer).Expect(t, 200, ""))
	if again["txHash"] != first["txHash"] {
		t.Errorf("retried transfer = %v; want the first transaction %v", again["txHash"], first["txHash"])
	}
	if n, err := ch.Client.PendingNonce(ctx, from); err != nil || n != 1 {
		t.Errorf("the wallet sent %d transactions (%v); want 1", n, err)
	}
	transfer["amount"] = "1500001"
	gw(c, "wallet-transfer", transfer).Expect(t, 422, "IDEMPOTENCY_KEY_REUSED")

	// 1.5 USDC sent today; 1 more would pass the 2 USDC cap.
	r := gw(c, "wallet-transfer", map[string]any{"agentId": ag.ID, "to": to.Hex(), "amount": "1000000", "idempotencyKey": "pay-2"}).
		Expect(t, 403, "SPEND_CAP_EXCEEDED")
	if r.Str("spentToday") != "1500000" || r.Str("dailyCap") != "2000000" {
		t.Errorf("cap refusal = %s; want spentToday and dailyCap", r.Body)
	}
	if n, _ := ch.Client.PendingNonce(ctx, from); n != 1 {
		t.Errorf("after the refusal the wallet has sent %d transactions; want 1", n)
	}
	if got := ch.BalanceOf(token, to); got.Int64() != 1_500_000 {
		t.Errorf("recipient holds %v after the refusal; want 1500000", got)
	}
	for _, bad := range []map[string]any{
		{"agentId": ag.ID, "to": "0x12", "amount": "1", "idempotencyKey": "x"},
		{"agentId": ag.ID, "to": to.Hex(), "amount": "-1", "idempotencyKey": "x"},
		{"agentId": ag.ID, "to": to.Hex(), "amount": "1.5", "idempotencyKey": "x"},
	} {
		gw(c, "wallet-transfer", bad).Expect(t, 400, "VALIDATION_ERROR")
	}
	gw(c, "wallet-transfer", map[string]any{"agentId": ag.ID, "to": to.Hex(), "amount": "1"}).Expect(t, 400, "INVALID_IDEMPOTENCY_KEY")

	// It signs for other services' 402s.
	sig := result(t, gw(c, "wallet-sign", map[string]any{"agentId": ag.ID, "message": "hello"}).Expect(t, 200, ""))
	raw, err := evm.ParseSignature(sig["signature"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := evm.RecoverSigner(evm.TextHash([]byte("hello")), raw); err != nil || got != from {
		t.Errorf("signer = %v, %v; want the agent's %v", got, err, from)
	}
}
