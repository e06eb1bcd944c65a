// Package gateway serves POST /api/v1/gateway, the product's spine: it resolves
// a gateway id to a provider capability or a skill, authenticates the caller,
// takes payment (through package payments, whose decisions it turns into HTTP
// answers), dispatches with a deadline, records usage, and answers in the shape
// docs/api-conventions.md describes — as JSON, or as a server-sent event stream
// passed through unbuffered. It also mounts the REST routes plugins declare and
// an OpenAI-compatible surface over the "generate-text" id.
package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/sdk/provider"
)

// Target is what a gateway id resolves to.
type Target struct {
	ID        string
	Streaming bool
	// PriceMicroUSD is the target's own suggested price; configuration wins.
	PriceMicroUSD int64
}

// Dispatcher serves some gateway ids: the plugin host, the skills runtime.
// Errors wrapping provider.ErrUnavailable are 502; context.DeadlineExceeded 504.
type Dispatcher interface {
	// Target looks id up: ok is false when this dispatcher does not serve it;
	// an error means it could not tell (its catalogue did not answer).
	Target(ctx context.Context, id string) (t Target, ok bool, err error)
	Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error)
	InvokeStream(ctx context.Context, req *provider.InvokeRequest, fn func(*provider.Chunk) error) error
}

// RouteForwarder forwards REST requests to the plugin that declared the route.
type RouteForwarder interface {
	HandleHTTP(ctx context.Context, plugin string, req *provider.HTTPRequest, fn func(*provider.HTTPResponsePart) error) error
}

// PluginRoute is a REST route served by a plugin.
type PluginRoute struct {
	Plugin string
	provider.Route
}

// Gateway holds what the gateway endpoints need.
type Gateway struct {
	Store       *store.Store
	Dispatchers []Dispatcher
	Payer       payments.Payer
	// Prices overrides targets' suggested prices, in micro-USD per call.
	Prices map[string]int64
	// Secrets opens users' sealed BYOK keys.
	Secrets *secrets.Box
	// KeepAlive is how often a stream sends a comment while waiting for the
	// first chunk [10s].
	KeepAlive time.Duration
	// CallerTTL is how long a caller's account (plan, BYOK keys) is reused
	// between calls on this node [2s; negative disables].
	CallerTTL time.Duration
	Log       *slog.Logger
	Now       func() time.Time

	initOnce sync.Once
	usage    *usageWriter
	callers  callerCache
}

func (g *Gateway) init() {
	g.initOnce.Do(func() {
		g.usage = newUsageWriter(g.Store, g.log())
		g.callers.ttl = g.CallerTTL
		if g.callers.ttl == 0 {
			g.callers.ttl = 2 * time.Second
		}
	})
}

// Close writes the usage still queued. Call it after the HTTP server drained.
func (g *Gateway) Close(ctx context.Context) error {
	g.init()
	return g.usage.close(ctx)
}

// Flush writes the usage records queued so far and returns once they are
// stored: for tests and operators' tools that read usage right after a call.
func (g *Gateway) Flush(ctx context.Context) error {
	g.init()
	return g.usage.sync(ctx)
}

// ForgetCaller drops a caller's cached account after a change on this node
// (a plan change, a BYOK key set or removed).
func (g *Gateway) ForgetCaller(userID string) { g.callers.forget(userID) }

// Routes are the gateway's own endpoints. Calls are public at the route:
// a machine payment needs no account, and the payment step decides.
func (g *Gateway) Routes() []route.Route {
	g.init()
	return []route.Route{
		{Method: http.MethodPost, Path: "/api/v1/gateway", Handler: g.call, Access: route.Public, Streams: true,
			Request: callRequest{Plugin: "generate-text", Messages: []chatMessage{{Role: "user", Content: "Write a tour announcement"}}},
			Response: callAnswer{Plugin: "generate-text",
				Result:    json.RawMessage(`{"message":{"role":"assistant","content":"We're on the road this spring…"},"model":"gpt-4o-mini"}`),
				Timestamp: "2026-01-01T12:00:00.123456789Z", Payment: paymentDoc{Method: "stripe"}},
			Accepts: route.Payment, Relays: true, Query: callHeaders,
			Errors: []api.Code{api.CodeInvalidPluginID, api.CodeInvalidFieldType, api.CodeUnknownPlugin, api.CodeInvalidPaymentMethod, api.CodePaymentMethodUnavailable, api.CodePluginError, api.CodePluginTimeout, api.CodePluginUnavailable, api.CodeInvalidIdempotencyKey, api.CodeIdempotencyInProgress, api.CodeIdempotencyKeyReused,
				api.CodeSkillCrashed, api.CodeSkillTimeout, api.CodeSkillBadOutput, api.CodeSkillFailed,
				api.CodeSkillOutputTooLarge, api.CodeSkillHostCallLimit},
			Summary: "calls a provider capability or skill (`X-Plugin-Id` or `plugin`); priced ids are paid by a subscription, credits or a machine payment (MPP or x402, no account needed)"},
		{Method: http.MethodGet, Path: "/api/v1/gateway", Handler: g.list, Access: route.Public,
			Response: listAnswer{},
			Summary:  "the ids, their prices, whether they stream, and the accepted payment methods"},
	}
}

func (g *Gateway) now() time.Time {
	if g.Now != nil {
		return g.Now().UTC()
	}
	return time.Now().UTC()
}

func (g *Gateway) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

func (g *Gateway) keepAlive() time.Duration {
	if g.KeepAlive > 0 {
		return g.KeepAlive
	}
	return 10 * time.Second
}

// resolve finds the dispatcher serving id.
func (g *Gateway) resolve(ctx context.Context, id string) (Dispatcher, Target, bool, error) {
	for _, d := range g.Dispatchers {
		t, ok, err := d.Target(ctx, id)
		if err != nil {
			return nil, Target{}, false, err
		}
		if ok {
			return d, t, true, nil
		}
	}
	return nil, Target{}, false, nil
}

// price is what a call of t costs the caller, in micro-USD.
func (g *Gateway) price(t Target) int64 {
	if p, ok := g.Prices[t.ID]; ok {
		return p
	}
	return t.PriceMicroUSD
}

// DefaultPrices are the seed's per-call prices in micro-USD (CONTRACT §6).
func DefaultPrices() map[string]int64 {
	return map[string]int64{"agent": 50_000, "generate-text": 10_000, "tts": 30_000, "stt": 20_000}
}

// flush pushes buffered bytes to the client. Only streams flush, so it also
// moves the stream's deadlines (api.StreamDeadline).
func flush(w http.ResponseWriter) {
	api.StreamDeadline(w)
	_ = http.NewResponseController(w).Flush()
}
