// Command agentbot-ai is the AI provider plugin. The gateway starts it; it is
// not meant to be run by hand.
package main

import (
	"github.com/agentbot/gateway/plugins/ai"
	"github.com/agentbot/gateway/sdk/provider"
)

func main() { provider.Serve(ai.New()) }
