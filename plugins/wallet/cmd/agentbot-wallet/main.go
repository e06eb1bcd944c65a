// Command agentbot-wallet is the wallet provider plugin; the gateway starts
// it.
package main

import (
	"github.com/agentbot/gateway/plugins/wallet"
	"github.com/agentbot/gateway/sdk/provider"
)

func main() { provider.Serve(wallet.New()) }
