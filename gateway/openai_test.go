package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/sdk/provider"
)

func TestChatCompletions(t *testing.T) {
	e := newEnv(t, tickingClock)
	c, uid := e.user(t, "paid@example.com", "solo")
	e.d.set("generate-text", behavior{
		output: json.RawMessage(`{"model":"gpt-x-2024","provider":"openai","finishReason":"length","message":{"role":"assistant","content":"Hi!"}}`),
		usage:  provider.Usage{InputTokens: 9, OutputTokens: 3}})
	r := c.Do("POST", "/api/v1/chat/completions", map[string]any{
		"model": "gpt-x",
		"messages": []any{
			map[string]any{"role": "system", "content": "be brief"},
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "text", "text": "Hello "},
				map[string]any{"type": "image_url", "image_url": map[string]any{"url": "https://example.com/a.png"}},
				map[string]any{"type": "text", "text": "world"},
			}},
			map[string]any{"role": "assistant", "content": nil},
		},
		"temperature":           0.5,
		"max_completion_tokens": 50,
		"user":                  "ignored",
	}).Expect(t, 200, "")

	got := e.d.last(t)
	if got.Method != "Invoke" || got.Req.Capability != "generate-text" || got.Req.Caller.UserID != uid {
		t.Errorf("dispatched %s %s for %q", got.Method, got.Req.Capability, got.Req.Caller.UserID)
	}
	wantInput := `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Hello world"},
		{"role":"assistant","content":""}],"model":"gpt-x","temperature":0.5,"top_p":null,"max_tokens":50,"stream":false}`
	if !sameJSON(t, got.Req.Input, wantInput) {
		t.Errorf("input = %s; want %s", got.Req.Input, wantInput)
	}

	if r.Str("object") != "chat.completion" || !strings.HasPrefix(r.Str("id"), "chatcmpl-") || r.Str("model") != "gpt-x-2024" {
		t.Errorf("response = %s", r.Body)
	}
	if created, ok := r.JSON["created"].(float64); !ok || created <= 0 {
		t.Errorf("created = %v", r.JSON["created"])
	}
	wantChoices := []any{map[string]any{"index": 0.0, "message": map[string]any{"role": "assistant", "content": "Hi!"},
		"finish_reason": "length", "logprobs": nil}}
	if !reflect.DeepEqual(r.JSON["choices"], wantChoices) {
		t.Errorf("choices = %v; want %v", r.JSON["choices"], wantChoices)
	}
	if want := map[string]any{"prompt_tokens": 9.0, "completion_tokens": 3.0, "total_tokens": 12.0}; !reflect.DeepEqual(r.JSON["usage"], want) {
		t.Errorf("usage = %v; want %v", r.JSON["usage"], want)
	}

	// Defaults: the request's model, finish reason "stop", max_tokens as given.
	e.d.set("generate-text", behavior{output: json.RawMessage(`{"message":{"content":"ok"}}`)})
	r = c.Do("POST", "/api/v1/chat/completions", map[string]any{"model": "m0", "max_tokens": 7, "top_p": 0.9,
		"messages": []any{map[string]any{"role": "user", "content": "x"}}}).Expect(t, 200, "")
	if r.Str("model") != "m0" || r.JSON["choices"].([]any)[0].(map[string]any)["finish_reason"] != "stop" {
		t.Errorf("response = %s; want model m0 and finish_reason stop", r.Body)
	}
	if in := jsonMap(t, e.d.last(t).Req.Input); in["max_tokens"] != 7.0 || in["top_p"] != 0.9 {
		t.Errorf("input = %v; want max_tokens 7, top_p 0.9", in)
	}

	// Billed as generate-text calls.
	events := e.usage(t, uid)
	if len(events) != 2 || events[0].Target != "generate-text" || events[0].Status != 200 || events[0].InputTokens != 9 ||
		events[0].OutputTokens != 3 || events[0].PriceMicroUSD != 10_000 || events[1].PriceMicroUSD != 10_000 {
		t.Errorf("usage = %+v; want two generate-text calls, billed, the first with its tokens", events)
	}
}

// oaError checks an OpenAI-shaped error body.
func oaError(t *testing.T, r *servertest.Response, status int, typ, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d %s; want %d", r.Status, r.Body, status)
	}
	var body struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Error) == 0 {
		t.Fatalf("body %s is not an OpenAI error", r.Body)
	}
	if body.Error["type"] != typ || body.Error["code"] != code || body.Error["message"] == "" {
		t.Errorf("error = %v; want type %s code %s", body.Error, typ, code)
	}
	if _, ok := body.Error["param"]; !ok {
		t.Errorf("error = %v; want a param member", body.Error)
	}
	if len(r.JSON) != 1 {
		t.Errorf("body = %s; want only the error member", r.Body)
	}
}

