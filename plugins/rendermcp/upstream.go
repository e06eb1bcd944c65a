package rendermcp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentbot/gateway/sdk/provider"
)

// exchange is one call's conversation with the MCP server.
type exchange struct {
	s   *settings
	key string
	// status is the HTTP status of the server's latest response. The SDK
	// reports HTTP failures as text; this tells a rejected key from the rest.
	status atomic.Int32
}

// connect opens an MCP session to the configured server, authenticated with
// the caller's key. A session lives for one call: keys differ per caller.
func (p *Provider) connect(ctx context.Context, x *exchange) (*mcp.ClientSession, error) {
	t := &mcp.StreamableClientTransport{
		Endpoint:   x.s.endpoint.String(),
		HTTPClient: &http.Client{Transport: &bearer{base: p.base, x: x, call: ctx}},
		// One request per session: no server-initiated messages to wait for,
		// and no background stream to outlive the call.
		DisableStandaloneSSE: true,
		MaxRetries:           -1,
	}
	return p.client.Connect(ctx, t, nil)
}

// bearer is the per-call RoundTripper: it sends the caller's key to the MCP
// server's origin only, and ties every request to the call's context.
type bearer struct {
	base http.RoundTripper
	x    *exchange
	call context.Context
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	// The SDK sends its session-ending DELETE on a context detached from the
	// call; binding every request to the call too keeps none past its deadline.
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(b.call, cancel)
	release := func() { stop(); cancel() }

	r = r.Clone(ctx)
	// A redirect elsewhere must not carry the key.
	if origin := b.x.s.endpoint; strings.EqualFold(r.URL.Scheme, origin.Scheme) && strings.EqualFold(r.URL.Host, origin.Host) {
		r.Header.Set("Authorization", "Bearer "+b.x.key)
	} else {
		r.Header.Del("Authorization")
	}
	resp, err := b.base.RoundTrip(r)
	if err != nil {
		release()
		return nil, err
	}
	b.x.status.Store(int32(resp.StatusCode))
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releasingBody frees the request's context once the SDK is done reading.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// upstreamError turns a failed MCP exchange into what the caller sees: short,
// and never carrying the key.
func (p *Provider) upstreamError(ctx context.Context, x *exchange, err error) *provider.Error {
	s, key, status := x.s, x.key, int(x.status.Load())
	var rpcErr *jsonrpc.Error
	switch {
	case status == http.StatusUnauthorized:
		return provider.Errorf(http.StatusUnauthorized, "RENDER_UNAUTHORIZED", "Render rejected the API key")
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return provider.Errorf(http.StatusGatewayTimeout, "UPSTREAM_TIMEOUT", "The Render MCP server did not answer within %v", s.timeout)
	case errors.As(err, &rpcErr) && rpcErr.Code == jsonrpc.CodeInvalidParams:
		// The server's own words on a bad tool name or bad arguments.
		return provider.Errorf(http.StatusBadRequest, "INVALID_TOOL_CALL", "%s", short(rpcErr.Message, key))
	}
	p.log.Warn("rendermcp: upstream failure", "url", s.endpoint.String(), "status", status, "err", redact(err.Error(), key))
	switch {
	case errors.As(err, &rpcErr):
		return provider.Errorf(http.StatusBadGateway, "UPSTREAM_ERROR", "Render MCP server error: %s", short(rpcErr.Message, key))
	case status >= 300:
		return provider.Errorf(http.StatusBadGateway, "UPSTREAM_ERROR", "Render MCP server answered %d %s", status, http.StatusText(status))
	}
	return provider.Errorf(http.StatusBadGateway, "UPSTREAM_ERROR", "Could not talk to the Render MCP server")
}

// short trims an upstream message for the caller and removes the key should
// a server echo it.
func short(msg, key string) string {
	msg = redact(msg, key)
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return msg
}

func redact(s, key string) string { return strings.ReplaceAll(s, key, keyPrefix+"…") }
