package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/sdk/provider"
)

// wait bounds every blocking step of a test; it is a safety net, never a way
// to order events.
const wait = 10 * time.Second

// behavior is how the fake dispatcher answers one gateway id.
type behavior struct {
	output json.RawMessage
	usage  provider.Usage
	perr   *provider.Error
	err    error
	// block, if set, runs first in Invoke; an error it returns is Invoke's.
	block func(ctx context.Context) error
	// stream runs a streaming call; nil sends one {"delta":"ok"} chunk.
	stream func(ctx context.Context, send func(*provider.Chunk) error) error
}

// invocation is one call the fake dispatcher received.
type invocation struct {
	Method string // "Invoke" or "InvokeStream"
	Req    *provider.InvokeRequest
}

// fakeDispatcher serves configurable ids and records what it was asked.
type fakeDispatcher struct {
	mu        sync.Mutex
	lookupErr error // Target's and Targets' answer when set (a catalogue that cannot answer)
	targets   map[string]gateway.Target
	behaviors map[string]behavior
	calls     []invocation
}

func newFakeDispatcher() *fakeDispatcher {
	d := &fakeDispatcher{targets: map[string]gateway.Target{}, behaviors: map[string]behavior{}}
	for _, t := range []gateway.Target{
		{ID: "generate-text", Streaming: true, PriceMicroUSD: 1},
		{ID: "agent", PriceMicroUSD: 1},
		{ID: "tts", PriceMicroUSD: 999}, // configuration (30000) wins
		{ID: "free-thing"},
		{ID: "skill:haiku", PriceMicroUSD: 250_000}, // not configured: its own price
	} {
		d.targets[t.ID] = t
		d.behaviors[t.ID] = behavior{output: json.RawMessage(`{"ok":true}`)}
	}
	return d
}

// set replaces the behavior of id.
func (d *fakeDispatcher) set(id string, b behavior) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.behaviors[id] = b
}

func (d *fakeDispatcher) Target(ctx context.Context, id string) (gateway.Target, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lookupErr != nil {
		return gateway.Target{}, false, d.lookupErr
	}
	t, ok := d.targets[id]
	return t, ok, ctx.Err()
}

func (d *fakeDispatcher) Targets(ctx context.Context) ([]gateway.Target, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lookupErr != nil {
		return nil, d.lookupErr
	}
	var out []gateway.Target
	for _, t := range d.targets {
		out = append(out, t)
	}
	return out, ctx.Err()
}

func (d *fakeDispatcher) record(method string, req *provider.InvokeRequest) behavior {
	d.mu.Lock()
	defer d.mu.Unlock()
	cp := *req
	cp.Input = append(json.RawMessage(nil), req.Input...)
	d.calls = append(d.calls, invocation{Method: method, Req: &cp})
	return d.behaviors[req.Capability]
}

func (d *fakeDispatcher) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	b := d.record("Invoke", req)
	if b.block != nil {
		if err := b.block(ctx); err != nil {
			return nil, err
		}
	}
	if b.err != nil {
		return nil, b.err
	}
	return &provider.InvokeResponse{Output: b.output, Usage: b.usage, Error: b.perr}, nil
}

func (d *fakeDispatcher) InvokeStream(ctx context.Context, req *provider.InvokeRequest, fn func(*provider.Chunk) error) error {
	b := d.record("InvokeStream", req)
	if b.stream != nil {
		return b.stream(ctx, fn)
	}
	if b.err != nil {
		return b.err
	}
	return fn(&provider.Chunk{Data: json.RawMessage(`{"delta":"ok"}`)})
}

// count is how many calls the dispatcher received.
func (d *fakeDispatcher) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.calls)
}

// last is the most recent call; the test fails if there is none.
func (d *fakeDispatcher) last(t *testing.T) invocation {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.calls) == 0 {
		t.Fatal("the dispatcher was not called")
	}
	return d.calls[len(d.calls)-1]
}

// chunks is a stream behavior sending cs in order.
func chunks(cs ...*provider.Chunk) func(context.Context, func(*provider.Chunk) error) error {
	return func(_ context.Context, send func(*provider.Chunk) error) error {
		for _, c := range cs {
			if err := send(c); err != nil {
				return err
			}
		}
		return nil
	}
}

func data(s string) *provider.Chunk { return &provider.Chunk{Data: json.RawMessage(s)} }

// await blocks until ch is closed or receives, or until ctx ends; it is how
// fakes wait for the test's go-ahead.
func await(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return errors.New("fake: the test never released the call")
	}
}

// forwardCall is one request the fake forwarder received.
type forwardCall struct {
	Plugin string
	Req    *provider.HTTPRequest
}

