package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/sdk/provider"
)

func TestStreamDeliversChunksAsTheyArrive(t *testing.T) {
	e := newEnv(t)
	c, _ := e.user(t, "paid@example.com", "solo")
	release := make(chan struct{})
	e.d.set("generate-text", behavior{stream: func(ctx context.Context, send func(*provider.Chunk) error) error {
		// Pretty-printed JSON must still travel as one data line.
		if err := send(data("{\n  \"delta\": \"Hel\"\n}")); err != nil {
			return err
		}
		if err := await(ctx, release); err != nil {
			return err
		}
		return send(&provider.Chunk{Data: json.RawMessage(`{"delta":"lo"}`),
			Usage: &provider.Usage{InputTokens: 5, OutputTokens: 2, Model: "m1"}})
	}})
	s := e.open(t, c, "POST", "/api/v1/gateway", map[string]any{"plugin": "generate-text", "stream": true, "prompt": "hi"})
	if s.Resp.StatusCode != 200 || s.Resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("got %d %s %s; want an event stream", s.Resp.StatusCode, s.Resp.Header.Get("Content-Type"), s.Body)
	}
	if s.Resp.Header.Get("X-Plugin-Id") != "generate-text" || s.Resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("headers = %v", s.Resp.Header)
	}
	// The fake holds its second chunk until the first has reached the client.
	if ev := s.nextEvent(t); ev.Event != "" || ev.Data != `{"delta":"Hel"}` {
		t.Fatalf("first event = %+v; want the first chunk, compacted", ev)
	}
	close(release)
	if ev := s.nextEvent(t); ev.Event != "" || ev.Data != `{"delta":"lo"}` {
		t.Fatalf("second event = %+v; want the second chunk", ev)
	}
	ev := s.nextEvent(t)
	if ev.Event != "usage" {
		t.Fatalf("third event = %+v; want the usage event", ev)
	}
	u := jsonMap(t, []byte(ev.Data))
	if u["plugin"] != "generate-text" || !reflect.DeepEqual(u["usage"], map[string]any{"inputTokens": 5.0, "outputTokens": 2.0,
		"totalTokens": 7.0, "model": "m1"}) || !reflect.DeepEqual(u["payment"], map[string]any{"method": "stripe", "receipt": nil}) ||
		u["timestamp"] == nil {
		t.Errorf("usage event = %s", ev.Data)
	}
	if ev := s.nextEvent(t); ev.Event != "" || ev.Data != "[DONE]" {
		t.Fatalf("last event = %+v; want [DONE]", ev)
	}
	s.end(t)

	got := e.d.last(t)
	if got.Method != "InvokeStream" || !sameJSON(t, got.Req.Input, `{"stream":true,"prompt":"hi"}`) {
		t.Errorf("dispatched %s with %s; want InvokeStream with the input (stream kept)", got.Method, got.Req.Input)
	}
}

func TestStreamKeepAlive(t *testing.T) {
	e := newEnv(t) // keepalive every 30ms
	c, _ := e.user(t, "paid@example.com", "solo")
	release, more := make(chan struct{}), make(chan struct{})
	e.d.set("generate-text", behavior{stream: func(ctx context.Context, send func(*provider.Chunk) error) error {
		if err := await(ctx, release); err != nil {
			return err
		}
		if err := send(data(`{"delta":"late"}`)); err != nil {
			return err
		}
		if err := await(ctx, more); err != nil {
			return err
		}
		return send(data(`{"delta":"later"}`))
	}})
	s := e.open(t, c, "POST", "/api/v1/gateway", map[string]any{"stream": true})
	if s.Resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("got %d %s; want an event stream", s.Resp.StatusCode, s.Body)
	}
	// Two keepalives while the fake waits.
	for i := range 2 {
		if ev := s.next(t); ev.Comment != "keepalive" {
			t.Fatalf("event %d = %+v; want a keepalive comment", i, ev)
		}
	}
	close(release)
	if ev := s.nextEvent(t); ev.Data != `{"delta":"late"}` {
		t.Fatalf("event = %+v; want the chunk", ev)
	}
	// Once data flows, no more keepalives: the fake holds its next chunk for
	// several keepalive periods, and nothing else may arrive meanwhile.
	quiet := time.After(5 * e.g.KeepAlive)
	for waiting := true; waiting; {
		select {
		case ev := <-s.events:
			if ev.Comment == "keepalive" {
				t.Fatal("a keepalive after the first chunk")
			}
			t.Fatalf("event %+v before the fake sent it", ev)
		case <-quiet:
			waiting = false
		}
	}
	close(more)
	if ev := s.nextEvent(t); ev.Data != `{"delta":"later"}` {
		t.Fatalf("event = %+v; want the second chunk", ev)
	}
	if ev := s.nextEvent(t); ev.Event != "usage" {
		t.Fatalf("event = %+v; want usage", ev)
	}
	if ev := s.nextEvent(t); ev.Data != "[DONE]" {
		t.Fatalf("event = %+v; want [DONE]", ev)
	}
	s.end(t)
}

