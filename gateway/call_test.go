package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/sdk/provider"
)

func TestTargetResolution(t *testing.T) {
	e := newEnv(t)
	c, _ := e.user(t, "paid@example.com", "solo")
	tests := []struct {
		name    string
		body    any // nil: no body
		headers []string
		status  int
		code    string
		target  string // the capability the dispatcher must see
		input   string // the input it must see
	}{
		{name: "header beats body", body: map[string]any{"plugin": "agent", "prompt": "hi"},
			headers: []string{"X-Plugin-Id", "tts"}, status: 200, target: "tts", input: `{"prompt":"hi"}`},
		{name: "body plugin", body: map[string]any{"plugin": "agent", "prompt": "hi", "n": 2},
			status: 200, target: "agent", input: `{"prompt":"hi","n":2}`},
		{name: "default", body: map[string]any{"prompt": "hi"}, status: 200, target: "generate-text", input: `{"prompt":"hi"}`},
		{name: "skill id", body: map[string]any{"plugin": "skill:haiku"}, status: 200, target: "skill:haiku", input: `{}`},
		{name: "no body", status: 200, target: "generate-text", input: `{}`},
		{name: "empty JSON body", body: "", status: 200, target: "generate-text", input: `{}`},
		{name: "empty object", body: "{}", status: 200, target: "generate-text", input: `{}`},
		{name: "invalid header id", body: map[string]any{}, headers: []string{"X-Plugin-Id", "Generate Text"},
			status: 400, code: "INVALID_PLUGIN_ID"},
		{name: "invalid body id", body: map[string]any{"plugin": "../etc"}, status: 400, code: "INVALID_PLUGIN_ID"},
		{name: "upper-case id", body: map[string]any{"plugin": "TTS"}, status: 400, code: "INVALID_PLUGIN_ID"},
		{name: "over-long id", body: map[string]any{"plugin": strings.Repeat("a", 129)}, status: 400, code: "INVALID_PLUGIN_ID"},
		{name: "non-string plugin", body: map[string]any{"plugin": 5}, status: 400, code: "INVALID_FIELD_TYPE"},
		{name: "non-string plugin with header", body: map[string]any{"plugin": []any{"agent"}},
			headers: []string{"X-Plugin-Id", "agent"}, status: 400, code: "INVALID_FIELD_TYPE"},
		{name: "non-bool stream", body: map[string]any{"stream": "yes"}, status: 400, code: "INVALID_FIELD_TYPE"},
		{name: "array body", body: `[{"plugin":"agent"}]`, status: 400, code: "INVALID_JSON"},
		{name: "string body", body: `"agent"`, status: 400, code: "INVALID_JSON"},
		{name: "null body", body: `null`, status: 400, code: "INVALID_JSON"},
		{name: "malformed body", body: `{"plugin":`, status: 400, code: "INVALID_JSON"},
		{name: "unknown id", body: map[string]any{"plugin": "nope"}, status: 404, code: "UNKNOWN_PLUGIN"},
		{name: "unknown id in header", headers: []string{"X-Plugin-Id", "skill:nope"}, status: 404, code: "UNKNOWN_PLUGIN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.d.count()
			r := c.Do("POST", "/api/v1/gateway", tt.body, tt.headers...).Expect(t, tt.status, tt.code)
			if tt.status != 200 {
				if n := e.d.count(); n != before {
					t.Errorf("the dispatcher was called for a rejected request")
				}
				return
			}
			got := e.d.last(t)
			if got.Req.Capability != tt.target || r.Str("plugin") != tt.target || r.Header.Get("X-Plugin-Id") != tt.target {
				t.Errorf("dispatched %q, answered plugin %q, header %q; want %q", got.Req.Capability, r.Str("plugin"),
					r.Header.Get("X-Plugin-Id"), tt.target)
			}
			if !sameJSON(t, got.Req.Input, tt.input) {
				t.Errorf("input = %s; want %s", got.Req.Input, tt.input)
			}
		})
	}
}

