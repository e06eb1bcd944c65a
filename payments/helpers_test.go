package payments_test

import "github.com/agentbot/gateway/core/mpp/mpptest"

// The test terms (mpptest): Base Sepolia USDC and a recipient.
var (
	payTo  = mpptest.PayTo
	usdc   = mpptest.USDC
	domain = mpptest.Domain
)