func TestStreamErrorBeforeData(t *testing.T) {
	// No keepalive can commit the stream before the error.
	e := newEnv(t, func(g *gateway.Gateway) { g.KeepAlive = time.Hour })
	c, _ := e.user(t, "paid@example.com", "solo")
	tests := []struct {
		name   string
		b      behavior
		status int
		code   string
		fields map[string]any
	}{
		{name: "error chunk", b: behavior{stream: chunks(&provider.Chunk{Error: &provider.Error{Status: 429, Code: "UPSTREAM_RATE_LIMITED",
			Message: "slow down", Fields: map[string]any{"retryAfter": 3.0}}})},
			status: 429, code: "UPSTREAM_RATE_LIMITED", fields: map[string]any{"error": "slow down", "retryAfter": 3.0}},
		{name: "error chunk after usage-only chunk", b: behavior{stream: chunks(&provider.Chunk{Usage: &provider.Usage{InputTokens: 1}},
			&provider.Chunk{Error: provider.Errorf(403, "MODEL_NOT_ALLOWED", "no")})}, status: 403, code: "MODEL_NOT_ALLOWED"},
		{name: "error chunk with odd status", b: behavior{stream: chunks(&provider.Chunk{Error: &provider.Error{Status: 302, Code: "ODD"}})},
			status: 502, code: "ODD"},
		{name: "unavailable", b: behavior{err: fmt.Errorf("stream: %w", provider.ErrUnavailable)}, status: 502, code: "PLUGIN_UNAVAILABLE"},
		{name: "deadline", b: behavior{err: context.DeadlineExceeded}, status: 504, code: "PLUGIN_TIMEOUT"},
		{name: "connection torn down", b: behavior{err: errors.Join(provider.ErrUnavailable, context.Canceled)},
			status: 502, code: "PLUGIN_UNAVAILABLE"},
		{name: "malformed data", b: behavior{stream: chunks(data(`{"delta":`))}, status: 502, code: "PLUGIN_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.d.set("generate-text", tt.b)
			s := e.open(t, c, "POST", "/api/v1/gateway", map[string]any{"stream": true})
			if s.Resp.StatusCode != tt.status || !strings.HasPrefix(s.Resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("got %d %s %s; want a JSON %d", s.Resp.StatusCode, s.Resp.Header.Get("Content-Type"), s.Body, tt.status)
			}
			body := jsonMap(t, s.Body)
			if body["code"] != tt.code || body["request_id"] == "" {
				t.Errorf("body = %s; want code %s", s.Body, tt.code)
			}
			for k, v := range tt.fields {
				if !reflect.DeepEqual(body[k], v) {
					t.Errorf("%s = %v; want %v", k, body[k], v)
				}
			}
		})
	}
}

// thenWait is a stream behavior that sends cs, then (like a plugin that
// carries on) waits to be canceled; stopped reports ctx.Err(), or nil if the
// gateway never canceled the call.
func thenWait(cs ...*provider.Chunk) (b behavior, stopped <-chan error) {
	ch := make(chan error, 1)
	return behavior{stream: func(ctx context.Context, send func(*provider.Chunk) error) error {
		for _, c := range cs {
			if err := send(c); err != nil {
				ch <- err
				return err
			}
		}
		select {
		case <-ctx.Done():
			ch <- ctx.Err()
		case <-time.After(wait):
			ch <- nil
		}
		return ctx.Err()
	}}, ch
}

