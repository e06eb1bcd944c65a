package discord

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agentbot/gateway/channels"
)

// TestReceiveHostileFrames sends malformed and unexpected payloads on a
// live session: none may panic the driver or cost it the session.
func TestReceiveHostileFrames(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sink := newSink()
	r := f.receive(t, f.binding(), sink)
	waitReady(t, f, sink)

	for _, frame := range []string{
		`null`, `[]`, `"op"`, `{`, `{}`, `{"op":-1}`, `{"op":1e40}`, `{"op":"0"}`, `{"op":99,"d":{}}`,
		`{"op":1}`, `{"op":1,"d":"x"}`,
		`{"op":0}`, `{"op":0,"t":7,"s":1}`, `{"op":0,"t":"READY","s":"x"}`, `{"op":0,"t":"READY","d":null}`,
		`{"op":0,"t":"READY","d":{"session_id":""}}`,
		`{"op":0,"t":"MESSAGE_CREATE","d":null}`, `{"op":0,"t":"MESSAGE_CREATE","d":[]}`,
		`{"op":0,"t":"MESSAGE_CREATE","d":{"id":{},"author":[]}}`,
		`{"op":0,"t":"MESSAGE_CREATE","d":{"id":"1","channel_id":"2","guild_id":"9","author":{"id":"3"},"content":"x","components":[{"type":2}],"mentions":[null,{"id":null}]}}`,
		`{"op":0,"t":"MESSAGE_CREATE","d":{"id":"1","channel_id":"2","author":{"id":"3"},"content":"<@` + f.botID + `>"}}`,
		`{"op":10,"d":{"heartbeat_interval":0}}`, `{"op":10}`,
		`{"op":11,"d":{"x":1}}`,
	} {
		f.srv.SendRaw(f.token, []byte(frame))
	}
	id := f.srv.UserMessage(f.token, "555", "777", "after the noise")
	waitAccepted(t, sink, id)
	if ids := acceptedIDs(sink); len(ids) != 1 {
		t.Errorf("accepted %v; want only %s", ids, id)
	}
	if i, r := f.srv.Identifies(f.token), f.srv.Resumes(f.token); i != 1 || r != 0 {
		t.Errorf("Identifies, Resumes = %d, %d; want 1, 0 (the session survives the noise)", i, r)
	}
	select {
	case err := <-r.done:
		t.Fatalf("Receive returned %v", err)
	default:
	}
}

// hostileGateway is a WebSocket server that sends hello as its first
// frame, then (if the driver identifies) asks for a heartbeat and drops
// the connection once it came. It records what the driver sent.
type hostileGateway struct {
	hello string
	mu    sync.Mutex
	got   []string
}

func (h *hostileGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, []byte(h.hello)); err != nil {
		return
	}
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		h.mu.Lock()
		h.got = append(h.got, string(data))
		h.mu.Unlock()
		var p struct {
			Op int `json:"op"`
		}
		_ = json.Unmarshal(data, &p)
		switch p.Op {
		case 2: // Identify: a heartbeat request before any dispatch.
			_ = ws.Write(ctx, websocket.MessageText, []byte(`{"op":1,"d":null}`))
		case 1:
			return
		}
	}
}

func (h *hostileGateway) frames() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

func TestReceiveHostileHello(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, hello string
		usable      bool
	}{
		{"no interval", `{"op":10,"d":{}}`, false},
		{"zero interval", `{"op":10,"d":{"heartbeat_interval":0}}`, false},
		{"negative interval", `{"op":10,"d":{"heartbeat_interval":-41250}}`, false},
		{"string interval", `{"op":10,"d":{"heartbeat_interval":"41250"}}`, false},
		{"null data", `{"op":10,"d":null}`, false},
		{"huge interval", `{"op":10,"d":{"heartbeat_interval":1e300}}`, true},
		{"tiny interval", `{"op":10,"d":{"heartbeat_interval":1}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &hostileGateway{hello: tc.hello}
			srv := httptest.NewServer(h)
			defer srv.Close()
			d := New(Options{APIURL: "http://127.0.0.1:1", GatewayURL: "ws" + strings.TrimPrefix(srv.URL, "http"), ReconnectDelay: time.Millisecond})
			b := &channels.Binding{Cred: channels.Credential{Token: "a.b.c"}}
			err := d.Receive(ctxT(t), b, newSink())
			wantError(t, "Receive", err, channels.CodeUnavailable, false)
			got := h.frames()
			if !tc.usable {
				if len(got) != 0 {
					t.Errorf("the driver sent %q after an unusable Hello; want nothing", got)
				}
				return
			}
			if len(got) < 2 || !strings.Contains(got[0], `"op":2`) || got[1] != `{"op":1,"d":null}` {
				t.Errorf("the driver sent %q; want Identify, then a heartbeat with a null sequence", got)
			}
		})
	}
}

// TestReceiveCloseCodes: 4004 refuses the credential, a non-resumable
// code rejects, 4007 starts a new session.
func TestReceiveCloseCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code websocket.StatusCode
		want string
	}{
		{4004, channels.CodeCredentialRefused},
		{4014, channels.CodeRejected},
		{4013, channels.CodeRejected},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer ws.CloseNow()
			_ = ws.Write(r.Context(), websocket.MessageText, []byte(`{"op":10,"d":{"heartbeat_interval":45000}}`))
			_, _, _ = ws.Read(r.Context())
			_ = ws.Close(tc.code, "no")
		}))
		d := New(Options{GatewayURL: "ws" + strings.TrimPrefix(srv.URL, "http"), ReconnectDelay: time.Millisecond})
		err := d.Receive(ctxT(t), &channels.Binding{Cred: channels.Credential{Token: "a.b.c"}}, newSink())
		wantError(t, "Receive(closed with "+tc.code.String()+")", err, tc.want, true)
		srv.Close()
	}
}

// TestReceiveInvalidSeqClose: a resume refused with 4007 falls back to a
// fresh Identify and clears the saved state.
func TestReceiveInvalidSeqClose(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var hits atomic.Int32
	refuser := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		_ = ws.Write(r.Context(), websocket.MessageText, []byte(`{"op":10,"d":{"heartbeat_interval":45000}}`))
		_, _, _ = ws.Read(r.Context())
		_ = ws.Close(4007, "Invalid seq")
	}))
	defer refuser.Close()
	b := f.binding()
	b.Resume = []byte(`{"session_id":"s","seq":3,"resume_gateway_url":"ws` + strings.TrimPrefix(refuser.URL, "http") + `"}`)
	sink := newSink()
	f.receive(t, b, sink)
	id := f.srv.UserMessage(f.token, "555", "777", "hi")
	waitAccepted(t, sink, id)
	sink.mu.Lock()
	clears := sink.clears
	sink.mu.Unlock()
	if i := f.srv.Identifies(f.token); i != 1 || clears != 1 || hits.Load() != 1 {
		t.Errorf("Identifies, state clears, resume URL connections = %d, %d, %d; want 1, 1, 1", i, clears, hits.Load())
	}
}
