package provider

import (
	"context"
	"fmt"
	"net"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/agentbot/gateway/sdk/provider/internal/pb"
)

// handshake is go-plugin's handshake. The cookie only stops a plugin binary
// from being run by hand by mistake; integrity comes from the SHA-256 the
// gateway checks before starting it, and AutoMTLS.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "AGENTBOT_PROVIDER_PLUGIN",
	MagicCookieValue: "4f0c1b9e-provider-v1",
}

const pluginName = "provider"

// grpcPlugin is the go-plugin glue, on both sides.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Provider
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterProviderServer(s, &grpcServer{p: p.impl})
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return newClient(c), nil
}

// Serve runs p as a plugin until the gateway stops it. Call it from main; it
// refuses to run when started by hand rather than by the gateway.
func Serve(p Provider) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         plugin.PluginSet{pluginName: &grpcPlugin{impl: p}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

// ServeListener serves p on ln without go-plugin (no handshake, no TLS) until
// ctx ends. For tests (see providertest) and benchmarks.
func ServeListener(ctx context.Context, p Provider, ln net.Listener) error {
	s := grpc.NewServer()
	pb.RegisterProviderServer(s, &grpcServer{p: p})
	go func() { <-ctx.Done(); s.Stop() }()
	return s.Serve(ln)
}

// Dial connects to a provider served by ServeListener at addr. Close the
// returned func when done.
func Dial(addr string) (*Client, func() error, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("dial provider at %s: %w", addr, err)
	}
	return newClient(conn), conn.Close, nil
}
