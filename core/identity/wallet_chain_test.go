package identity_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/chain/chaintest"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/server/servertest"
)

// Sign-in with Ethereum against a real chain (anvil): EOAs, a deployed
// ERC-1271 wallet, a wallet not deployed yet (ERC-6492), and a message made
// and signed by viem.
func TestWalletSignInOnChain(t *testing.T) {
	c := chaintest.Start(t)
	for _, b := range servertest.Backends {
		t.Run(b, func(t *testing.T) {
			env := walletEnv(t, b, map[string]string{"EVM_RPC_URL": c.URL})
			deployer, owner, stranger := c.Accounts[0], c.Accounts[1], c.Accounts[2]
			f := c.DeployFactory(deployer.Address)
			ctx := context.Background()

			signInAs := func(addr evm.Address, signature func(digest [32]byte) []byte, chainID uint64) *servertest.Response {
				cl := env.Client(t)
				m := message(addr, newNonce(t, cl))
				m.ChainID = chainID
				sig := signature(evm.TextHash([]byte(m.String())))
				return signIn(cl, m, "0x"+hex.EncodeToString(sig))
			}
			wantAccount := func(r *servertest.Response, addr evm.Address) {
				t.Helper()
				if u, _ := r.JSON["user"].(map[string]any); u["email"] != walletEmail(addr) || r.Str("address") != addr.Hex() {
					t.Errorf("signed in as %s; want %s's account", r.Body, addr)
				}
			}

			// An EOA (recovered locally; the chain is not asked).
			wantAccount(signInAs(owner.Address, owner.Key.Sign, 8453).Expect(t, 200, ""), owner.Address)

			// A deployed ERC-1271 wallet owned by the EOA.
			deployed := f.DeployWallet(deployer.Address, owner.Address, 7)
			wantAccount(signInAs(deployed, owner.Key.Sign, 8453).Expect(t, 200, ""), deployed)
			signInAs(deployed, stranger.Key.Sign, 8453).Expect(t, 401, "SIWE_SIGNATURE_INVALID")

			// A wallet not deployed yet: an ERC-6492 signature; it stays undeployed.
			counterfactual := f.WalletAddress(owner.Address, 8)
			undeployed := func(d [32]byte) []byte { return f.SignUndeployed(owner, 8, d) }
			wantAccount(signInAs(counterfactual, undeployed, 8453).Expect(t, 200, ""), counterfactual)
			if code, err := c.Client.Code(ctx, counterfactual, ""); err != nil || len(code) != 0 {
				t.Errorf("the sign-in deployed the wallet (%d bytes of code, %v)", len(code), err)
			}
			signInAs(counterfactual, func(d [32]byte) []byte { return f.SignUndeployed(stranger, 8, d) }, 8453).
				Expect(t, 401, "SIWE_SIGNATURE_INVALID")
			// A smart wallet is checked on the chain the RPC serves only.
			signInAs(counterfactual, undeployed, 84532).Expect(t, 401, "SIWE_CHAIN_UNSUPPORTED")
		})
	}
}

// A message made and signed by the npm viem client (createSiweMessage,
// signMessage) signs in unchanged.
func TestWalletSignInViem(t *testing.T) {
	env := walletEnv(t, "sqlite", nil)
	cl := env.Client(t)
	nonce := newNonce(t, cl)
	req, _ := json.Marshal(map[string]any{
		"privateKey": "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a", // anvil account #2
		"domain":     "agentbot.example", "uri": publicURL + "/login", "chainId": 8453, "nonce": nonce,
		"issuedAt": time.Now().UTC().Format(time.RFC3339Nano), "expirationTime": time.Now().Add(5 * time.Minute).UTC().Format(time.RFC3339Nano),
		"statement": "Sign in to Agentbot",
	})
	var signed struct{ Address, Message, Signature string }
	if err := json.Unmarshal(chaintest.Node(t, "siwe-sign.mjs", req), &signed); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(signed.Message, "Nonce: "+nonce) {
		t.Fatalf("viem's message does not carry the nonce:\n%s", signed.Message)
	}
	r := cl.Do("POST", "/api/auth/callback/wallet", map[string]any{"message": signed.Message, "signature": signed.Signature}).Expect(t, 200, "")
	if r.Str("address") != signed.Address || signed.Address != chaintest.DevAccounts()[2].Address.Hex() {
		t.Errorf("viem sign-in = %s; want address %s", r.Body, signed.Address)
	}
}

// A smart-wallet signature while the chain does not answer is a 503, not a
// refusal: the client may try again.
func TestWalletSignInChainDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	env := walletEnv(t, "sqlite", map[string]string{"EVM_RPC_URL": url, "EVM_RPC_TIMEOUT": "2s"})
	owner := chaintest.DevAccounts()[1]
	cl := env.Client(t)
	m := message(evm.Address{0xaa}, newNonce(t, cl))
	r := signIn(cl, m, "0x"+hex.EncodeToString(owner.Key.Sign(evm.TextHash([]byte(m.String())))))
	r.Expect(t, 503, "CHAIN_UNAVAILABLE")
	if strings.Contains(string(r.Body), l.Addr().String()) {
		t.Errorf("the answer shows the RPC URL: %s", r.Body)
	}
	// The nonce was not used: the EOA's own sign-in still works with it.
	m.Address = owner.Address
	signIn(cl, m, sign(owner.Key, m)).Expect(t, 200, "")
}
