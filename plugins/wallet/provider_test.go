package wallet_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/chain/chaintest"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/plugins/wallet"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

const sealKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func serve(t *testing.T, cfg wallet.Config) *provider.Client {
	t.Helper()
	c := providertest.Serve(t, wallet.New())
	b, _ := json.Marshal(cfg)
	resp, err := c.Configure(context.Background(), &provider.ConfigureRequest{Config: b})
	if err != nil || resp.Error != nil {
		t.Fatalf("Configure = %v, %v", resp, err)
	}
	return c
}

// call invokes capability with an envelope and decodes the output into out;
// it returns the response's error.
func call(t *testing.T, c *provider.Client, capability string, env wallet.Envelope, out any) *provider.Error {
	t.Helper()
	in, _ := json.Marshal(env)
	resp, err := c.Invoke(context.Background(), &provider.InvokeRequest{Capability: capability, Input: in})
	if err != nil {
		t.Fatalf("Invoke(%s) = %v", capability, err)
	}
	if resp.Error != nil {
		return resp.Error
	}
	if err := json.Unmarshal(resp.Output, out); err != nil {
		t.Fatalf("Invoke(%s) output %s: %v", capability, resp.Output, err)
	}
	return nil
}

func TestMetadata(t *testing.T) {
	c := providertest.Serve(t, wallet.New())
	m, err := c.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, cp := range m.Capabilities {
		ids = append(ids, cp.ID)
	}
	if got := strings.Join(ids, ","); got != "wallet-address,wallet-balance,wallet-transfer,wallet-sign" || m.Name != "wallet" {
		t.Errorf("Metadata = %s %s; want wallet with the four ids", m.Name, got)
	}
}

func TestConfigure(t *testing.T) {
	c := providertest.Serve(t, wallet.New())
	for _, tc := range []struct {
		config string
		ok     bool
	}{
		{`{"sealKey":"` + sealKey + `"}`, true},
		{`{"sealKey":"` + sealKey + `","backend":"local","rpcUrl":"http://127.0.0.1:8545","chainId":8453,"usdc":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913","rpcTimeout":"5s"}`, true},
		{``, false},
		{`{}`, false},
		{`{"sealKey":"00"}`, false},
		{`{"sealKey":"` + sealKey + `","backend":"vault"}`, false},
		{`{"sealKey":"` + sealKey + `","rpcUrl":"ws://x"}`, false},
		{`{"sealKey":"` + sealKey + `","usdc":"0x12"}`, false},
		{`{"sealKey":"` + sealKey + `","rpcTimeout":"-1s"}`, false},
		{`{"sealKey":"` + sealKey + `","seal":"x"}`, false},
	} {
		resp, err := c.Configure(context.Background(), &provider.ConfigureRequest{Config: json.RawMessage(tc.config)})
		if err != nil {
			t.Fatal(err)
		}
		if ok := resp.Error == nil; ok != tc.ok {
			t.Errorf("Configure(%s) = %v; want ok=%v", tc.config, resp.Error, tc.ok)
		}
	}
}

func TestUnconfigured(t *testing.T) {
	c := providertest.Serve(t, wallet.New())
	var out wallet.AddressOutput
	if e := call(t, c, wallet.CapAddress, wallet.Envelope{Owner: "usr_1"}, &out); e == nil || e.Status != 503 {
		t.Errorf("wallet-address unconfigured = %v; want 503", e)
	}
}

func TestAddressSealAndSign(t *testing.T) {
	c := serve(t, wallet.Config{SealKey: sealKey})
	var made wallet.AddressOutput
	if e := call(t, c, wallet.CapAddress, wallet.Envelope{Owner: "usr_1"}, &made); e != nil {
		t.Fatal(e)
	}
	if !made.Created || len(made.SealedKey) < 32 || !strings.HasPrefix(made.Address, "0x") {
		t.Fatalf("first wallet-address = %+v; want a new sealed key", made)
	}
	var again wallet.AddressOutput
	if e := call(t, c, wallet.CapAddress, wallet.Envelope{Owner: "usr_1", SealedKey: made.SealedKey}, &again); e != nil {
		t.Fatal(e)
	}
	if again.Address != made.Address || again.Created || again.SealedKey != nil {
		t.Errorf("wallet-address with the key = %+v; want %s, not created, no key", again, made.Address)
	}
	// The sealed key is bound to its owner and to the seal key.
	if e := call(t, c, wallet.CapAddress, wallet.Envelope{Owner: "usr_2", SealedKey: made.SealedKey}, &again); e == nil || e.Code != "WALLET_SEALED" {
		t.Errorf("another owner's key = %v; want WALLET_SEALED", e)
	}
	other := serve(t, wallet.Config{SealKey: strings.Repeat("ab", 32)})
	if e := call(t, other, wallet.CapAddress, wallet.Envelope{Owner: "usr_1", SealedKey: made.SealedKey}, &again); e == nil || e.Code != "WALLET_SEALED" {
		t.Errorf("another seal key = %v; want WALLET_SEALED", e)
	}
	// The plaintext key never appears in what the plugin returns.
	if strings.Contains(string(made.SealedKey), made.Address) {
		t.Error("sealed key contains the address")
	}

	want, _ := evm.ParseAddress(made.Address)
	msg := "pay 0.01 USDC"
	var sig wallet.SignOutput
	if e := call(t, c, wallet.CapSign, wallet.Envelope{Owner: "usr_1", SealedKey: made.SealedKey,
		Request: json.RawMessage(`{"message":"` + msg + `"}`)}, &sig); e != nil {
		t.Fatal(e)
	}
	raw, _ := hex.DecodeString(sig.Signature[2:])
	if got, err := evm.RecoverSigner(evm.TextHash([]byte(msg)), raw); err != nil || got != want {
		t.Errorf("message signer = %v, %v; want %v", got, err, want)
	}
	typed := `{"typedData":{"types":{"Pay":[{"name":"to","type":"address"},{"name":"value","type":"uint256"}]},"primaryType":"Pay",
		"domain":{"name":"x","chainId":8453},"message":{"to":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","value":"10000"}}}`
	if e := call(t, c, wallet.CapSign, wallet.Envelope{Owner: "usr_1", SealedKey: made.SealedKey, Request: json.RawMessage(typed)}, &sig); e != nil {
		t.Fatal(e)
	}
	var req struct{ TypedData json.RawMessage }
	_ = json.Unmarshal([]byte(typed), &req)
	td, _ := evm.ParseTypedData(req.TypedData)
	digest, _ := td.Digest()
	raw, _ = hex.DecodeString(sig.Signature[2:])
	if got, err := evm.RecoverSigner(digest, raw); err != nil || got != want || sig.Digest != "0x"+hex.EncodeToString(digest[:]) {
		t.Errorf("typed data signer = %v, %v (digest %s); want %v", got, err, sig.Digest, want)
	}
	for _, bad := range []string{`{}`, `{"message":"a","raw":"0x00"}`, `{"raw":"00"}`, `{"typedData":{"primaryType":"X"}}`, `[`} {
		if e := call(t, c, wallet.CapSign, wallet.Envelope{Owner: "usr_1", SealedKey: made.SealedKey, Request: json.RawMessage(bad)}, &sig); e == nil || e.Status != 400 {
			t.Errorf("wallet-sign %s = %v; want 400", bad, e)
		}
	}
	if e := call(t, c, wallet.CapSign, wallet.Envelope{Owner: "usr_1", Request: json.RawMessage(`{"message":"x"}`)}, &sig); e == nil || e.Code != "WALLET_NOT_FOUND" {
		t.Errorf("wallet-sign without a key = %v; want WALLET_NOT_FOUND", e)
	}
}

