package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agentbot/gateway/core/api"
)

// A request without a valid token is refused with a JSON error before any
// upgrade: nothing is subscribed, no socket opens.
func TestRefusedBeforeUpgrade(t *testing.T) {
	hub := NewMemoryHub()
	e := newEnv(t, hub, Limits{})
	for _, tc := range []struct {
		name   string
		agent  string
		header http.Header
		query  string
		protos []string
		status int
		code   api.Code
	}{
		{"no token", "agent-a", nil, "", nil, 401, api.CodeInstanceTokenInvalid},
		{"wrong token", "agent-a", http.Header{"Authorization": {"Bearer " + strings.Repeat("c", 64)}}, "", nil, 401, api.CodeInstanceTokenInvalid},
		{"another agent's token", "agent-a", http.Header{"Authorization": {"Bearer " + tokB}}, "", nil, 401, api.CodeInstanceTokenInvalid},
		{"unknown agent", "agent-x", http.Header{"Authorization": {"Bearer " + tokA}}, "", nil, 401, api.CodeInstanceTokenInvalid},
		{"wrong query token", "agent-a", nil, "?token=" + tokB, nil, 401, api.CodeInstanceTokenInvalid},
		{"wrong subprotocol token", "agent-a", nil, "", []string{SubprotocolPrefix + tokB}, 401, api.CodeInstanceTokenInvalid},
		{"two different tokens", "agent-a", http.Header{"Authorization": {"Bearer " + tokA}}, "?token=" + tokB, nil, 401, api.CodeInstanceTokenInvalid},
		{"basic auth is no token", "agent-a", http.Header{"Authorization": {"Basic " + tokA}}, "", nil, 401, api.CodeInstanceTokenInvalid},
		{"oversized token", "agent-a", nil, "?token=" + strings.Repeat("a", 1000), nil, 401, api.CodeInstanceTokenInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := websocket.Dial(ctx(t), e.url(tc.agent)+tc.query, &websocket.DialOptions{HTTPHeader: tc.header, Subprotocols: tc.protos})
			if err == nil {
				c.CloseNow()
				t.Fatal("Dial succeeded; want a refusal")
			}
			checkJSONError(t, resp, tc.status, tc.code)
			if n := hub.subscribers(tc.agent); n != 0 {
				t.Errorf("%d subscribers after a refusal; want 0", n)
			}
		})
	}
	if e.srv.open() != 0 {
		t.Errorf("%d sockets open after refusals", e.srv.open())
	}
	select {
	case c := <-e.chat.calls:
		t.Errorf("Chat called with %+v", c)
	default:
	}
}

// Requests that are no WebSocket handshake get a JSON 426 and never reach
// the token resolver.
func TestNotAWebSocket(t *testing.T) {
	e := newEnv(t, NewMemoryHub(), Limits{})
	for _, tc := range []struct {
		name    string
		header  http.Header
		version string
	}{
		{"plain GET", http.Header{"Authorization": {"Bearer " + tokA}}, ""},
		{"version 8", http.Header{"Authorization": {"Bearer " + tokA}, "Connection": {"Upgrade"}, "Upgrade": {"websocket"},
			"Sec-Websocket-Version": {"8"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}, "13"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, e.ts.URL+"/agents/agent-a/live", nil)
			req.Header = tc.header
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			checkJSONError(t, resp, http.StatusUpgradeRequired, api.CodeUpgradeRequired)
			if got := resp.Header.Get("Sec-WebSocket-Version"); got != tc.version {
				t.Errorf("Sec-WebSocket-Version = %q; want %q", got, tc.version)
			}
		})
	}
	if n := e.tok.calls.Load(); n != 0 {
		t.Errorf("the resolver was asked %d times; want 0", n)
	}
}

