package x402_test

import (
	"fmt"

	"github.com/agentbot/gateway/core/x402"
)

// A server's round trip: advertise in PAYMENT-REQUIRED, then check that the
// client's PAYMENT-SIGNATURE echoes the requirement it advertised.
func ExampleRequirements_Matches() {
	offer := x402.Requirements{Scheme: "exact", Network: "eip155:84532", Amount: "10000",
		Asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", PayTo: "0x742d35Cc6634C0532925a3b844Bc454e4438f44e",
		MaxTimeoutSeconds: 300, Extra: map[string]any{"name": "USDC", "version": "2"}}
	header, _ := x402.EncodeHeader(x402.PaymentRequired{X402Version: x402.Version,
		Resource: x402.Resource{URL: "https://gw.example/v1/chat"}, Accepts: []x402.Requirements{offer}})

	// …the client decodes header, signs, and echoes the requirement it chose.
	var pr x402.PaymentRequired
	if err := x402.DecodeHeader(header, &pr); err != nil {
		panic(err)
	}
	sig, _ := x402.EncodeHeader(x402.PaymentPayload{X402Version: 2, Accepted: pr.Accepts[0], Payload: []byte(`{}`)})

	var p x402.PaymentPayload
	if err := x402.DecodeHeader(sig, &p); err != nil {
		panic(err)
	}
	fmt.Println(offer.Matches(p.Accepted))
	p.Accepted.Amount = "1"
	fmt.Println(offer.Matches(p.Accepted))
	// Output:
	// true
	// false
}