func TestAuthAndPayment(t *testing.T) {
	e := newEnv(t, func(g *gateway.Gateway) { g.Prices["agent"] = 1_234_567 })
	paid, _ := e.user(t, "paid@example.com", "solo")
	unpaid, _ := e.user(t, "unpaid@example.com", "")
	admin, _ := e.user(t, adminEmail, "")
	canceled, canceledID := e.user(t, "canceled@example.com", "")
	if err := e.Store.SetSubscription(context.Background(), canceledID, "solo", "canceled"); err != nil {
		t.Fatal(err)
	}
	anon := e.Client(t)
	badKey := e.Client(t)
	badKey.Header.Set("Authorization", "Bearer sk_not_a_real_key")
	badJWT := e.Client(t)
	badJWT.Header.Set("Authorization", "Bearer not.a.jwt")

	t.Run("rejected", func(t *testing.T) {
		before := e.d.count()
		anon.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 401, "AUTH_REQUIRED")
		anon.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "free-thing"}).Expect(t, 401, "AUTH_REQUIRED")
		badKey.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "free-thing"}).Expect(t, 401, "INVALID_API_KEY")
		badJWT.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "free-thing"}).Expect(t, 401, "TOKEN_INVALID")
		unpaid.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 402, "PAYMENT_REQUIRED")
		canceled.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 402, "PAYMENT_REQUIRED")
		unpaid.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "generate-text", "stream": true}).Expect(t, 402, "PAYMENT_REQUIRED")
		if e.d.count() != before {
			t.Error("the dispatcher was called for a rejected caller")
		}
	})

	t.Run("402 body", func(t *testing.T) {
		for _, tt := range []struct{ id, amount string }{
			{"generate-text", "0.01"}, // the default price
			{"agent", "1.234567"},     // configured
			{"tts", "0.03"},           // configuration beats the target's suggestion
			{"skill:haiku", "0.25"},   // the target's own price
		} {
			r := unpaid.Do("POST", "/api/v1/gateway", map[string]any{"plugin": tt.id}).Expect(t, 402, "PAYMENT_REQUIRED")
			stripe, _ := r.JSON["stripe"].(map[string]any)
			if r.Str("error") != "payment_required" || r.Str("plugin") != tt.id || stripe == nil ||
				stripe["amount"] != tt.amount || stripe["currency"] != "usd" || stripe["checkoutUrl"] == "" {
				t.Errorf("%s: 402 body = %s; want error payment_required and stripe.amount %q", tt.id, r.Body, tt.amount)
			}
			if r.Str("request_id") == "" || r.Str("message") == "" {
				t.Errorf("%s: 402 body = %s; want a message and the request id", tt.id, r.Body)
			}
		}
	})

	t.Run("allowed", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			c      *servertest.Client
			id     string
			method string
		}{
			{"free without subscription", unpaid, "free-thing", "free"},
			{"admin without subscription", admin, "agent", "stripe"},
			{"subscribed", paid, "agent", "stripe"},
			{"subscribed, free id", paid, "free-thing", "free"},
		} {
			r := tt.c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": tt.id}).Expect(t, 200, "")
			pay, _ := r.JSON["payment"].(map[string]any)
			if pay == nil || pay["method"] != tt.method {
				t.Errorf("%s: payment = %v; want method %q", tt.name, r.JSON["payment"], tt.method)
			}
			if v, ok := pay["receipt"]; !ok || v != nil {
				t.Errorf("%s: payment = %v; want receipt null", tt.name, pay)
			}
		}
	})

	t.Run("session cookie needs CSRF", func(t *testing.T) {
		c := e.Client(t)
		uid, csrf := c.SignUp("cookie@example.com", "password-cookie")
		if err := e.Store.SetSubscription(context.Background(), uid, "solo", "active"); err != nil {
			t.Fatal(err)
		}
		c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 403, "CSRF_REQUIRED")
		c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}, "X-CSRF-Token", csrf).Expect(t, 200, "")
		if got := e.d.last(t).Req.Caller.UserID; got != uid {
			t.Errorf("caller = %q; want %q", got, uid)
		}
	})
}