func TestChatCompletionsErrors(t *testing.T) {
	e := newEnv(t)
	paid, _ := e.user(t, "paid@example.com", "solo")
	unpaid, _ := e.user(t, "unpaid@example.com", "")
	anon := e.Client(t)
	badKey := e.Client(t)
	badKey.Header.Set("Authorization", "Bearer sk_bogus")
	msgs := map[string]any{"model": "m", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}

	tests := []struct {
		name   string
		c      *servertest.Client
		body   any
		b      *behavior
		status int
		typ    string
		code   string
	}{
		{name: "anonymous", c: anon, body: msgs, status: 401, typ: "authentication_error", code: "auth_required"},
		{name: "bad key", c: badKey, body: msgs, status: 401, typ: "authentication_error", code: "invalid_api_key"},
		{name: "no subscription", c: unpaid, body: msgs, status: 402, typ: "insufficient_quota", code: "payment_required"},
		{name: "no messages", c: paid, body: map[string]any{"model": "m", "messages": []any{}}, status: 400,
			typ: "invalid_request_error", code: "validation_error"},
		{name: "bad content", c: paid, body: map[string]any{"messages": []any{map[string]any{"role": "user", "content": 5}}},
			status: 400, typ: "invalid_request_error", code: "invalid_field_type"},
		{name: "malformed JSON", c: paid, body: `{"messages":`, status: 400, typ: "invalid_request_error", code: "invalid_json"},
		{name: "unavailable", c: paid, body: msgs, b: &behavior{err: fmt.Errorf("x: %w", provider.ErrUnavailable)},
			status: 502, typ: "api_error", code: "plugin_unavailable"},
		{name: "timeout", c: paid, body: msgs, b: &behavior{err: context.DeadlineExceeded}, status: 504, typ: "api_error", code: "plugin_timeout"},
		{name: "model not allowed", c: paid, body: msgs, b: &behavior{perr: provider.Errorf(403, "MODEL_NOT_ALLOWED", "no")},
			status: 403, typ: "permission_error", code: "model_not_allowed"},
		{name: "upstream rate limit", c: paid, body: msgs, b: &behavior{perr: provider.Errorf(429, "UPSTREAM_RATE_LIMITED", "slow")},
			status: 429, typ: "rate_limit_error", code: "upstream_rate_limited"},
		{name: "malformed output", c: paid, body: msgs, b: &behavior{output: json.RawMessage(`"not an object"`)},
			status: 502, typ: "api_error", code: "plugin_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := behavior{output: json.RawMessage(`{"message":{"content":"ok"}}`)}
			if tt.b != nil {
				b = *tt.b
			}
			e.d.set("generate-text", b)
			oaError(t, tt.c.Do("POST", "/api/v1/chat/completions", tt.body), tt.status, tt.typ, tt.code)
		})
	}
	t.Run("402 message", func(t *testing.T) {
		r := unpaid.Do("POST", "/api/v1/chat/completions", msgs)
		var body struct{ Error struct{ Message string } }
		_ = json.Unmarshal(r.Body, &body)
		if !strings.Contains(body.Error.Message, "Payment required") {
			t.Errorf("message = %q", body.Error.Message)
		}
	})
}