func checkJSONError(t *testing.T, resp *http.Response, status int, code api.Code) {
	t.Helper()
	if resp == nil {
		t.Fatal("no response")
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Errorf("status = %d; want %d", resp.StatusCode, status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q; want JSON", ct)
	}
	b, _ := io.ReadAll(resp.Body)
	var body struct {
		Error string
		Code  api.Code
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Code != code || body.Error == "" {
		t.Errorf("body = %s; want a JSON error with code %s", b, code)
	}
}

// The token is accepted from each of its three carriers; a subprotocol
// carrying it is echoed, as browsers require.
func TestTokenCarriers(t *testing.T) {
	e := newEnv(t, NewMemoryHub(), Limits{})
	for _, tc := range []struct {
		name  string
		query string
		opts  websocket.DialOptions
		proto string
	}{
		{"authorization header", "", websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tokA}}}, ""},
		{"lower-case bearer", "", websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"bearer " + tokA}}}, ""},
		{"query parameter", "?token=" + tokA, websocket.DialOptions{}, ""},
		{"subprotocol", "", websocket.DialOptions{Subprotocols: []string{"agentbot.live", SubprotocolPrefix + tokA}}, SubprotocolPrefix + tokA},
		{"same token twice", "?token=" + tokA, websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tokA}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := websocket.Dial(ctx(t), e.url("agent-a")+tc.query, &tc.opts)
			if err != nil {
				t.Fatalf("Dial = %v (status %v)", err, status(resp))
			}
			defer c.CloseNow()
			if c.Subprotocol() != tc.proto {
				t.Errorf("Subprotocol() = %q; want %q", c.Subprotocol(), tc.proto)
			}
			if f := read(t, c); f["type"] != "connected" || f["agentId"] != "agent-a" {
				t.Errorf("first frame = %v; want connected to agent-a", f)
			}
		})
	}
}

// Sockets of one agent on one node are bounded; the bound frees as sockets
// close, and other agents are not counted against it.
func TestSocketsPerAgent(t *testing.T) {
	e := newEnv(t, NewMemoryHub(), Limits{SocketsPerAgent: 2})
	first := e.dial(t, "agent-a", tokA)
	e.dial(t, "agent-a", tokA)
	_, resp, err := websocket.Dial(ctx(t), e.url("agent-a")+"?token="+tokA, nil)
	if err == nil {
		t.Fatal("a third socket of agent-a was accepted")
	}
	checkJSONError(t, resp, http.StatusTooManyRequests, api.CodeTooManyConnections)
	e.dial(t, "agent-b", tokB)

	first.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the closed socket to be released", func() bool { return e.srv.open() == 2 })
	e.dial(t, "agent-a", tokA)
}

// The server's whole-request deadlines do not reach the socket: with read
// and write timeouts already passed, the handshake and later frames work.
func TestServerDeadlinesLifted(t *testing.T) {
	e := newEnv(t, NewMemoryHub(), Limits{}, func(s *http.Server) {
		s.ReadHeaderTimeout = 10 * time.Second
		s.ReadTimeout = time.Nanosecond // passed before the handler runs
		s.WriteTimeout = time.Nanosecond
	})
	c := e.dial(t, "agent-a", tokA)
	send(t, c, `{"type":"ping"}`)
	if f := read(t, c); f["type"] != "pong" {
		t.Errorf("frame = %v; want pong", f)
	}
}

type tokensFunc func(ctx context.Context, agentID, token string) (Principal, error)

func (f tokensFunc) Resolve(ctx context.Context, agentID, token string) (Principal, error) {
	return f(ctx, agentID, token)
}

// What the resolver says decides the answer: a wrapped ErrTokenInvalid is
// 401, an *api.Error is itself, any other failure a 500 without its cause;
// a principal of another agent opens nothing.
func TestResolverAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      Principal
		err    error
		status int
		code   api.Code
	}{
		{"wrapped invalid", Principal{}, fmt.Errorf("store: %w", ErrTokenInvalid), 401, api.CodeInstanceTokenInvalid},
		{"api error", Principal{}, api.CodeAgentNotFound.Err(), 404, api.CodeAgentNotFound},
		{"failure", Principal{}, errors.New("connection refused"), 500, api.CodeInternal},
		{"another agent", Principal{UserID: "u2", AgentID: "agent-b"}, nil, 401, api.CodeInstanceTokenInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, NewMemoryHub(), Limits{})
			e.srv.tokens = tokensFunc(func(context.Context, string, string) (Principal, error) { return tc.p, tc.err })
			_, resp, err := websocket.Dial(ctx(t), e.url("agent-a")+"?token="+tokA, nil)
			if err == nil {
				t.Fatal("Dial succeeded")
			}
			checkJSONError(t, resp, tc.status, tc.code)
		})
	}
}