func TestCallerPassedToDispatcher(t *testing.T) {
	e := newEnv(t)
	paid, uid := e.user(t, "paid@example.com", "solo")
	admin, adminID := e.user(t, adminEmail, "")

	r := paid.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}, "X-Request-Id", "req-caller-1").Expect(t, 200, "")
	got := e.d.last(t).Req.Caller
	want := provider.Caller{UserID: uid, Email: "paid@example.com", Plan: "solo", SubscriptionStatus: "active",
		RequestID: "req-caller-1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("caller = %+v; want %+v", got, want)
	}
	if r.Header.Get("X-Request-Id") != got.RequestID {
		t.Errorf("request id %q; the response says %q", got.RequestID, r.Header.Get("X-Request-Id"))
	}

	r = admin.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 200, "")
	got = e.d.last(t).Req.Caller
	if got.UserID != adminID || !got.Admin || got.Email != adminEmail || got.RequestID == "" ||
		got.RequestID != r.Header.Get("X-Request-Id") {
		t.Errorf("admin caller = %+v (response request id %q)", got, r.Header.Get("X-Request-Id"))
	}
}

func TestBYOKCredentials(t *testing.T) {
	e := newEnv(t)
	box, err := secrets.New(e.Config.MasterKey)
	if err != nil {
		t.Fatal(err)
	}
	e.g.Secrets = box // before any call
	c, uid := e.user(t, "byok@example.com", "solo")
	_, otherID := e.user(t, "other@example.com", "solo")
	ctx := context.Background()
	for _, k := range []struct {
		provider string
		sealed   []byte
	}{
		{"openai", box.Seal([]byte("sk-user-openai"), secrets.BYOKLabel(uid, "openai"))},
		{"anthropic", box.Seal([]byte("sk-other-anthropic"), secrets.BYOKLabel(otherID, "anthropic"))}, // another user's
		{"groq", box.Seal([]byte("sk-moved"), secrets.BYOKLabel(uid, "openai"))},                       // another provider's
		{"mistral", []byte("not sealed at all")},
	} {
		if err := e.Store.SetBYOKKey(ctx, uid, k.provider, k.sealed); err != nil {
			t.Fatal(err)
		}
	}
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 200, "")
	if got, want := e.d.last(t).Req.Caller.Credentials, map[string]string{"openai": "sk-user-openai"}; !reflect.DeepEqual(got, want) {
		t.Errorf("credentials = %v; want %v", got, want)
	}

	// A caller without keys gets none.
	plain, _ := e.user(t, "plain@example.com", "solo")
	plain.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 200, "")
	if got := e.d.last(t).Req.Caller.Credentials; len(got) != 0 {
		t.Errorf("credentials = %v; want none", got)
	}
}

func TestCallerCache(t *testing.T) {
	e := newEnv(t)
	c, uid := e.user(t, "later@example.com", "")
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 402, "PAYMENT_REQUIRED")
	if err := e.Store.SetSubscription(context.Background(), uid, "solo", "active"); err != nil {
		t.Fatal(err)
	}
	e.g.ForgetCaller(uid)
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 200, "")

	// Without a cache, a plan change is seen on the next call.
	e2 := newEnv(t, func(g *gateway.Gateway) { g.CallerTTL = -1 })
	c2, uid2 := e2.user(t, "nocache@example.com", "")
	c2.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 402, "PAYMENT_REQUIRED")
	if err := e2.Store.SetSubscription(context.Background(), uid2, "solo", "active"); err != nil {
		t.Fatal(err)
	}
	c2.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 200, "")
}

