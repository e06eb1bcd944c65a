package ai_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentbot/gateway/plugins/ai"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

// limitsConfig is the fake's configuration with caps as the host sends them:
// the cheapest plan's for callers without an active plan, and per plan.
func limitsConfig(f *fakeUpstream) map[string]any {
	cfg := f.config()
	cfg["limits"] = map[string]any{"maxTokens": 100, "maxPromptBytes": 50}
	cfg["plans"] = map[string]any{
		"solo":       map[string]any{"tier": "small", "maxTokens": 100, "maxPromptBytes": 50},
		"collective": map[string]any{"tier": "mid", "maxTokens": 200, "maxPromptBytes": 100},
		"network":    map[string]any{"tier": "all"}, // no caps of its own: the contract's
	}
	// A long operator prompt: not the caller's, so never counted.
	cfg["systemPrompt"] = strings.Repeat("You are helpful. ", 20)
	return cfg
}

// A call's price is flat, so each caller's requests are capped: max_tokens
// above the cap is refused (one that names none gets the cap), and so is a
// prompt larger than the cap, in bytes. Callers without an active plan get
// the default (the cheapest plan's) caps; admins the largest; a plan the
// configuration does not list the contract's.
func TestRequestCaps(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, limitsConfig(f))
	active := func(plan string) provider.Caller { return provider.Caller{Plan: plan, SubscriptionStatus: "active"} }
	tests := []struct {
		name      string
		caller    provider.Caller
		maxTokens int // the cap
		maxBytes  int
	}{
		{"no plan (credits, machine payments)", provider.Caller{}, 100, 50},
		{"anonymous machine payer", provider.Caller{RequestID: "r1"}, 100, 50},
		{"collective, active", active("collective"), 200, 100},
		{"collective, upper case", active("COLLECTIVE"), 200, 100},
		{"collective, past due", provider.Caller{Plan: "collective", SubscriptionStatus: "past_due"}, 100, 50},
		{"collective, canceled", provider.Caller{Plan: "collective", SubscriptionStatus: "canceled"}, 100, 50},
		{"solo, active", active("solo"), 100, 50},
		{"network: the contract's caps", active("network"), 8192, 128 << 10},
		{"label: not configured, the contract's caps", active("label"), 4096, 64 << 10},
		{"unknown plan", active("enterprise"), 100, 50},
		{"admin: the largest", provider.Caller{Admin: true}, 8192, 128 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := func(input string) *provider.InvokeResponse {
				f.reset()
				return invoke(t, c, "generate-text", input, tt.caller)
			}
			// No max_tokens: the cap is applied.
			if resp := call(`{"prompt":"Hi"}`); resp.Error != nil {
				t.Fatalf("generate-text without max_tokens error = %s", errString(resp.Error))
			}
			if got := f.last(t).JSON["max_tokens"]; got != float64(tt.maxTokens) {
				t.Errorf("without max_tokens, the upstream got max_tokens %v; want the cap %d", got, tt.maxTokens)
			}
			// At the cap: as asked.
			at, _ := json.Marshal(map[string]any{"prompt": "Hi", "max_tokens": tt.maxTokens})
			if resp := call(string(at)); resp.Error != nil || f.last(t).JSON["max_tokens"] != float64(tt.maxTokens) {
				t.Errorf("generate-text(%s) error = %s; want it passed on", at, errString(resp.Error))
			}
			// Over the cap: refused, naming the limit, before any upstream request.
			over, _ := json.Marshal(map[string]any{"prompt": "Hi", "max_tokens": tt.maxTokens + 1})
			resp := call(string(over))
			if checkErr(t, "generate-text("+string(over)+")", resp.Error, 400, "MAX_TOKENS_EXCEEDED") {
				if resp.Error.Fields["limit"] != float64(tt.maxTokens) || !strings.Contains(resp.Error.Message, "limit of") {
					t.Errorf("error = %s; want it to name the limit %d", errString(resp.Error), tt.maxTokens)
				}
			}
			if n := len(f.requests()); n != 0 {
				t.Errorf("a refused request made %d upstream requests", n)
			}
			// The prompt: the cap in bytes is allowed, one more byte is not.
			fits, _ := json.Marshal(map[string]any{"prompt": strings.Repeat("a", tt.maxBytes)})
			if resp := call(string(fits)); resp.Error != nil {
				t.Errorf("a prompt of %d bytes: error %s; want it allowed", tt.maxBytes, errString(resp.Error))
			}
			big, _ := json.Marshal(map[string]any{"prompt": strings.Repeat("a", tt.maxBytes+1)})
			resp = call(string(big))
			if checkErr(t, "a prompt one byte over", resp.Error, 400, "PROMPT_TOO_LARGE") &&
				(resp.Error.Fields["limit"] != float64(tt.maxBytes) || resp.Error.Fields["size"] != float64(tt.maxBytes+1)) {
				t.Errorf("error = %s; want limit %d and size %d", errString(resp.Error), tt.maxBytes, tt.maxBytes+1)
			}
			if n := len(f.requests()); n != 0 {
				t.Errorf("a refused prompt made %d upstream requests", n)
			}
		})
	}
}

