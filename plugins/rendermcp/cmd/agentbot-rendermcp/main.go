// Command agentbot-rendermcp is the Render MCP provider plugin; the gateway
// starts it.
package main

import (
	"github.com/agentbot/gateway/plugins/rendermcp"
	"github.com/agentbot/gateway/sdk/provider"
)

func main() { provider.Serve(rendermcp.New()) }