func TestDispatchErrors(t *testing.T) {
	e := newEnv(t)
	c, _ := e.user(t, "paid@example.com", "solo")
	tests := []struct {
		name   string
		b      behavior
		status int
		code   string
		fields map[string]any // expected extra members
	}{
		{name: "unavailable", b: behavior{err: fmt.Errorf("dial plugin: secret detail: %w", provider.ErrUnavailable)},
			status: 502, code: "PLUGIN_UNAVAILABLE"},
		{name: "crashed (any Go error)", b: behavior{err: errors.New("plugin exited")}, status: 502, code: "PLUGIN_UNAVAILABLE"},
		{name: "deadline", b: behavior{err: fmt.Errorf("invoke: %w", context.DeadlineExceeded)}, status: 504, code: "PLUGIN_TIMEOUT"},
		// What the plugin host answers when a plugin's connection is torn down
		// under a call: unavailable, though it also wraps context.Canceled.
		{name: "connection torn down", b: behavior{err: errors.Join(provider.ErrUnavailable, context.Canceled)},
			status: 502, code: "PLUGIN_UNAVAILABLE"},
		{name: "plugin 403 with fields", b: behavior{perr: &provider.Error{Status: 403, Code: "MODEL_NOT_ALLOWED",
			Message: "Your plan does not include gpt-5", Fields: map[string]any{"allowedModels": []any{"gpt-4o-mini", "claude-haiku"}}}},
			status: 403, code: "MODEL_NOT_ALLOWED",
			fields: map[string]any{"error": "Your plan does not include gpt-5", "allowedModels": []any{"gpt-4o-mini", "claude-haiku"}}},
		{name: "plugin 429", b: behavior{perr: provider.Errorf(429, "UPSTREAM_RATE_LIMITED", "slow down")},
			status: 429, code: "UPSTREAM_RATE_LIMITED", fields: map[string]any{"error": "slow down"}},
		{name: "plugin status 200", b: behavior{perr: &provider.Error{Status: 200, Code: "ODD", Message: "odd"}},
			status: 502, code: "ODD"},
		{name: "plugin status 600", b: behavior{perr: &provider.Error{Status: 600, Code: "ODD", Message: "odd"}},
			status: 502, code: "ODD"},
		{name: "plugin status 399", b: behavior{perr: &provider.Error{Status: 399, Code: "ODD"}}, status: 502, code: "ODD"},
		{name: "bare plugin error", b: behavior{perr: &provider.Error{}}, status: 502, code: "PLUGIN_ERROR",
			fields: map[string]any{"error": "Bad Gateway"}},
		{name: "malformed output", b: behavior{output: json.RawMessage(`{"text":`)}, status: 502, code: "PLUGIN_ERROR"},
		{name: "fields cannot override the envelope", b: behavior{perr: &provider.Error{Status: 400, Code: "BAD_INPUT", Message: "bad",
			Fields: map[string]any{"error": "x", "code": "y", "request_id": "z", "field": "prompt"}}},
			status: 400, code: "BAD_INPUT", fields: map[string]any{"error": "bad", "field": "prompt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.d.set("agent", tt.b)
			r := c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}, "X-Request-Id", "req-err-1").
				Expect(t, tt.status, tt.code)
			for k, v := range tt.fields {
				if !reflect.DeepEqual(r.JSON[k], v) {
					t.Errorf("%s = %v; want %v (body %s)", k, r.JSON[k], v, r.Body)
				}
			}
			if r.Str("request_id") != "req-err-1" {
				t.Errorf("request_id = %q; want the request's", r.Str("request_id"))
			}
			if strings.Contains(string(r.Body), "secret detail") || strings.Contains(string(r.Body), "exited") {
				t.Errorf("body %s leaks the transport error", r.Body)
			}
			if _, ok := r.JSON["result"]; ok {
				t.Errorf("an error carries a result: %s", r.Body)
			}
		})
	}
}

