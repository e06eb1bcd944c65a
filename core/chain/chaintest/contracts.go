package chaintest

import (
	_ "embed"
	"encoding/hex"
	"math/big"
	"strings"

	"github.com/agentbot/gateway/core/evm"
)

// The committed creation code of the test contracts (contracts/*.sol beside
// it; rebuilt by internal/chain/js/compile.mjs).
var (
	//go:embed contracts/TestToken.hex
	tokenHex string
	//go:embed contracts/TestWallet.hex
	walletHex string
	//go:embed contracts/TestWalletFactory.hex
	factoryHex string

	// TokenCode deploys TestToken(uint8 decimals): a mintable ERC-20.
	TokenCode = mustHex(tokenHex)
	// WalletCode deploys TestWallet(address owner): an ERC-1271 wallet that
	// accepts its owner's signature of the hash.
	WalletCode = mustHex(walletHex)
	// FactoryCode deploys TestWalletFactory: CREATE2 deployment of TestWallet.
	FactoryCode = mustHex(factoryHex)
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "0x"))
	if err != nil || len(b) == 0 {
		panic("chaintest: embedded contract code is not hex")
	}
	return b
}

// DeployToken deploys a TestToken with decimals, minted by from.
func (c *Chain) DeployToken(from evm.Address, decimals uint8) evm.Address {
	c.t.Helper()
	return c.Deploy(from, TokenCode, uint64(decimals))
}

// Mint mints amount base units of token to to; from must have deployed it.
func (c *Chain) Mint(from, token, to evm.Address, amount *big.Int) {
	c.t.Helper()
	c.Transact(from, token, "mint(address,uint256)", to, amount)
}

// BalanceOf is token.balanceOf(owner).
func (c *Chain) BalanceOf(token, owner evm.Address) *big.Int {
	c.t.Helper()
	return new(big.Int).SetBytes(c.Call(token, "balanceOf(address)", owner))
}

// Factory is a deployed TestWalletFactory.
type Factory struct {
	Address evm.Address
	c       *Chain
}

// DeployFactory deploys a TestWalletFactory from from.
func (c *Chain) DeployFactory(from evm.Address) *Factory {
	c.t.Helper()
	return &Factory{Address: c.Deploy(from, FactoryCode), c: c}
}

// WalletAddress is where owner's wallet for salt is (or will be) deployed.
func (f *Factory) WalletAddress(owner evm.Address, salt uint64) evm.Address {
	f.c.t.Helper()
	out := f.c.Call(f.Address, "getAddress(address,uint256)", owner, salt)
	var a evm.Address
	copy(a[:], out[12:32])
	return a
}

// CreateCalldata is the factory call that deploys owner's wallet for salt:
// what an ERC-6492 signature carries.
func (f *Factory) CreateCalldata(owner evm.Address, salt uint64) []byte {
	data, _ := evm.EncodeCall("createAccount(address,uint256)", owner, salt)
	return data
}

// DeployWallet deploys owner's wallet for salt and returns its address.
func (f *Factory) DeployWallet(from, owner evm.Address, salt uint64) evm.Address {
	f.c.t.Helper()
	f.c.Send(from, &f.Address, f.CreateCalldata(owner, salt), nil)
	return f.WalletAddress(owner, salt)
}

// SignUndeployed is owner's ERC-6492 signature of digest for the wallet the
// factory would deploy for owner and salt.
func (f *Factory) SignUndeployed(owner Account, salt uint64, digest [32]byte) []byte {
	return evm.WrapERC6492(f.Address, f.CreateCalldata(owner.Address, salt), owner.Key.Sign(digest))
}
