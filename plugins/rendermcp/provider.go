// Package rendermcp is the Render MCP provider plugin: the informational
// /api/render-mcp/* routes and the "render-mcp" gateway capability, which lists
// and calls the tools of Render's MCP server (streamable HTTP) as the caller,
// with the caller's own Render API key.
//
// Configuration: {"url": "https://mcp.render.com/mcp", "timeout": "30s"}, both
// optional.
//
// The capability's input is {"method": "tools/list"} or {"method":
// "tools/call", "name": "<tool>", "arguments": {...}}, plus "apiKey" when the
// caller has no key stored for "render". Its output is {"tools": [{name,
// description, inputSchema}]} or {"content": [...], "isError": bool,
// "structuredContent"?: ...}. Each call opens its own MCP session, with the
// key as a Bearer token, and closes it before answering.
package rendermcp

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentbot/gateway/sdk/provider"
)

const (
	// Name and Version identify the plugin to the gateway and to MCP servers.
	Name    = "rendermcp"
	Version = "1.0.0"

	// CapabilityID is the gateway id the plugin serves.
	CapabilityID = "render-mcp"
)

var (
	_ provider.Provider    = (*Provider)(nil)
	_ provider.Configurer  = (*Provider)(nil)
	_ provider.HTTPHandler = (*Provider)(nil)
)

// Provider serves the Render MCP routes and capability. Create it with New;
// it is safe for concurrent use.
type Provider struct {
	settings atomic.Pointer[settings]
	client   *mcp.Client
	// base carries every request to the MCP server; one transport for all
	// callers keeps connections to Render warm.
	base http.RoundTripper
	log  *slog.Logger
}

// New returns a Provider with the default settings (Render's public MCP URL,
// 30 s per call) until Configure says otherwise.
func New() *Provider {
	p := &Provider{
		client: mcp.NewClient(&mcp.Implementation{Name: "agentbot-" + Name, Version: Version}, nil),
		base:   http.DefaultTransport,
		log:    slog.Default(),
	}
	p.settings.Store(defaultSettings())
	return p
}

// Metadata describes the capability and the routes, which come from the same
// table HandleHTTP dispatches on.
func (p *Provider) Metadata(context.Context, *provider.MetadataRequest) (*provider.MetadataResponse, error) {
	rs := make([]provider.Route, 0, len(routes))
	for _, r := range routes {
		rs = append(rs, provider.Route{Method: r.method, Path: r.path})
	}
	return &provider.MetadataResponse{
		Name:    Name,
		Version: Version,
		Capabilities: []provider.Capability{{
			ID:          CapabilityID,
			Description: "List and call the Render MCP server's tools with the caller's Render API key",
		}},
		Routes: rs,
	}, nil
}

// Configure validates and applies {"url", "timeout"}; a bad configuration
// leaves the previous settings in place.
func (p *Provider) Configure(_ context.Context, req *provider.ConfigureRequest) (*provider.ConfigureResponse, error) {
	s, err := parseSettings(req.Config)
	if err != nil {
		return &provider.ConfigureResponse{Error: provider.Errorf(400, "INVALID_CONFIG", "%v", err)}, nil
	}
	p.settings.Store(s)
	return &provider.ConfigureResponse{}, nil
}
