package chain_test

import (
	"context"
	"encoding/hex"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/chain/chaintest"
	"github.com/agentbot/gateway/core/evm"
)

func TestDevAccounts(t *testing.T) {
	c := chaintest.Start(t)
	var accounts []string
	if err := c.Client.Call(context.Background(), &accounts, "eth_accounts"); err != nil {
		t.Fatal(err)
	}
	for i, a := range c.Accounts {
		if i >= len(accounts) {
			t.Fatalf("anvil has %d accounts; want at least %d", len(accounts), len(c.Accounts))
		}
		want, err := evm.ParseAddress(accounts[i])
		if err != nil || a.Address != want {
			t.Errorf("account %d: key's address %s; anvil's %s", i, a.Address, accounts[i])
		}
	}
	if id, err := c.Client.ChainID(context.Background()); err != nil || id != chaintest.ChainID {
		t.Errorf("ChainID = %d, %v; want %d", id, err, chaintest.ChainID)
	}
	bal, err := c.Client.Balance(context.Background(), c.Accounts[0].Address, "")
	if err != nil || bal.Cmp(new(big.Int).Exp(big.NewInt(10), big.NewInt(21), nil)) < 0 {
		t.Errorf("Balance = %v, %v; want at least 1000 ETH", bal, err)
	}
}

func TestToken(t *testing.T) {
	c := chaintest.Start(t)
	minter, holder := c.Accounts[0].Address, c.Accounts[1].Address
	token := c.DeployToken(minter, 6)
	if got := new(big.Int).SetBytes(c.Call(token, "decimals()")); got.Int64() != 6 {
		t.Errorf("decimals() = %v; want 6", got)
	}
	c.Mint(minter, token, holder, big.NewInt(2_500_000))
	if got := c.BalanceOf(token, holder); got.Int64() != 2_500_000 {
		t.Errorf("balanceOf = %v; want 2500000", got)
	}
	// Only the deployer mints.
	data, _ := evm.EncodeCall("mint(address,uint256)", holder, big.NewInt(1))
	if _, err := c.TrySend(holder, &token, data, nil); err == nil {
		t.Errorf("mint by another account succeeded; want a revert")
	}
	c.Transact(holder, token, "transfer(address,uint256)", minter, big.NewInt(500_000))
	if got := c.BalanceOf(token, minter); got.Int64() != 500_000 {
		t.Errorf("balanceOf(recipient) = %v; want 500000", got)
	}
}

// validators are the ERC-6492 off-chain validators to compare: ours (the
// ERC's reference source, compiled here) and, when the npm packages are
// installed, viem's constant.
func validators(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{"ours": nil}
	root, err := chaintest.Root()
	if err != nil {
		return out
	}
	src, err := os.ReadFile(filepath.Join(root, "internal/chain/js/node_modules/viem/_esm/constants/contracts.js"))
	if err != nil {
		chaintest.Missing(t, "viem is not installed in internal/chain/js: "+err.Error())
	}
	m := regexp.MustCompile(`erc6492SignatureValidatorByteCode = '0x([0-9a-f]+)'`).FindSubmatch(src)
	if m == nil {
		t.Fatal("viem's contracts.js has no erc6492SignatureValidatorByteCode")
	}
	code, _ := hex.DecodeString(string(m[1]))
	out["viem"] = code
	return out
}

// validate runs a validator's deployless call: ours through
// ValidSignature, another's by the same recipe.
func validate(t *testing.T, c *chaintest.Chain, code []byte, signer evm.Address, hash [32]byte, sig []byte) bool {
	t.Helper()
	if code == nil {
		ok, err := c.Client.ValidSignature(context.Background(), signer, hash, sig)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	args, _ := evm.EncodeArgs(signer, hash, sig)
	out, err := c.Client.CallContract(context.Background(), chain.Msg{Data: append(append([]byte(nil), code...), args...)}, "")
	if e, ok := err.(*chain.Error); ok && e.Reverted() {
		return false
	} else if err != nil {
		t.Fatal(err)
	}
	return len(out) == 1 && out[0] == 1
}

func TestValidSignature(t *testing.T) {
	c := chaintest.Start(t)
	deployer, owner, stranger := c.Accounts[0], c.Accounts[1], c.Accounts[2]
	f := c.DeployFactory(deployer.Address)
	hash := evm.TextHash([]byte("sign in"))
	other := evm.TextHash([]byte("something else"))
	ctx := context.Background()

	counterfactual := f.WalletAddress(owner.Address, 1)
	wrapped := f.SignUndeployed(owner, 1, hash)
	deployed := f.DeployWallet(deployer.Address, owner.Address, 2)
	if code, err := c.Client.Code(ctx, deployed, ""); err != nil || len(code) == 0 {
		t.Fatalf("the factory did not deploy the wallet: %v", err)
	}

	cases := []struct {
		name   string
		signer evm.Address
		hash   [32]byte
		sig    []byte
		want   bool
	}{
		{"EOA", owner.Address, hash, owner.Key.Sign(hash), true},
		{"EOA, another hash", owner.Address, other, owner.Key.Sign(hash), false},
		{"EOA, another signer", stranger.Address, hash, owner.Key.Sign(hash), false},
		{"deployed ERC-1271 wallet", deployed, hash, owner.Key.Sign(hash), true},
		{"deployed wallet, stranger's key", deployed, hash, stranger.Key.Sign(hash), false},
		{"undeployed wallet, ERC-6492", counterfactual, hash, wrapped, true},
		{"undeployed wallet, another hash", counterfactual, other, wrapped, false},
		{"undeployed wallet, stranger's key", counterfactual, hash, f.SignUndeployed(stranger, 1, hash), false},
		{"undeployed wallet, plain signature", counterfactual, hash, owner.Key.Sign(hash), false},
		{"ERC-6492 of a wallet at another address", f.WalletAddress(owner.Address, 3), hash, wrapped, false},
		{"garbage", owner.Address, hash, []byte{1, 2, 3}, false},
	}
	for name, code := range validators(t) {
		for _, tc := range cases {
			if got := validate(t, c, code, tc.signer, tc.hash, tc.sig); got != tc.want {
				t.Errorf("%s validator, %s: valid = %v; want %v", name, tc.name, got, tc.want)
			}
		}
	}
	// The checks changed nothing on chain: the counterfactual wallet is
	// still not deployed.
	if code, err := c.Client.Code(ctx, counterfactual, ""); err != nil || len(code) != 0 {
		t.Errorf("the ERC-6492 check deployed the wallet (code %d bytes, %v)", len(code), err)
	}
	// After deployment the wrapped signature still verifies, as does plain 1271.
	if got := f.DeployWallet(deployer.Address, owner.Address, 1); got != counterfactual {
		t.Fatalf("deployed at %s; predicted %s", got, counterfactual)
	}
	for _, sig := range [][]byte{wrapped, owner.Key.Sign(hash)} {
		if ok, err := c.Client.ValidSignature(ctx, counterfactual, hash, sig); !ok || err != nil {
			t.Errorf("after deployment: ValidSignature = %v, %v; want true", ok, err)
		}
	}
}