// fakeForwarder answers routes with a configurable handler and records requests.
type fakeForwarder struct {
	mu     sync.Mutex
	calls  []forwardCall
	handle func(ctx context.Context, req *provider.HTTPRequest, fn func(*provider.HTTPResponsePart) error) error
}

func (f *fakeForwarder) setHandle(h func(ctx context.Context, req *provider.HTTPRequest, fn func(*provider.HTTPResponsePart) error) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handle = h
}

func (f *fakeForwarder) HandleHTTP(ctx context.Context, plugin string, req *provider.HTTPRequest, fn func(*provider.HTTPResponsePart) error) error {
	f.mu.Lock()
	f.calls = append(f.calls, forwardCall{Plugin: plugin, Req: req})
	h := f.handle
	f.mu.Unlock()
	if h == nil {
		return fn(&provider.HTTPResponsePart{Status: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: []byte("ok")})
	}
	return h(ctx, req, fn)
}

func (f *fakeForwarder) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeForwarder) last(t *testing.T) forwardCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("the forwarder was not called")
	}
	return f.calls[len(f.calls)-1]
}

// parts is a forwarder handler answering with ps in order.
func parts(ps ...*provider.HTTPResponsePart) func(context.Context, *provider.HTTPRequest, func(*provider.HTTPResponsePart) error) error {
	return func(_ context.Context, _ *provider.HTTPRequest, fn func(*provider.HTTPResponsePart) error) error {
		for _, p := range ps {
			if err := fn(p); err != nil {
				return err
			}
		}
		return nil
	}
}

// tickingClock makes a gateway's clock advance a second per reading, so that
// usage events sort in call order.
func tickingClock(g *gateway.Gateway) {
	var tick atomic.Int64
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	g.Now = func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Second) }
}

// tenv is the core server with a gateway mounted over fakes.
type tenv struct {
	*servertest.Env
	g *gateway.Gateway
	d *fakeDispatcher
	f *fakeForwarder
	// routes are the gateway's entries the server was built with.
	routes []route.Route
}

// serveGateway starts a server on backend with a gateway that build makes
// from the core's parts, serving its routes (and, with fwd, the
// OpenAI-compatible surface) plus extra's. The gateway is closed, writing its
// usage queue, before the store.
func serveGateway(t testing.TB, backend string, vars map[string]string, fwd gateway.RouteForwarder,
	build func(*server.Server) *gateway.Gateway, extra ...func(*gateway.Gateway) []route.Route) (*servertest.Env, *gateway.Gateway, []route.Route) {
	t.Helper()
	var (
		g  *gateway.Gateway
		rs []route.Route
	)
	se := servertest.New(t, backend, vars, func(srv *server.Server) ([]route.Route, error) {
		g = build(srv)
		t.Cleanup(func() {
			if err := g.Close(context.Background()); err != nil {
				t.Errorf("gateway close: %v", err)
			}
		})
		rs = g.Routes()
		if fwd != nil {
			rs = append(rs, g.OpenAIRoutes(fwd, "ai")...)
		}
		for _, x := range extra {
			rs = append(rs, x(g)...)
		}
		return rs, nil
	})
	return se, g, rs
}

const adminEmail = "admin@example.com"

// newEnv starts the core server on SQLite and mounts a gateway with a fake
// dispatcher and forwarder; opts adjust the gateway before it is mounted.
func newEnv(t *testing.T, opts ...func(*gateway.Gateway)) *tenv {
	t.Helper()
	return newEnvVars(t, nil, opts...)
}

// newEnvVars is newEnv with more configuration variables.
func newEnvVars(t *testing.T, vars map[string]string, opts ...func(*gateway.Gateway)) *tenv {
	t.Helper()
	return newEnvWith(t, vars, nil, opts...)
}

// newEnvWith is newEnvVars serving extra's routes too.
func newEnvWith(t *testing.T, vars map[string]string, extra func(*gateway.Gateway, *fakeForwarder) []route.Route,
	opts ...func(*gateway.Gateway)) *tenv {
	t.Helper()
	all := map[string]string{
		"ADMIN_EMAILS":         adminEmail,
		"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/v1/gateway=100000-M",
	}
	maps.Copy(all, vars)
	d := newFakeDispatcher()
	f := &fakeForwarder{}
	var more []func(*gateway.Gateway) []route.Route
	if extra != nil {
		more = append(more, func(g *gateway.Gateway) []route.Route { return extra(g, f) })
	}
	se, g, rs := serveGateway(t, "sqlite", all, f, func(srv *server.Server) *gateway.Gateway {
		prices := gateway.DefaultPrices()
		prices["free-thing"] = 0
		g := &gateway.Gateway{Store: srv.Store, Dispatchers: []gateway.Dispatcher{d}, Payer: payments.Subscription{},
			Prices: prices, KeepAlive: 30 * time.Millisecond, Log: srv.Log}
		for _, o := range opts {
			o(g)
		}
		return g
	}, more...)
	return &tenv{Env: se, g: g, d: d, f: f, routes: rs}
}