// Prompt size is the caller's text in bytes: every message and the caller's
// own system prompt count, the operator's agent prompt does not.
func TestPromptSizeCounting(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, limitsConfig(f)) // 50 bytes without a plan
	half := strings.Repeat("a", 25)
	tests := []struct {
		name, capability string
		input            map[string]any
		ok               bool
	}{
		{"messages add up", "generate-text", map[string]any{"messages": []any{
			map[string]any{"role": "system", "content": half}, map[string]any{"role": "user", "content": half + "a"}}}, false},
		{"messages at the cap", "generate-text", map[string]any{"messages": []any{
			map[string]any{"role": "user", "content": half}, map[string]any{"role": "assistant", "content": half}}}, true},
		{"bytes, not characters", "generate-text", map[string]any{"prompt": strings.Repeat("é", 26)}, false}, // 52 bytes
		{"message shorthand", "generate-text", map[string]any{"message": strings.Repeat("a", 51)}, false},
		{"agent: the operator's prompt is not counted", "agent", map[string]any{"prompt": strings.Repeat("a", 50)}, true},
		{"agent: the caller's system prompt is", "agent", map[string]any{"prompt": half, "systemPrompt": half + "a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, _ := json.Marshal(tt.input)
			resp := invoke(t, c, tt.capability, string(in), provider.Caller{})
			if tt.ok {
				if resp.Error != nil {
					t.Errorf("%s(%s) error = %s; want it allowed", tt.capability, in, errString(resp.Error))
				}
				return
			}
			checkErr(t, tt.capability+"("+string(in)+")", resp.Error, 400, "PROMPT_TOO_LARGE")
		})
	}
}

// Every way into a model is capped: the gateway ids generate-text and agent,
// unary and streamed (the OpenAI-compatible surface is generate-text), and
// the plugin's own POST /api/ai/chat, on both upstream protocols.
func TestRequestCapsOnEveryPath(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, limitsConfig(f))
	collective := provider.Caller{UserID: "u1", Plan: "collective", SubscriptionStatus: "active"} // 200 tokens, 100 bytes
	type path struct {
		name string
		run  func(input string) (status int, code string)
	}
	unary := func(capability string) func(string) (int, string) {
		return func(input string) (int, string) {
			resp := invoke(t, c, capability, input, collective)
			if resp.Error != nil {
				return resp.Error.Status, resp.Error.Code
			}
			return 200, ""
		}
	}
	streamed := func(capability string) func(string) (int, string) {
		return func(input string) (int, string) {
			chunks := providertest.Collect(t, c, &provider.InvokeRequest{Capability: capability, Input: json.RawMessage(input), Caller: collective})
			for _, ch := range chunks {
				if ch.Error != nil {
					return ch.Error.Status, ch.Error.Code
				}
			}
			return 200, ""
		}
	}
	route := func(stream bool) func(string) (int, string) {
		return func(input string) (int, string) {
			var body map[string]any
			_ = json.Unmarshal([]byte(input), &body)
			if p, ok := body["prompt"]; ok {
				delete(body, "prompt")
				body["messages"] = []any{map[string]any{"role": "user", "content": p}}
			}
			body["stream"] = stream
			b, _ := json.Marshal(body)
			res := do(t, c, &provider.HTTPRequest{Method: "POST", Path: "/api/ai/chat", Body: b, Caller: collective})
			if res.Status != 200 {
				code, _ := res.json(t, "/api/ai/chat")["code"].(string)
				return res.Status, code
			}
			return 200, ""
		}
	}
	paths := []path{
		{"generate-text", unary("generate-text")}, {"agent", unary("agent")},
		{"generate-text streamed", streamed("generate-text")}, {"agent streamed", streamed("agent")},
		{"/api/ai/chat", route(false)}, {"/api/ai/chat streamed", route(true)},
	}
	for _, p := range paths {
		for _, model := range []string{"gpt-4o", "claude-3-5-sonnet"} { // OpenAI and Anthropic protocols
			t.Run(p.name+"/"+model, func(t *testing.T) {
				in := func(v map[string]any) string {
					v["model"] = model
					b, _ := json.Marshal(v)
					return string(b)
				}
				f.reset()
				if status, code := p.run(in(map[string]any{"prompt": "Hi"})); status != 200 {
					t.Fatalf("a request within the caps = %d %s; want 200", status, code)
				}
				if got := f.last(t).JSON["max_tokens"]; got != float64(200) {
					t.Errorf("the upstream got max_tokens %v; want the plan's cap 200", got)
				}
				f.reset()
				if status, code := p.run(in(map[string]any{"prompt": "Hi", "max_tokens": 201})); status != 400 || code != "MAX_TOKENS_EXCEEDED" {
					t.Errorf("max_tokens over the cap = %d %s; want 400 MAX_TOKENS_EXCEEDED", status, code)
				}
				if status, code := p.run(in(map[string]any{"prompt": strings.Repeat("a", 101)})); status != 400 || code != "PROMPT_TOO_LARGE" {
					t.Errorf("a prompt over the cap = %d %s; want 400 PROMPT_TOO_LARGE", status, code)
				}
				if n := len(f.requests()); n != 0 {
					t.Errorf("refused requests made %d upstream requests", n)
				}
			})
		}
	}
}

func TestConfigureRejectsBadLimits(t *testing.T) {
	c := providertest.Serve(t, ai.New())
	for _, cfg := range []string{
		`{"limits":{"maxTokens":-1}}`,
		`{"limits":{"maxTokens":1000001}}`,
		`{"limits":{"maxPromptBytes":-5}}`,
		`{"plans":{"solo":{"maxTokens":-1}}}`,
		`{"plans":{"solo":{"maxPromptBytes":"lots"}}}`,
	} {
		resp, err := c.Configure(t.Context(), &provider.ConfigureRequest{Config: json.RawMessage(cfg)})
		if err != nil {
			t.Fatal(err)
		}
		checkErr(t, "Configure("+cfg+")", resp.Error, 400, "INVALID_CONFIG")
	}
}