func TestChatCompletionsStream(t *testing.T) {
	e := newEnv(t)
	c, _ := e.user(t, "paid@example.com", "solo")
	for _, includeUsage := range []bool{false, true} {
		t.Run(fmt.Sprintf("include_usage=%v", includeUsage), func(t *testing.T) {
			release := make(chan struct{})
			e.d.set("generate-text", behavior{stream: func(ctx context.Context, send func(*provider.Chunk) error) error {
				if err := send(data(`{"delta":"Hel"}`)); err != nil {
					return err
				}
				if err := await(ctx, release); err != nil {
					return err
				}
				if err := send(data(`{"delta":"lo"}`)); err != nil {
					return err
				}
				return send(&provider.Chunk{Data: json.RawMessage(`{"finishReason":"length","model":"m-final","provider":"openai"}`),
					Usage: &provider.Usage{InputTokens: 5, OutputTokens: 2}})
			}})
			body := map[string]any{"model": "m", "stream": true, "messages": []any{map[string]any{"role": "user", "content": "hi"}}}
			if includeUsage {
				body["stream_options"] = map[string]any{"include_usage": true}
			}
			s := e.open(t, c, "POST", "/api/v1/chat/completions", body)
			if s.Resp.StatusCode != 200 || s.Resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("got %d %s; want an event stream", s.Resp.StatusCode, s.Body)
			}
			var id string
			chunk := func(wantModel string) map[string]any {
				t.Helper()
				ev := s.nextEvent(t)
				if ev.Event != "" {
					t.Fatalf("event %+v; OpenAI streams use unnamed events", ev)
				}
				m := jsonMap(t, []byte(ev.Data))
				if m["object"] != "chat.completion.chunk" || m["model"] != wantModel || m["created"] == nil {
					t.Errorf("chunk = %s; want a chat.completion.chunk for %s", ev.Data, wantModel)
				}
				if id == "" {
					id, _ = m["id"].(string)
				}
				if m["id"] != id || !strings.HasPrefix(id, "chatcmpl-") {
					t.Errorf("chunk id = %v; want %q throughout", m["id"], id)
				}
				return m
			}
			choice := func(m map[string]any) map[string]any {
				t.Helper()
				cs, _ := m["choices"].([]any)
				if len(cs) != 1 {
					t.Fatalf("choices = %v; want one", m["choices"])
				}
				return cs[0].(map[string]any)
			}
			c0 := choice(chunk("m"))
			if !reflect.DeepEqual(c0["delta"], map[string]any{"role": "assistant", "content": "Hel"}) || c0["finish_reason"] != nil {
				t.Errorf("first choice = %v; want the role and the first delta", c0)
			}
			close(release) // the first delta reached the client before the fake sent the next
			c1 := choice(chunk("m"))
			if !reflect.DeepEqual(c1["delta"], map[string]any{"content": "lo"}) || c1["finish_reason"] != nil {
				t.Errorf("second choice = %v; want only content", c1)
			}
			c2 := choice(chunk("m-final"))
			if !reflect.DeepEqual(c2["delta"], map[string]any{}) || c2["finish_reason"] != "length" {
				t.Errorf("final choice = %v; want an empty delta and the finish reason", c2)
			}
			if includeUsage {
				u := chunk("m-final")
				if cs, ok := u["choices"].([]any); !ok || len(cs) != 0 ||
					!reflect.DeepEqual(u["usage"], map[string]any{"prompt_tokens": 5.0, "completion_tokens": 2.0, "total_tokens": 7.0}) {
					t.Errorf("usage chunk = %v", u)
				}
			}
			if ev := s.nextEvent(t); ev.Data != "[DONE]" {
				t.Fatalf("event = %+v; want [DONE]", ev)
			}
			s.end(t)
			if got := e.d.last(t); got.Method != "InvokeStream" || jsonMap(t, got.Req.Input)["stream"] != true {
				t.Errorf("dispatched %s with %s", got.Method, got.Req.Input)
			}
		})
	}

	t.Run("no content", func(t *testing.T) {
		e.d.set("generate-text", behavior{stream: chunks(data(`{"finishReason":"stop"}`))})
		s := e.open(t, c, "POST", "/api/v1/chat/completions", map[string]any{"model": "m", "stream": true,
			"messages": []any{map[string]any{"role": "user", "content": "hi"}}})
		var deltas []any
		var reasons []any
		for {
			ev := s.nextEvent(t)
			if ev.Data == "[DONE]" {
				break
			}
			ch := jsonMap(t, []byte(ev.Data))["choices"].([]any)[0].(map[string]any)
			deltas = append(deltas, ch["delta"])
			reasons = append(reasons, ch["finish_reason"])
		}
		s.end(t)
		if !reflect.DeepEqual(deltas, []any{map[string]any{"role": "assistant", "content": ""}, map[string]any{}}) ||
			!reflect.DeepEqual(reasons, []any{nil, "stop"}) {
			t.Errorf("deltas %v reasons %v; want the assistant's role, then stop", deltas, reasons)
		}
	})

	t.Run("error before data", func(t *testing.T) {
		e2 := newEnv(t, func(g *gateway.Gateway) { g.KeepAlive = time.Hour })
		c2, _ := e2.user(t, "paid@example.com", "solo")
		e2.d.set("generate-text", behavior{stream: chunks(&provider.Chunk{Error: provider.Errorf(403, "MODEL_NOT_ALLOWED", "no")})})
		r := c2.Do("POST", "/api/v1/chat/completions", map[string]any{"model": "m", "stream": true,
			"messages": []any{map[string]any{"role": "user", "content": "hi"}}})
		oaError(t, r, 403, "permission_error", "model_not_allowed")
	})

	t.Run("error after data", func(t *testing.T) {
		e.d.set("generate-text", behavior{stream: chunks(data(`{"delta":"a"}`), &provider.Chunk{Error: provider.Errorf(502, "UPSTREAM_ERROR", "boom")})})
		s := e.open(t, c, "POST", "/api/v1/chat/completions", map[string]any{"model": "m", "stream": true,
			"messages": []any{map[string]any{"role": "user", "content": "hi"}}})
		if ev := s.nextEvent(t); !strings.Contains(ev.Data, `"content":"a"`) {
			t.Fatalf("event = %+v; want the delta", ev)
		}
		ev := s.nextEvent(t)
		var body struct {
			Error map[string]any `json:"error"`
		}
		if err := json.Unmarshal([]byte(ev.Data), &body); err != nil || body.Error["code"] != "upstream_error" ||
			body.Error["message"] != "boom" || body.Error["type"] != "api_error" {
			t.Errorf("event = %+v; want an OpenAI error", ev)
		}
		s.end(t) // no [DONE]
	})
}

