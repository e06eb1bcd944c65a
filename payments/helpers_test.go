package payments_test

import (
	"github.com/agentbot/gateway/core/evm"
)

var (
	payTo  = mustAddress("0x742d35cc6634c0532925a3b844bc9e7595f8fe00")
	usdc   = mustAddress("0x036CbD53842c5426634e7929541eC2318f3dCF7e")
	domain = evm.Domain{Name: "USDC", Version: "2", ChainID: 84532, VerifyingContract: usdc}
)

func mustAddress(s string) evm.Address {
	a, err := evm.ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return a
}
