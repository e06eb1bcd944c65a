package live

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agentbot/gateway/core/api"
)

// The instance tokens of the tests: 64 hex characters, as real ones.
const (
	tokA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tokB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// tokens grants tokA on agent-a (user u1) and tokB on agent-b (user u2).
type tokens struct{ calls atomic.Int64 }

func (t *tokens) Resolve(_ context.Context, agentID, token string) (Principal, error) {
	t.calls.Add(1)
	grants := map[string]Principal{tokA: {UserID: "u1", AgentID: "agent-a"}, tokB: {UserID: "u2", AgentID: "agent-b"}}
	p, ok := grants[token]
	if !ok || p.AgentID != agentID {
		return Principal{}, ErrTokenInvalid
	}
	return p, nil
}

type chatCall struct {
	ctx            context.Context
	p              Principal
	message, topic string
}

// chatter records chats; each returns what the test sends on its reply
// channel (blocking until then), or ctx's error.
type chatter struct {
	calls chan chatCall
	reply chan error
}

func newChatter() *chatter {
	return &chatter{calls: make(chan chatCall, 16), reply: make(chan error, 16)}
}

func (c *chatter) Chat(ctx context.Context, p Principal, message, topic string) error {
	c.calls <- chatCall{ctx, p, message, topic}
	select {
	case err := <-c.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

type env struct {
	srv  *Server
	hub  Hub
	chat *chatter
	tok  *tokens
	ts   *httptest.Server
}

// newEnv serves a Server on hub at /agents/{id}/live, rendering errors as
// the API adapter does, after applying configure to the HTTP server. It is
// closed when the test ends.
func newEnv(t *testing.T, hub Hub, lim Limits, configure ...func(*http.Server)) *env {
	t.Helper()
	e := &env{hub: hub, chat: newChatter(), tok: &tokens{}}
	var err error
	e.srv, err = New(Config{Hub: hub, Tokens: e.tok, Chatter: e.chat, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/agents/{id}/live", func(w http.ResponseWriter, r *http.Request) {
		if err := e.srv.Handle(w, r, r.PathValue("id")); err != nil {
			api.Adapter{}.Render(w, r, err)
		}
	})
	e.ts = httptest.NewUnstartedServer(mux)
	for _, f := range configure {
		f(e.ts.Config)
	}
	e.ts.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		e.ts.Close()
	})
	return e
}

func (e *env) url(agentID string) string {
	return "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/agents/" + agentID + "/live"
}

// dial opens agent's socket with tok as a bearer token and reads the
// connected frame.
func (e *env) dial(t *testing.T, agentID, tok string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(ctx(t), e.url(agentID), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}},
	})
	if err != nil {
		t.Fatalf("Dial(%s) = %v (status %v)", agentID, err, status(resp))
	}
	t.Cleanup(func() { c.CloseNow() })
	if f := read(t, c); f["type"] != "connected" || f["agentId"] != agentID {
		t.Fatalf("first frame = %v; want connected to %s", f, agentID)
	}
	return c
}

func status(r *http.Response) any {
	if r == nil {
		return nil
	}
	return r.StatusCode
}

// ctx bounds one step of a test, so that a broken feature fails instead of
// hanging; no assertion depends on it.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func read(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	_, b, err := c.Read(ctx(t))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %q is not JSON: %v", b, err)
	}
	return f
}

func send(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	if err := c.Write(ctx(t), websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("Write(%s): %v", frame, err)
	}
}

// closedWith reads until the connection ends and returns its close status.
func closedWith(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	for {
		_, _, err := c.Read(ctx(t))
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("the connection stayed open")
			}
			return websocket.CloseStatus(err)
		}
	}
}

// waitFor polls cond until it holds (a state, not a duration, is awaited).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitNoGoroutines waits until no goroutine runs code of this package's
// types, of the WebSocket library or of a Redis pub/sub, and fails with
// their stacks otherwise.
func waitNoGoroutines(t *testing.T) {
	t.Helper()
	var left []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		left = left[:0]
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for i, g := range strings.Split(string(buf), "\n\n") {
			if i == 0 { // this goroutine
				continue
			}
			if strings.Contains(g, "agents/live.(*") || strings.Contains(g, "github.com/coder/websocket.") ||
				strings.Contains(g, "go-redis/v9.(*PubSub)") || strings.Contains(g, "go-redis/v9.(*channel)") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// open counts the sockets this server is serving.
func (s *Server) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// stubHub hands out channels the test feeds, to drive a socket's end of
// stream.
type stubHub struct{ subs chan chan []byte }

func (h *stubHub) Publish(context.Context, string, []byte) error { return nil }

func (h *stubHub) Subscribe(context.Context, string) (<-chan []byte, func(), error) {
	ch := make(chan []byte, 8)
	h.subs <- ch
	return ch, func() {}, nil
}
