package live

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agentbot/gateway/core/api"
)

// Events published for the agent reach its socket after "connected", in
// order; another agent's events do not.
func TestEventsReachSocket(t *testing.T) {
	hub := NewMemoryHub()
	e := newEnv(t, hub, Limits{})
	c := e.dial(t, "agent-a", tokA)
	publish(t, hub, "agent-b", `{"type":"message.delta","text":"not yours"}`)
	for i := range 3 {
		publish(t, hub, "agent-a", fmt.Sprintf(`{"type":"message.delta","n":%d}`, i))
	}
	for i := range 3 {
		if f := read(t, c); f["type"] != "message.delta" || f["n"] != float64(i) {
			t.Fatalf("frame %d = %v; want message.delta n=%d", i, f, i)
		}
	}
}

func publish(t *testing.T, h Hub, agentID, ev string) {
	t.Helper()
	if err := h.Publish(ctx(t), agentID, []byte(ev)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// A chat frame reaches the Chatter with the token's principal; pings are
// answered; malformed and unknown frames get error frames and the socket
// stays open.
func TestChatFrames(t *testing.T) {
	e := newEnv(t, NewMemoryHub(), Limits{})
	c := e.dial(t, "agent-b", tokB)

	send(t, c, `{"type":"chat","message":"hello","topic":"greetings"}`)
	call := <-e.chat.calls
	if want := (Principal{UserID: "u2", AgentID: "agent-b"}); call.p != want || call.message != "hello" || call.topic != "greetings" {
		t.Errorf("Chat(%+v, %q, %q); want (%+v, hello, greetings)", call.p, call.message, call.topic, want)
	}
	e.chat.reply <- nil

	for _, tc := range []struct{ frame, typ, code string }{
		{`{"type":"ping"}`, "pong", ""},
		{`not json`, "error", string(api.CodeInvalidJSON)},
		{`{"type":"dance"}`, "error", string(api.CodeValidationError)},
		{`{"type":"chat","message":"  "}`, "error", string(api.CodeValidationError)},
		{`null`, "error", string(api.CodeValidationError)},
	} {
		send(t, c, tc.frame)
		f := read(t, c)
		if f["type"] != tc.typ || (tc.code != "" && (f["code"] != tc.code || f["error"] == "")) {
			t.Errorf("reply to %s = %v; want type %s code %q", tc.frame, f, tc.typ, tc.code)
		}
	}
}

// One chat runs at a time on a socket: a second is refused BUSY; when the
// first ends (here with an error, sent as a frame) the next is accepted.
func TestBusy(t *testing.T) {
	e := newEnv(t, NewMemoryHub(), Limits{})
	c := e.dial(t, "agent-a", tokA)
	send(t, c, `{"type":"chat","message":"one"}`)
	<-e.chat.calls
	send(t, c, `{"type":"chat","message":"two"}`)
	if f := read(t, c); f["type"] != "error" || f["code"] != string(api.CodeBusy) {
		t.Fatalf("reply to a second chat = %v; want error BUSY", f)
	}
	e.chat.reply <- api.CodePluginUnavailable.Err()
	if f := read(t, c); f["type"] != "error" || f["code"] != string(api.CodePluginUnavailable) || f["error"] != api.CodePluginUnavailable.Message() {
		t.Fatalf("frame after a failed chat = %v; want its error", f)
	}
	send(t, c, `{"type":"chat","message":"three"}`)
	if call := <-e.chat.calls; call.message != "three" {
		t.Errorf("Chat(%q); want three", call.message)
	}
	e.chat.reply <- errors.New("database on fire")
	if f := read(t, c); f["code"] != string(api.CodeInternal) || strings.Contains(fmt.Sprint(f["error"]), "fire") {
		t.Errorf("frame after an internal failure = %v; want INTERNAL without the cause", f)
	}
}

// A Chatter that panics costs the client an INTERNAL frame, not the process.
func TestChatPanic(t *testing.T) {
	e := newEnv(t, NewMemoryHub(), Limits{})
	e.srv.chatter = panicker{}
	c := e.dial(t, "agent-a", tokA)
	send(t, c, `{"type":"chat","message":"boom"}`)
	if f := read(t, c); f["code"] != string(api.CodeInternal) {
		t.Errorf("frame = %v; want INTERNAL", f)
	}
}

type panicker struct{}

func (panicker) Chat(context.Context, Principal, string, string) error { panic("boom") }

// Frames beyond the per-socket rate are refused with RATE_LIMITED; the
// socket stays open and keeps forwarding events.
func TestInboundRate(t *testing.T) {
	hub := NewMemoryHub()
	// Three an hour: none is refilled while the test runs.
	e := newEnv(t, hub, Limits{Frames: 3, FrameWindow: time.Hour})
	c := e.dial(t, "agent-a", tokA)
	for i := range 3 {
		send(t, c, `{"type":"ping"}`)
		if f := read(t, c); f["type"] != "pong" {
			t.Fatalf("reply to ping %d = %v; want pong", i, f)
		}
	}
	send(t, c, `{"type":"chat","message":"one too many"}`)
	if f := read(t, c); f["type"] != "error" || f["code"] != string(api.CodeRateLimited) {
		t.Fatalf("reply to the fourth frame = %v; want error RATE_LIMITED", f)
	}
	publish(t, hub, "agent-a", `{"type":"run.finished"}`)
	if f := read(t, c); f["type"] != "run.finished" {
		t.Errorf("frame = %v; want the event", f)
	}
	select {
	case call := <-e.chat.calls:
		t.Errorf("a refused chat reached the Chatter: %+v", call)
	default:
	}
}

func TestBucket(t *testing.T) {
	t0 := time.Unix(0, 0)
	b := newBucket(30, time.Minute, t0)
	for i := range 30 {
		if !b.take(t0) {
			t.Fatalf("take %d refused; want 30 at once", i)
		}
	}
	if b.take(t0) {
		t.Fatal("take 31 allowed")
	}
	if !b.take(t0.Add(2*time.Second)) || b.take(t0.Add(2*time.Second)) {
		t.Error("after 2 s one frame (30/min) should be allowed, and only one")
	}
	if b.take(t0.Add(time.Second)) { // a clock going back refills nothing
		t.Error("a clock going back refilled the bucket")
	}
}

// A frame up to MaxFrame is taken; a larger one closes the socket with
// StatusMessageTooBig.
func TestFrameLimit(t *testing.T) {
	e := newEnv(t, NewMemoryHub(), Limits{})
	c := e.dial(t, "agent-a", tokA)
	head, tail := `{"type":"chat","message":"`, `"}`
	exact := head + strings.Repeat("x", 64<<10-len(head)-len(tail)) + tail
	send(t, c, exact)
	if call := <-e.chat.calls; len(call.message) != 64<<10-len(head)-len(tail) {
		t.Fatalf("message of %d bytes; want the whole 64 KiB frame's", len(call.message))
	}
	e.chat.reply <- nil
	send(t, c, head+strings.Repeat("x", 64<<10)+tail)
	if got := closedWith(t, c); got != websocket.StatusMessageTooBig {
		t.Errorf("close status = %v; want StatusMessageTooBig", got)
	}
	waitFor(t, "the socket to end", func() bool { return e.srv.open() == 0 })
}

// When the hub drops a subscriber, its client gets the marker and the socket
// closes with StatusTryAgainLater, telling it to reconnect.
func TestDroppedSocketCloses(t *testing.T) {
	hub := &stubHub{subs: make(chan chan []byte, 1)}
	e := newEnv(t, hub, Limits{})
	c := e.dial(t, "agent-a", tokA)
	ch := <-hub.subs
	ch <- []byte(`{"type":"message.delta"}`)
	ch <- []byte(DroppedEvent)
	close(ch)
	if f := read(t, c); f["type"] != "message.delta" {
		t.Fatalf("frame = %v; want the event", f)
	}
	if f := read(t, c); f["type"] != "events.dropped" {
		t.Fatalf("frame = %v; want events.dropped", f)
	}
	if got := closedWith(t, c); got != websocket.StatusTryAgainLater {
		t.Errorf("close status = %v; want StatusTryAgainLater", got)
	}
}

// A peer that stops answering pings is dropped.
func TestDeadPeerDropped(t *testing.T) {
	e := newEnv(t, NewMemoryHub(), Limits{Keepalive: 20 * time.Millisecond, WriteTimeout: 50 * time.Millisecond})
	c := e.dial(t, "agent-a", tokA)
	// Reading answers pings: while the client reads, the socket lives on.
	send(t, c, `{"type":"ping"}`)
	read(t, c)
	// A client that no longer reads answers no ping.
	waitFor(t, "the silent peer to be dropped", func() bool { return e.srv.open() == 0 })
}

// Close ends every socket with StatusGoingAway, cancels running chats,
// refuses new sockets, and leaves no goroutine behind.
func TestShutdown(t *testing.T) {
	e := newEnv(t, NewMemoryHub(), Limits{})
	conns := []*websocket.Conn{e.dial(t, "agent-a", tokA), e.dial(t, "agent-a", tokA), e.dial(t, "agent-b", tokB)}
	send(t, conns[0], `{"type":"chat","message":"long run"}`)
	call := <-e.chat.calls

	closed := make(chan websocket.StatusCode, len(conns))
	for _, c := range conns {
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					closed <- websocket.CloseStatus(err)
					return
				}
			}
		}()
	}
	if err := e.srv.Close(ctx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range conns {
		if got := <-closed; got != websocket.StatusGoingAway {
			t.Errorf("close status = %v; want StatusGoingAway", got)
		}
	}
	if call.ctx.Err() == nil {
		t.Error("the running chat's context is still live after Close")
	}
	_, resp, err := websocket.Dial(ctx(t), e.url("agent-a")+"?token="+tokA, nil)
	if err == nil {
		t.Fatal("a socket opened after Close")
	}
	checkJSONError(t, resp, 503, api.CodeShuttingDown)
	waitNoGoroutines(t)
}

// Two nodes on one Redis: an event published on node A reaches a socket
// served by node B; closing node B's server and hub leaves no goroutine.
func TestSocketAcrossNodes(t *testing.T) {
	a, b := redisPair(t)
	e := newEnv(t, b, Limits{})
	c := e.dial(t, "agent-a", tokA)
	publish(t, a, "agent-a", `{"type":"tool.call","name":"search"}`)
	if f := read(t, c); f["type"] != "tool.call" || f["name"] != "search" {
		t.Fatalf("frame = %v; want the event published on the other node", f)
	}
	// The client reads while the server closes, to answer the close
	// handshake, as any live client does.
	closed := make(chan websocket.StatusCode, 1)
	go func() {
		_, _, err := c.Read(context.Background())
		closed <- websocket.CloseStatus(err)
	}()
	if err := e.srv.Close(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := <-closed; got != websocket.StatusGoingAway {
		t.Errorf("close status = %v; want StatusGoingAway", got)
	}
	for _, h := range []*RedisHub{a, b} {
		if err := h.Close(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	waitNoGoroutines(t)
}