func TestSuccessShape(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	e := newEnv(t, func(g *gateway.Gateway) { g.Now = func() time.Time { return now } })
	c, _ := e.user(t, "paid@example.com", "solo")
	for _, tt := range []struct {
		name   string
		output json.RawMessage
		result string
	}{
		{"object", json.RawMessage(`{"text":"hello","n":[1,2]}`), `{"text":"hello","n":[1,2]}`},
		{"string", json.RawMessage(`"hello"`), `"hello"`},
		{"empty output", nil, `null`},
		{"explicit null", json.RawMessage(`null`), `null`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.d.set("agent", behavior{output: tt.output})
			r := c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 200, "")
			if r.Header.Get("X-Plugin-Id") != "agent" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("headers = %v", r.Header)
			}
			var body map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"plugin": `"agent"`, "result": tt.result, "timestamp": `"2030-01-02T03:04:05.6Z"`,
				"payment": `{"method":"stripe","receipt":null}`}
			if len(body) != len(want) {
				t.Errorf("body = %s; want exactly the members %v", r.Body, want)
			}
			for k, v := range want {
				raw, ok := body[k]
				if !ok || !sameJSON(t, raw, v) {
					t.Errorf("%s = %s; want %s", k, raw, v)
				}
			}
		})
	}
}

func TestList(t *testing.T) {
	e := newEnv(t)
	r := e.Client(t).Do("GET", "/api/v1/gateway", nil).Expect(t, 200, "")
	if r.Str("default") != "generate-text" {
		t.Errorf("default = %v", r.JSON["default"])
	}
	got := map[string]map[string]any{}
	list, _ := r.JSON["plugins"].([]any)
	for _, p := range list {
		m := p.(map[string]any)
		got[m["id"].(string)] = m
	}
	for id, want := range map[string]struct {
		price     string
		streaming bool
	}{"generate-text": {"0.01", true}, "tts": {"0.03", false}, "free-thing": {"0.00", false}, "skill:haiku": {"0.25", false}} {
		if p := got[id]; p == nil || p["price"] != want.price || p["streaming"] != want.streaming || p["currency"] != "usd" {
			t.Errorf("%s = %v; want price %s streaming %v", id, got[id], want.price, want.streaming)
		}
	}
}