// user signs up email, gives them plan ("" for none) and returns a client
// authenticating with a fresh API key, and the user's id.
func (e *tenv) user(t *testing.T, email, plan string) (*servertest.Client, string) {
	t.Helper()
	c := e.Client(t)
	uid, csrf := c.SignUp(email, "password-"+email)
	if plan != "" {
		if err := e.Store.SetSubscription(context.Background(), uid, plan, "active"); err != nil {
			t.Fatal(err)
		}
	}
	key := c.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", csrf).Expect(t, 201, "").Str("key")
	kc := e.Client(t)
	kc.Header.Set("Authorization", "Bearer "+key)
	return kc, uid
}

// usage closes the gateway (writing queued usage) and returns uid's events.
func (e *tenv) usage(t *testing.T, uid string) []store.UsageEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	events, err := e.Store.Usage(ctx, uid, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// waitUsage polls uid's usage until it has n events, for calls whose handler
// may still be running when the client has its answer (a disconnect).
func (e *tenv) waitUsage(t *testing.T, uid string, n int) []store.UsageEvent {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		// A call's record is queued when its response ends, which the
		// client may see first: flush, read, and ask again until it is there.
		if err := e.g.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		events, err := e.Store.Usage(context.Background(), uid, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) >= n || time.Now().After(deadline) {
			return events
		}
		time.Sleep(2 * time.Millisecond) // the poll's pace, not a synchronisation
	}
}

// sseEvent is one server-sent event, or a comment line.
type sseEvent struct {
	Comment string
	Event   string
	Data    string
}

// sseStream reads a response's events on a goroutine so that every read can
// be bounded.
type sseStream struct {
	Resp   *http.Response
	Body   []byte // a non-stream response's body
	cancel context.CancelFunc
	events chan sseEvent
}

// open sends a request as c would and returns the response with its events
// being read. The request is canceled at the end of the test, or by cancel.
func (e *tenv) open(t *testing.T, c *servertest.Client, method, path string, body any, headers ...string) *sseStream {
	t.Helper()
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, method, e.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	s := &sseStream{Resp: resp, cancel: cancel, events: make(chan sseEvent, 64)}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// Not a stream: keep the whole body.
		s.Body, _ = io.ReadAll(resp.Body)
		close(s.events)
		return s
	}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var cur sseEvent
		var has bool
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if has {
					s.events <- cur
				}
				cur, has = sseEvent{}, false
			case strings.HasPrefix(line, ":"):
				s.events <- sseEvent{Comment: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "event:"):
				cur.Event, has = strings.TrimSpace(line[len("event:"):]), true
			case strings.HasPrefix(line, "data:"):
				d := strings.TrimPrefix(line[len("data:"):], " ")
				if cur.Data != "" {
					d = cur.Data + "\n" + d
				}
				cur.Data, has = d, true
			default:
				s.events <- sseEvent{Comment: "UNEXPECTED LINE " + line}
			}
		}
		if has {
			s.events <- cur
		}
	}()
	return s
}

// next returns the next event or comment.
func (s *sseStream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended early")
		}
		return ev
	case <-time.After(wait):
		t.Fatal("timed out waiting for an event")
	}
	return sseEvent{}
}

// nextEvent skips keepalive comments and returns the next event.
func (s *sseStream) nextEvent(t *testing.T) sseEvent {
	t.Helper()
	for {
		ev := s.next(t)
		if ev.Comment == "keepalive" {
			continue
		}
		if ev.Comment != "" {
			t.Fatalf("unexpected comment %q", ev.Comment)
		}
		return ev
	}
}

// end fails unless the stream ends with no further events.
func (s *sseStream) end(t *testing.T) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			t.Fatalf("got %+v; want the end of the stream", ev)
		}
	case <-time.After(wait):
		t.Fatal("timed out waiting for the stream to end")
	}
}

// jsonMap decodes s into a map, failing the test otherwise.
func jsonMap(t *testing.T, s []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(s, &m); err != nil {
		t.Fatalf("%q is not a JSON object: %v", s, err)
	}
	return m
}

// sameJSON reports whether got and want are equal JSON values.
func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}
