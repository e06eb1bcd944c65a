package evm_test

import (
	"fmt"

	"github.com/agentbot/gateway/core/evm"
)

// Checking an x402 "exact" / MPP "evm" authorization signed by the Anvil test
// account #1 for 0.01 USDC on Base Sepolia (the first vector of testdata).
func ExampleVerifyTransfer() {
	usdc, _ := evm.ParseAddress("0x036CbD53842c5426634e7929541eC2318f3dCF7e")
	from, _ := evm.ParseAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
	to, _ := evm.ParseAddress("0x742d35Cc6634C0532925a3b844Bc454e4438f44e")
	value, _ := evm.ParseUint256("10000")
	validAfter, _ := evm.ParseUint256("0")
	validBefore, _ := evm.ParseUint256("1795938521")
	nonce, _ := evm.ParseBytes32("0xe8fc7f17a1533a6cac2117337bad1a468d32342dfa5506b93c1895a096e59672")
	sig, _ := evm.ParseSignature("0xbdfb9ca7ece155e2c80ece25ab80a4af9a0bae4fc688880f031bbdc63e3962093416fbda2cc8cfa90691c11b4bb3572435f9daa48235c096d04109237964daa11c")

	d := evm.Domain{Name: "USDC", Version: "2", ChainID: 84532, VerifyingContract: usdc}
	a := evm.TransferAuthorization{From: from, To: to, Value: value, ValidAfter: validAfter, ValidBefore: validBefore, Nonce: nonce}
	fmt.Println(evm.VerifyTransfer(d, a, sig))

	a.Value, _ = evm.ParseUint256("1")
	fmt.Println(evm.VerifyTransfer(d, a, sig) != nil)
	// Output:
	// <nil>
	// true
}