func TestChatCompletionsStreamClientDisconnect(t *testing.T) {
	e := newEnv(t)
	c, uid := e.user(t, "paid@example.com", "solo")
	canceled := make(chan error, 1)
	e.d.set("generate-text", behavior{stream: func(ctx context.Context, send func(*provider.Chunk) error) error {
		if err := send(data(`{"delta":"a"}`)); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			canceled <- ctx.Err()
		case <-time.After(wait):
			canceled <- nil
		}
		return fmt.Errorf("stream broken: %w", provider.ErrUnavailable)
	}})
	s := e.open(t, c, "POST", "/api/v1/chat/completions", map[string]any{"model": "m", "stream": true,
		"messages": []any{map[string]any{"role": "user", "content": "hi"}}})
	if ev := s.nextEvent(t); !strings.Contains(ev.Data, `"content":"a"`) {
		t.Fatalf("event = %+v; want the first delta", ev)
	}
	s.cancel()
	if err := <-canceled; err == nil {
		t.Fatal("the dispatcher's context was not canceled when the client went away")
	}
	// The first delta reached the client: the call is charged.
	if events := e.waitUsage(t, uid, 1); len(events) != 1 || events[0].Status != 499 || events[0].PriceMicroUSD != 10_000 {
		t.Errorf("usage = %+v; want one 499, charged", events)
	}
}

func TestModels(t *testing.T) {
	e := newEnv(t)
	c, uid := e.user(t, "free@example.com", "") // listing models needs no plan
	e.f.setHandle(parts(
		&provider.HTTPResponsePart{Status: 200, Headers: map[string]string{"Content-Type": "application/json"},
			Body: []byte(`{"models":[{"id":"gpt-4o","provider":"openai"},`)},
		&provider.HTTPResponsePart{Body: []byte(`{"id":"claude-haiku","provider":"anthropic","extra":1}]}`)}))
	r := c.Do("GET", "/api/v1/models", nil).Expect(t, 200, "")
	want := map[string]any{"object": "list", "data": []any{
		map[string]any{"id": "gpt-4o", "object": "model", "created": 0.0, "owned_by": "openai"},
		map[string]any{"id": "claude-haiku", "object": "model", "created": 0.0, "owned_by": "anthropic"},
	}}
	if !reflect.DeepEqual(r.JSON, want) {
		t.Errorf("models = %s; want %v", r.Body, want)
	}
	got := e.f.last(t)
	if got.Plugin != "ai" || got.Req.Method != "GET" || got.Req.Path != "/api/ai/models" || got.Req.Caller.UserID != uid {
		t.Errorf("forwarded %s %s %s for %q", got.Plugin, got.Req.Method, got.Req.Path, got.Req.Caller.UserID)
	}

	t.Run("empty list", func(t *testing.T) {
		e.f.setHandle(parts(&provider.HTTPResponsePart{Status: 200, Body: []byte(`{"models":[]}`)}))
		r := c.Do("GET", "/api/v1/models", nil).Expect(t, 200, "")
		if d, ok := r.JSON["data"].([]any); !ok || len(d) != 0 {
			t.Errorf("models = %s; want an empty data array", r.Body)
		}
	})
	t.Run("errors", func(t *testing.T) {
		e.f.setHandle(nil)
		n := e.f.count()
		oaError(t, e.Client(t).Do("GET", "/api/v1/models", nil), 401, "authentication_error", "auth_required")
		if e.f.count() != n {
			t.Error("an anonymous request was forwarded")
		}
		for _, tt := range []struct {
			name   string
			h      func(context.Context, *provider.HTTPRequest, func(*provider.HTTPResponsePart) error) error
			status int
			code   string
		}{
			{"forwarder down", func(context.Context, *provider.HTTPRequest, func(*provider.HTTPResponsePart) error) error {
				return provider.ErrUnavailable
			}, 502, "plugin_unavailable"},
			{"plugin error status", parts(&provider.HTTPResponsePart{Status: 500, Body: []byte(`{"models":[]}`)}), 502, "plugin_error"},
			{"malformed body", parts(&provider.HTTPResponsePart{Status: 200, Body: []byte(`{"models":`)}), 502, "plugin_error"},
			{"no answer", parts(), 502, "plugin_error"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				e.f.setHandle(tt.h)
				oaError(t, c.Do("GET", "/api/v1/models", nil), tt.status, "api_error", tt.code)
			})
		}
	})
}
