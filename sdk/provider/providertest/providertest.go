// Package providertest runs a provider in-process behind a real gRPC
// connection, so that a plugin author's tests exercise the same wire path the
// gateway uses (minus the process boundary).
package providertest

import (
	"context"
	"net"
	"testing"

	"github.com/agentbot/gateway/sdk/provider"
)

// Serve starts p on a loopback gRPC server and returns a client connected to
// it. Both are stopped when the test ends.
func Serve(t testing.TB, p provider.Provider) *provider.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = provider.ServeListener(ctx, p, ln)
	}()
	c, closeConn, err := provider.Dial(ln.Addr().String())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		closeConn()
		cancel()
		<-done
	})
	return c
}

// Collect runs a streaming call and returns its chunks.
func Collect(t testing.TB, c *provider.Client, req *provider.InvokeRequest) []*provider.Chunk {
	t.Helper()
	var out []*provider.Chunk
	if err := c.InvokeStream(context.Background(), req, func(ch *provider.Chunk) error {
		out = append(out, ch)
		return nil
	}); err != nil {
		t.Fatalf("InvokeStream(%s) = %v", req.Capability, err)
	}
	return out
}