func TestBalanceAndTransferOnChain(t *testing.T) {
	ch := chaintest.Start(t)
	ctx := context.Background()
	token := ch.DeployToken(ch.Accounts[0].Address, 6)
	c := serve(t, wallet.Config{SealKey: sealKey, RPCURL: ch.URL, USDC: token.Hex()})
	var made wallet.AddressOutput
	if e := call(t, c, wallet.CapAddress, wallet.Envelope{Owner: "usr_1"}, &made); e != nil {
		t.Fatal(e)
	}
	env := wallet.Envelope{Owner: "usr_1", SealedKey: made.SealedKey}
	addr, _ := evm.ParseAddress(made.Address)
	ch.Mint(ch.Accounts[0].Address, token, addr, big.NewInt(3_000_000))
	if err := ch.Client.Call(ctx, nil, "anvil_setBalance", addr.Hex(), "0x2386f26fc10000"); err != nil {
		t.Fatal(err)
	}
	var bal wallet.BalanceOutput
	if e := call(t, c, wallet.CapBalance, env, &bal); e != nil {
		t.Fatal(e)
	}
	if bal.USDC != "3000000" || bal.ETH != "10000000000000000" || bal.ChainID != 8453 || bal.Address != made.Address {
		t.Errorf("wallet-balance = %+v; want 3000000 USDC, 0.01 ETH on 8453", bal)
	}
	to := ch.Accounts[2].Address
	env.Request = json.RawMessage(`{"to":"` + to.Hex() + `","amount":"1000000"}`)
	var tr wallet.TransferOutput
	if e := call(t, c, wallet.CapTransfer, env, &tr); e != nil {
		t.Fatal(e)
	}
	hash, _ := evm.ParseBytes32(tr.TxHash)
	if rc, err := ch.Client.WaitForReceipt(ctx, hash, 10*time.Millisecond); err != nil || rc.Status != 1 {
		t.Fatalf("receipt = %+v, %v; want success", rc, err)
	}
	if got := ch.BalanceOf(token, to); got.Int64() != 1_000_000 {
		t.Errorf("recipient = %v; want 1000000", got)
	}
	// More than the wallet holds: the token refuses it at estimation, nothing is sent.
	env.Request = json.RawMessage(`{"to":"` + to.Hex() + `","amount":"5000000"}`)
	if e := call(t, c, wallet.CapTransfer, env, &tr); e == nil || e.Code != "TRANSFER_REJECTED" {
		t.Errorf("transfer over the balance = %v; want TRANSFER_REJECTED", e)
	}
	for _, bad := range []string{`{"to":"0x12","amount":"1"}`, `{"to":"` + to.Hex() + `","amount":"0"}`, `{"to":"` + to.Hex() + `","amount":"-1"}`, `{"to":"` + to.Hex() + `","amount":1}`} {
		env.Request = json.RawMessage(bad)
		if e := call(t, c, wallet.CapTransfer, env, &tr); e == nil || e.Status != 400 {
			t.Errorf("transfer %s = %v; want 400", bad, e)
		}
	}
}

func TestNoChain(t *testing.T) {
	c := serve(t, wallet.Config{SealKey: sealKey})
	var made wallet.AddressOutput
	call(t, c, wallet.CapAddress, wallet.Envelope{Owner: "u"}, &made)
	var bal wallet.BalanceOutput
	if e := call(t, c, wallet.CapBalance, wallet.Envelope{Owner: "u", SealedKey: made.SealedKey}, &bal); e == nil || e.Code != "CHAIN_UNAVAILABLE" {
		t.Errorf("balance without a chain = %v; want CHAIN_UNAVAILABLE", e)
	}
}