func TestStreamErrorAfterData(t *testing.T) {
	e := newEnv(t)
	c, _ := e.user(t, "paid@example.com", "solo")
	tests := []struct {
		name string
		b    func() (behavior, <-chan error)
		code string
		msg  string
	}{
		{name: "error chunk", b: func() (behavior, <-chan error) {
			return thenWait(data(`{"delta":"a"}`), &provider.Chunk{Error: &provider.Error{Status: 502, Code: "UPSTREAM_ERROR",
				Message: "boom", Fields: map[string]any{"upstream": "openai"}}})
		}, code: "UPSTREAM_ERROR", msg: "boom"},
		{name: "Go error", b: func() (behavior, <-chan error) {
			return behavior{stream: func(_ context.Context, send func(*provider.Chunk) error) error {
				if err := send(data(`{"delta":"a"}`)); err != nil {
					return err
				}
				return fmt.Errorf("crashed: %w", provider.ErrUnavailable)
			}}, nil
		}, code: "PLUGIN_UNAVAILABLE"},
		{name: "malformed chunk", b: func() (behavior, <-chan error) {
			return thenWait(data(`{"delta":"a"}`), data(`{"delta": nope}`))
		}, code: "PLUGIN_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, stopped := tt.b()
			e.d.set("generate-text", b)
			s := e.open(t, c, "POST", "/api/v1/gateway", map[string]any{"stream": true}, "X-Request-Id", "req-stream-err")
			if s.Resp.StatusCode != 200 || s.Resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("got %d %s; want an event stream", s.Resp.StatusCode, s.Body)
			}
			if ev := s.nextEvent(t); ev.Data != `{"delta":"a"}` {
				t.Fatalf("event = %+v; want the first chunk", ev)
			}
			ev := s.nextEvent(t)
			if ev.Event != "error" {
				t.Fatalf("event = %+v; want an error event", ev)
			}
			body := jsonMap(t, []byte(ev.Data))
			if body["code"] != tt.code || body["request_id"] != "req-stream-err" || body["error"] == "" ||
				(tt.msg != "" && body["error"] != tt.msg) {
				t.Errorf("error event = %s; want code %s", ev.Data, tt.code)
			}
			if stopped != nil {
				if err := <-stopped; err == nil {
					t.Error("the dispatcher's context was not canceled after the failure")
				}
			}
			s.end(t) // no usage event, no [DONE]
		})
	}
}

func TestStreamClientDisconnect(t *testing.T) {
	for _, tt := range []struct {
		name   string
		first  *provider.Chunk // sent before waiting; nil: wait at once
		tokens int64
		price  int64 // charged: output reached the client
	}{
		{name: "mid-stream", first: &provider.Chunk{Data: json.RawMessage(`{"delta":"a"}`), Usage: &provider.Usage{InputTokens: 4}},
			tokens: 4, price: 10_000},
		{name: "while waiting for the first chunk"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			c, uid := e.user(t, "paid@example.com", "solo")
			canceled := make(chan error, 1)
			e.d.set("generate-text", behavior{stream: func(ctx context.Context, send func(*provider.Chunk) error) error {
				if tt.first != nil {
					if err := send(tt.first); err != nil {
						return err
					}
				}
				select {
				case <-ctx.Done():
					canceled <- ctx.Err()
				case <-time.After(wait):
					canceled <- nil
				}
				// As a transport does when its call is canceled under it: the
				// client's leaving must still not count as the provider failing.
				return fmt.Errorf("stream broken: %w", provider.ErrUnavailable)
			}})
			s := e.open(t, c, "POST", "/api/v1/gateway", map[string]any{"stream": true})
			if tt.first != nil {
				if ev := s.nextEvent(t); ev.Data != `{"delta":"a"}` {
					t.Fatalf("event = %+v; want the first chunk", ev)
				}
			} else if ev := s.next(t); ev.Comment != "keepalive" {
				t.Fatalf("event = %+v; want a keepalive", ev)
			}
			s.cancel()
			if err := <-canceled; err == nil {
				t.Fatal("the dispatcher's context was not canceled when the client went away")
			}
			events := e.waitUsage(t, uid, 1)
			if len(events) != 1 || events[0].Status != 499 || events[0].PriceMicroUSD != tt.price || events[0].InputTokens != tt.tokens {
				t.Errorf("usage = %+v; want one 499 charged %d with the tokens seen", events, tt.price)
			}
		})
	}
}

func TestStreamOnlyWhenAskedAndSupported(t *testing.T) {
	e := newEnv(t)
	c, _ := e.user(t, "paid@example.com", "solo")
	e.d.set("generate-text", behavior{output: json.RawMessage(`{"text":"whole"}`),
		stream: chunks(data(`{"delta":"part"}`))})
	e.d.set("agent", behavior{output: json.RawMessage(`{"text":"agent"}`)})
	for _, tt := range []struct {
		name   string
		body   map[string]any
		method string
		result string
	}{
		{"stream on a non-streaming id", map[string]any{"plugin": "agent", "stream": true}, "Invoke", `{"text":"agent"}`},
		{"stream false", map[string]any{"plugin": "generate-text", "stream": false}, "Invoke", `{"text":"whole"}`},
		{"stream absent", map[string]any{"plugin": "generate-text"}, "Invoke", `{"text":"whole"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Do("POST", "/api/v1/gateway", tt.body).Expect(t, 200, "")
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("content type = %q; want JSON", r.Header.Get("Content-Type"))
			}
			res, _ := json.Marshal(r.JSON["result"])
			if got := e.d.last(t); got.Method != tt.method || !sameJSON(t, res, tt.result) {
				t.Errorf("dispatched with %s, result %s; want %s, %s", got.Method, res, tt.method, tt.result)
			}
		})
	}
}