func TestClientDisconnectDuringCall(t *testing.T) {
	for _, path := range []string{"/api/v1/gateway", "/api/v1/chat/completions"} {
		t.Run(path, func(t *testing.T) {
			e := newEnv(t)
			c, uid := e.user(t, "paid@example.com", "solo")
			started, canceled := make(chan struct{}), make(chan error, 1)
			e.d.set("generate-text", behavior{block: func(ctx context.Context) error {
				close(started)
				select {
				case <-ctx.Done():
					canceled <- ctx.Err()
				case <-time.After(wait):
					canceled <- nil
				}
				// A transport's view of a call canceled under it.
				return errors.Join(provider.ErrUnavailable, context.Canceled)
			}})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			body := strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`)
			req, _ := http.NewRequestWithContext(ctx, "POST", e.URL+path, body)
			req.Header = c.Header.Clone()
			req.Header.Set("Content-Type", "application/json")
			done := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			select {
			case <-started:
			case <-time.After(wait):
				t.Fatal("the call never reached the dispatcher")
			}
			cancel()
			if err := <-canceled; err == nil {
				t.Fatal("the dispatcher's context was not canceled when the client went away")
			}
			<-done
			events := e.waitUsage(t, uid, 1)
			if len(events) != 1 || events[0].Status != 499 || events[0].PriceMicroUSD != 0 {
				t.Errorf("usage = %+v; want one uncharged 499: the caller left, the provider did not fail", events)
			}
		})
	}
}

func TestDirect(t *testing.T) {
	e := newEnvWith(t, nil, func(g *gateway.Gateway, _ *fakeForwarder) []route.Route {
		return []route.Route{{Method: "POST", Path: "/api/skills/:name", Handler: g.Direct("skill:")},
			{Method: "POST", Path: "/api/run/:name", Handler: g.Direct("")}}
	}, tickingClock)
	c, uid := e.user(t, "paid@example.com", "solo")
	unpaid, _ := e.user(t, "unpaid@example.com", "")

	e.d.set("skill:haiku", behavior{output: json.RawMessage(`{"poem":"old pond"}`), usage: provider.Usage{OutputTokens: 3}})
	r := c.Do("POST", "/api/skills/haiku", map[string]any{"topic": "sea", "plugin": "agent"}).Expect(t, 200, "")
	if !sameJSON(t, r.Body, `{"poem":"old pond"}`) || r.Header.Get("X-Plugin-Id") != "skill:haiku" {
		t.Errorf("got %s (X-Plugin-Id %q); want the skill's own output", r.Body, r.Header.Get("X-Plugin-Id"))
	}
	if got := e.d.last(t); got.Req.Capability != "skill:haiku" || !sameJSON(t, got.Req.Input, `{"topic":"sea","plugin":"agent"}`) {
		t.Errorf("dispatched %s with %s", got.Req.Capability, got.Req.Input)
	}

	// Never a stream, even for a streaming id.
	e.d.set("generate-text", behavior{output: json.RawMessage(`"whole"`), stream: chunks(data(`{"delta":"part"}`))})
	r = c.Do("POST", "/api/run/generate-text", map[string]any{"stream": true}).Expect(t, 200, "")
	if string(r.Body) != "\"whole\"\n" || e.d.last(t).Method != "Invoke" {
		t.Errorf("got %q via %s; want the JSON output via Invoke", r.Body, e.d.last(t).Method)
	}
	e.d.set("skill:haiku", behavior{})
	if r := c.Do("POST", "/api/skills/haiku", nil).Expect(t, 200, ""); string(r.Body) != "null\n" {
		t.Errorf("empty output = %q; want null", r.Body)
	}

	c.Do("POST", "/api/skills/nope", map[string]any{}).Expect(t, 404, "UNKNOWN_PLUGIN")
	c.Do("POST", "/api/skills/Bad", map[string]any{}).Expect(t, 400, "INVALID_PLUGIN_ID")
	c.Do("POST", "/api/skills/haiku", `[1]`).Expect(t, 400, "INVALID_JSON")
	c.Do("POST", "/api/run/agent", map[string]any{"stream": 1}).Expect(t, 400, "INVALID_FIELD_TYPE")
	e.Client(t).Do("POST", "/api/skills/haiku", map[string]any{}).Expect(t, 401, "AUTH_REQUIRED")
	if r := unpaid.Do("POST", "/api/skills/haiku", map[string]any{}).Expect(t, 402, "PAYMENT_REQUIRED"); r.JSON["stripe"].(map[string]any)["amount"] != "0.25" {
		t.Errorf("402 = %s; want the skill's price", r.Body)
	}
	e.d.set("skill:haiku", behavior{perr: provider.Errorf(422, "SKILL_FAILED", "trap")})
	c.Do("POST", "/api/skills/haiku", map[string]any{}).Expect(t, 422, "SKILL_FAILED")
	e.d.set("skill:haiku", behavior{output: json.RawMessage(`{"poem":`)})
	c.Do("POST", "/api/skills/haiku", map[string]any{}).Expect(t, 502, "PLUGIN_ERROR")

	var skill []int
	for _, ev := range e.usage(t, uid) {
		if ev.Target == "skill:haiku" {
			skill = append(skill, ev.Status)
			if (ev.Status == 200) != (ev.PriceMicroUSD == 250_000) {
				t.Errorf("usage %+v; want the skill's price charged only on success", ev)
			}
		}
	}
	if !reflect.DeepEqual(skill, []int{200, 200, 422, 502}) {
		t.Errorf("skill usage statuses = %v; want two successes, then the 422 and the 502", skill)
	}
}

// A dispatcher whose catalogue cannot answer is a server error, never "no
// such plugin": the lookup's error reaches the caller as a 500 (logged), and
// the lookup runs on the request's context.
func TestTargetLookupErrorsAreNotUnknownPlugins(t *testing.T) {
	e := newEnv(t)
	c, _ := e.user(t, "paid@example.com", "solo")
	e.d.mu.Lock()
	e.d.lookupErr = errors.New("catalogue down")
	e.d.mu.Unlock()
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 500, "INTERNAL")
	c.Do("GET", "/api/v1/gateway", nil).Expect(t, 500, "INTERNAL")
}
