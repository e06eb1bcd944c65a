package ai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/sdk/provider"
)

// Models by the smallest tier that may use them, in table order.
var (
	smallModels   = []string{"gpt-4o-mini", "gemini-2.0-flash", "llama-3.3-70b-versatile"}
	midModels     = append(slices.Clone(smallModels), "gpt-4o", "claude-3-5-sonnet")
	largeModels   = append(slices.Clone(midModels), "gpt-4-turbo", "claude-3-opus")
	networkModels = append(slices.Clone(largeModels), "openrouter/auto")
)

func TestGenerateTextInput(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct {
		name  string
		input string
		// wantMessages is what the upstream receives; empty when the call fails with wantCode.
		wantMessages []map[string]any
		wantCode     string
		wantStatus   int
		wantOptions  map[string]any // other upstream body fields
	}{
		{name: "prompt shorthand", input: `{"prompt":"Hi"}`,
			wantMessages: []map[string]any{{"role": "user", "content": "Hi"}}},
		{name: "message shorthand", input: `{"message":"Hi"}`,
			wantMessages: []map[string]any{{"role": "user", "content": "Hi"}}},
		{name: "messages", input: `{"messages":[{"role":"system","content":"S"},{"role":"user","content":"U"},
			{"role":"assistant","content":"A"},{"role":"user","content":"U2"}]}`,
			wantMessages: []map[string]any{{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
				{"role": "assistant", "content": "A"}, {"role": "user", "content": "U2"}}},
		{name: "messages win over prompt", input: `{"prompt":"P","messages":[{"role":"user","content":"M"}]}`,
			wantMessages: []map[string]any{{"role": "user", "content": "M"}}},
		{name: "options passed on", input: `{"prompt":"Hi","temperature":0,"top_p":1,"max_tokens":1}`,
			wantMessages: []map[string]any{{"role": "user", "content": "Hi"}},
			wantOptions:  map[string]any{"temperature": float64(0), "top_p": float64(1), "max_tokens": float64(1)}},
		{name: "upper bounds", input: `{"prompt":"Hi","temperature":2,"top_p":0,"max_tokens":1024}`, // 1024: the cap
			wantMessages: []map[string]any{{"role": "user", "content": "Hi"}},
			wantOptions:  map[string]any{"temperature": float64(2), "top_p": float64(0), "max_tokens": float64(1024)}},
		{name: "empty input", input: ``, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "no prompt", input: `{}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "blank prompt", input: `{"prompt":"   "}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "empty messages", input: `{"messages":[]}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "not JSON", input: `{"prompt":`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "messages not an array", input: `{"messages":"hi"}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "role tool", input: `{"messages":[{"role":"tool","content":"x"}]}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "role missing", input: `{"messages":[{"role":"user","content":"a"},{"content":"x"}]}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "role upper case", input: `{"messages":[{"role":"User","content":"x"}]}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "temperature negative", input: `{"prompt":"Hi","temperature":-0.1}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "temperature too high", input: `{"prompt":"Hi","temperature":2.01}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "top_p negative", input: `{"prompt":"Hi","top_p":-0.5}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "top_p too high", input: `{"prompt":"Hi","top_p":1.5}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "max_tokens zero", input: `{"prompt":"Hi","max_tokens":0}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "max_tokens too high", input: `{"prompt":"Hi","max_tokens":1000001}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "max_tokens not integer", input: `{"prompt":"Hi","max_tokens":1.5}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "unknown model", input: `{"prompt":"Hi","model":"gpt-5"}`, wantStatus: 404, wantCode: "MODEL_NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.reset()
			resp := invoke(t, c, "generate-text", tt.input, provider.Caller{Plan: "solo"})
			if tt.wantCode != "" {
				checkErr(t, "generate-text("+tt.input+")", resp.Error, tt.wantStatus, tt.wantCode)
				if n := len(f.requests()); n != 0 {
					t.Errorf("generate-text(%q) made %d upstream requests; want 0", tt.input, n)
				}
				return
			}
			if resp.Error != nil {
				t.Fatalf("generate-text(%q) error = %s; want none", tt.input, errString(resp.Error))
			}
			r := f.last(t)
			var got []map[string]any
			for _, m := range r.JSON["messages"].([]any) {
				got = append(got, m.(map[string]any))
			}
			if !equal(got, tt.wantMessages) {
				t.Errorf("generate-text(%q) sent messages %v; want %v", tt.input, got, tt.wantMessages)
			}
			for k, v := range tt.wantOptions {
				if r.JSON[k] != v {
					t.Errorf("generate-text(%q) sent %s = %v; want %v", tt.input, k, r.JSON[k], v)
				}
			}
		})
	}
}

func TestGenerateTextOutput(t *testing.T) {
	f := newFakeUpstream(t)
	f.setUsage(19, 2)
	c := serveAI(t, f, nil)
	before := time.Now().UTC().Add(-time.Second)
	resp := invoke(t, c, "generate-text", `{"prompt":"Hi"}`, provider.Caller{Plan: "solo"})
	if resp.Error != nil {
		t.Fatalf("generate-text error = %s; want none", errString(resp.Error))
	}
	out := decode(t, "generate-text output", resp.Output)
	ts, err := time.Parse(time.RFC3339Nano, out["timestamp"].(string))
	if err != nil || ts.Before(before) || ts.After(time.Now().Add(time.Second)) || ts.Location() != time.UTC {
		t.Errorf("generate-text timestamp = %v (%v); want an RFC 3339 UTC time of now", out["timestamp"], err)
	}
	delete(out, "timestamp")
	want := map[string]any{
		"id": "chatcmpl-1", "model": "gpt-4o-mini", "provider": "openai",
		"message":      map[string]any{"role": "assistant", "content": "Hello there"},
		"finishReason": "stop",
		"usage":        map[string]any{"promptTokens": float64(19), "completionTokens": float64(2), "totalTokens": float64(21)},
	}
	if !equal(out, want) {
		t.Errorf("generate-text output = %v; want %v", out, want)
	}
	// (19·150 + 2·600)/1000 = 4.05 micro-USD, rounded up.
	wantUsage := provider.Usage{InputTokens: 19, OutputTokens: 2, CostMicroUSD: 5, Model: "gpt-4o-mini"}
	if resp.Usage != wantUsage {
		t.Errorf("generate-text usage = %+v; want %+v", resp.Usage, wantUsage)
	}
}

// The cost is ceil((in·inPer1K + out·outPer1K)/1000) micro-USD for the model that answered.
func TestGenerateTextCost(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct {
		model   string
		in, out int64
		want    int64
	}{
		{"gpt-4o-mini", 1000, 500, 450},
		{"gpt-4o-mini", 1, 0, 1},
		{"gpt-4o-mini", 0, 0, 0},
		{"gemini-2.0-flash", 3, 3, 2},
		{"llama-3.3-70b-versatile", 1000, 1000, 1380},
		{"gpt-4o", 1234, 567, 8755},
		{"claude-3-5-sonnet", 1000, 500, 10500},
		{"gpt-4-turbo", 1, 1, 40},
		{"claude-3-opus", 100_000, 4096, 1_807_200},
		{"openrouter/auto", 7, 3, 66},
	}
	for _, tt := range tests {
		f.setUsage(tt.in, tt.out)
		resp := invoke(t, c, "generate-text", `{"prompt":"Hi","model":"`+tt.model+`"}`, provider.Caller{Plan: "network"})
		if resp.Error != nil {
			t.Errorf("generate-text(%q) error = %s; want none", tt.model, errString(resp.Error))
			continue
		}
		want := provider.Usage{InputTokens: tt.in, OutputTokens: tt.out, CostMicroUSD: tt.want, Model: tt.model}
		if resp.Usage != want {
			t.Errorf("generate-text(%q) with %d in, %d out usage = %+v; want %+v", tt.model, tt.in, tt.out, resp.Usage, want)
		}
	}
}

func TestGenerateTextPlanGating(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct {
		name    string
		caller  provider.Caller
		allowed []string
	}{
		{"no plan", provider.Caller{}, smallModels},
		{"free", provider.Caller{Plan: "free"}, smallModels},
		{"solo", provider.Caller{Plan: "solo"}, smallModels},
		{"unknown plan", provider.Caller{Plan: "enterprise"}, smallModels},
		{"collective", provider.Caller{Plan: "collective"}, midModels},
		{"label", provider.Caller{Plan: "label"}, largeModels},
		{"label upper case", provider.Caller{Plan: "LABEL"}, largeModels},
		{"network", provider.Caller{Plan: "network"}, networkModels},
		{"admin without plan", provider.Caller{Admin: true}, networkModels},
		{"admin on solo", provider.Caller{Admin: true, Plan: "solo"}, networkModels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, id := range networkModels {
				input := `{"prompt":"Hi","model":"` + id + `"}`
				resp := invoke(t, c, "generate-text", input, tt.caller)
				if slices.Contains(tt.allowed, id) {
					if resp.Error != nil {
						t.Errorf("generate-text(%q) for %+v error = %s; want none", input, tt.caller, errString(resp.Error))
					} else if out := decode(t, "output", resp.Output); out["model"] != id {
						t.Errorf("generate-text(%q) model = %v; want %v", input, out["model"], id)
					}
					continue
				}
				if !checkErr(t, "generate-text("+input+") for "+tt.name, resp.Error, 403, "MODEL_RESTRICTED") {
					continue
				}
				if got := strs(resp.Error.Fields["allowedModels"]); !equal(got, tt.allowed) {
					t.Errorf("generate-text(%q) for %q allowedModels = %v; want %v", input, tt.name, got, tt.allowed)
				}
				if !strings.Contains(resp.Error.Message, id) {
					t.Errorf("generate-text(%q) message = %q; want it to name %q", input, resp.Error.Message, id)
				}
			}
		})
	}
}

// The host's plan configuration replaces the contract's tiers: a plan may be
// given a tier, or an explicit model list.
func TestGenerateTextPlanOverrides(t *testing.T) {
	f := newFakeUpstream(t)
	cfg := f.config()
	cfg["plans"] = map[string]any{"solo": map[string]any{"models": []string{"gpt-4o"}},
		"collective": map[string]any{"tier": "all"}, "label": map[string]any{"tier": "small"}}
	c := serveAI(t, f, cfg)
	for _, tt := range []struct {
		plan    string
		allowed []string
	}{
		{"solo", []string{"gpt-4o"}},
		{"collective", networkModels},
		{"label", smallModels},
		{"network", networkModels}, // not overridden: the contract's tier
	} {
		for _, id := range networkModels {
			resp := invoke(t, c, "generate-text", `{"prompt":"Hi","model":"`+id+`"}`, provider.Caller{Plan: tt.plan})
			if want := slices.Contains(tt.allowed, id); want != (resp.Error == nil) {
				t.Errorf("plan %s, model %s: error %v; want allowed=%v", tt.plan, id, errString(resp.Error), want)
			}
		}
	}
}

func TestGenerateTextModelSelection(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct {
		taskType string
		caller   provider.Caller
		want     string
	}{
		{"", provider.Caller{Plan: "solo"}, "gpt-4o-mini"},
		{"general", provider.Caller{Plan: "network"}, "gpt-4o-mini"},
		{"no-such-task", provider.Caller{Plan: "label"}, "gpt-4o-mini"},
		{"code", provider.Caller{Plan: "solo"}, "gpt-4o-mini"}, // no small code model: the default
		{"code", provider.Caller{Plan: "collective"}, "claude-3-5-sonnet"},
		{"coding", provider.Caller{Plan: "label"}, "claude-3-5-sonnet"},
		{"CODE", provider.Caller{Admin: true}, "claude-3-5-sonnet"},
		{"reasoning", provider.Caller{Plan: "collective"}, "gpt-4o"},
		{"reasoning", provider.Caller{Plan: "solo"}, "gpt-4o-mini"},
		{"long-context", provider.Caller{Plan: "solo"}, "gemini-2.0-flash"},
		{"writing", provider.Caller{Plan: "label"}, "claude-3-5-sonnet"},
	}
	for _, tt := range tests {
		input := `{"prompt":"Hi","taskType":"` + tt.taskType + `"}`
		resp := invoke(t, c, "generate-text", input, tt.caller)
		if resp.Error != nil {
			t.Errorf("generate-text(%q) for %+v error = %s; want none", input, tt.caller, errString(resp.Error))
			continue
		}
		if got := decode(t, "output", resp.Output)["model"]; got != tt.want {
			t.Errorf("generate-text(%q) for plan %q model = %v; want %v", input, tt.caller.Plan, got, tt.want)
		}
	}
}

// Each model goes to its provider's upstream under its upstream name, with the platform key or the caller's own.
func TestGenerateTextUpstreamRouting(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct {
		model        string
		credentials  map[string]string
		wantProvider string
		wantPath     string
		wantUpstream string
		wantHeaders  map[string]string // "" means absent
	}{
		{model: "gpt-4o-mini", wantProvider: "openai", wantPath: "/v1/chat/completions", wantUpstream: "gpt-4o-mini",
			wantHeaders: map[string]string{"Authorization": "Bearer sk-platform-openai", "x-api-key": ""}},
		{model: "gemini-2.0-flash", wantProvider: "gemini", wantPath: "/v1/chat/completions", wantUpstream: "gemini-2.0-flash",
			wantHeaders: map[string]string{"Authorization": "Bearer gem-platform"}},
		{model: "llama-3.3-70b-versatile", wantProvider: "groq", wantPath: "/v1/chat/completions",
			wantUpstream: "llama-3.3-70b-versatile", wantHeaders: map[string]string{"Authorization": "Bearer gsk-platform"}},
		{model: "openrouter/auto", wantProvider: "openrouter", wantPath: "/v1/chat/completions", wantUpstream: "openrouter/auto",
			wantHeaders: map[string]string{"Authorization": "Bearer sk-or-platform"}},
		{model: "claude-3-5-sonnet", wantProvider: "anthropic", wantPath: "/v1/messages", wantUpstream: "claude-3-5-sonnet-latest",
			wantHeaders: map[string]string{"x-api-key": "sk-ant-platform", "Authorization": "", "anthropic-version": "2023-06-01"}},
		{model: "claude-3-opus", wantProvider: "anthropic", wantPath: "/v1/messages", wantUpstream: "claude-3-opus-latest",
			wantHeaders: map[string]string{"x-api-key": "sk-ant-platform"}},
		{model: "gpt-4o", credentials: map[string]string{"openai": "sk-user-own"}, wantProvider: "openai",
			wantPath: "/v1/chat/completions", wantUpstream: "gpt-4o", wantHeaders: map[string]string{"Authorization": "Bearer sk-user-own"}},
		{model: "gpt-4o", credentials: map[string]string{"anthropic": "sk-ant-user"}, wantProvider: "openai",
			wantPath: "/v1/chat/completions", wantUpstream: "gpt-4o", wantHeaders: map[string]string{"Authorization": "Bearer sk-platform-openai"}},
		{model: "claude-3-5-sonnet", credentials: map[string]string{"anthropic": "sk-ant-user"}, wantProvider: "anthropic",
			wantPath: "/v1/messages", wantUpstream: "claude-3-5-sonnet-latest", wantHeaders: map[string]string{"x-api-key": "sk-ant-user"}},
		{model: "claude-3-5-sonnet", credentials: map[string]string{"anthropic": ""}, wantProvider: "anthropic",
			wantPath: "/v1/messages", wantUpstream: "claude-3-5-sonnet-latest", wantHeaders: map[string]string{"x-api-key": "sk-ant-platform"}},
	}
	for _, tt := range tests {
		f.reset()
		input := `{"prompt":"Hi","model":"` + tt.model + `"}`
		resp := invoke(t, c, "generate-text", input, provider.Caller{Plan: "network", Credentials: tt.credentials})
		if resp.Error != nil {
			t.Errorf("generate-text(%q) error = %s; want none", input, errString(resp.Error))
			continue
		}
		r := f.last(t)
		if r.Provider != tt.wantProvider || r.Path != tt.wantPath || r.JSON["model"] != tt.wantUpstream {
			t.Errorf("generate-text(%q) called %s %s with model %v; want %s %s with %q",
				input, r.Provider, r.Path, r.JSON["model"], tt.wantProvider, tt.wantPath, tt.wantUpstream)
		}
		for k, v := range tt.wantHeaders {
			if got := r.Header.Get(k); got != v {
				t.Errorf("generate-text(%q) with credentials %v sent %s = %q; want %q", input, tt.credentials, k, got, v)
			}
		}
		out := decode(t, "output", resp.Output)
		if out["model"] != tt.model || out["provider"] != tt.wantProvider {
			t.Errorf("generate-text(%q) output model, provider = %v, %v; want %v, %v",
				input, out["model"], out["provider"], tt.model, tt.wantProvider)
		}
	}
}

func TestAgentSystemPrompt(t *testing.T) {
	f := newFakeUpstream(t)
	tests := []struct {
		name       string
		configured string // systemPrompt in the configuration; "" keeps the default
		input      string
		want       []map[string]any
	}{
		{name: "configured prompt", configured: "You are a test bot.", input: `{"prompt":"Hi"}`,
			want: []map[string]any{{"role": "system", "content": "You are a test bot."}, {"role": "user", "content": "Hi"}}},
		{name: "input prompt wins", configured: "You are a test bot.", input: `{"prompt":"Hi","systemPrompt":"Talk like a pirate."}`,
			want: []map[string]any{{"role": "system", "content": "Talk like a pirate."}, {"role": "user", "content": "Hi"}}},
		{name: "prepended to messages", configured: "SP", input: `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}`,
			want: []map[string]any{{"role": "system", "content": "SP"}, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config()
			if tt.configured != "" {
				cfg["systemPrompt"] = tt.configured
			}
			c := serveAI(t, f, cfg)
			f.reset()
			resp := invoke(t, c, "agent", tt.input, provider.Caller{Plan: "solo"})
			if resp.Error != nil {
				t.Fatalf("agent(%q) error = %s; want none", tt.input, errString(resp.Error))
			}
			var got []map[string]any
			for _, m := range f.last(t).JSON["messages"].([]any) {
				got = append(got, m.(map[string]any))
			}
			if !equal(got, tt.want) {
				t.Errorf("agent(%q) sent messages %v; want %v", tt.input, got, tt.want)
			}
		})
	}

	// The default configuration has a system prompt too; generate-text adds none.
	c := serveAI(t, f, nil)
	for _, tc := range []struct {
		capability string
		wantSystem bool
	}{{"agent", true}, {"generate-text", false}} {
		f.reset()
		if resp := invoke(t, c, tc.capability, `{"prompt":"Hi"}`, provider.Caller{Plan: "solo"}); resp.Error != nil {
			t.Fatalf("%s error = %s; want none", tc.capability, errString(resp.Error))
		}
		msgs := f.last(t).JSON["messages"].([]any)
		first := msgs[0].(map[string]any)
		gotSystem := first["role"] == "system" && strings.Contains(first["content"].(string), "Agentbot")
		if gotSystem != tc.wantSystem || (!tc.wantSystem && len(msgs) != 1) {
			t.Errorf("%s(%q) sent messages %v; want system prompt %v", tc.capability, `{"prompt":"Hi"}`, msgs, tc.wantSystem)
		}
	}
}

func TestGenerateTextUpstreamErrors(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct {
		name       string
		status     int
		headers    map[string]string
		wantStatus int
		wantCode   string
		wantFields map[string]any
	}{
		{"rate limited", 429, map[string]string{"Retry-After": "7"}, 429, "UPSTREAM_RATE_LIMITED", map[string]any{"retryAfter": float64(7)}},
		{"rate limited without hint", 429, nil, 429, "UPSTREAM_RATE_LIMITED", nil},
		{"rate limited, sub-second hint rounds up", 429, map[string]string{"Retry-After-Ms": "1500"}, 429,
			"UPSTREAM_RATE_LIMITED", map[string]any{"retryAfter": float64(2)}},
		{"rate limited, half-second hint is not zero", 429, map[string]string{"Retry-After-Ms": "500"}, 429,
			"UPSTREAM_RATE_LIMITED", map[string]any{"retryAfter": float64(1)}},
		{"bad key", 401, nil, 502, "UPSTREAM_AUTH", nil},
		{"forbidden", 403, nil, 502, "UPSTREAM_AUTH", nil},
		{"bad request", 400, nil, 400, "UPSTREAM_REJECTED", nil},
		{"server error", 500, nil, 502, "UPSTREAM_ERROR", nil},
		{"overloaded", 503, nil, 502, "UPSTREAM_ERROR", nil},
	}
	for _, tt := range tests {
		f.setRespond(upstreamError(tt.status, tt.headers))
		resp := invoke(t, c, "generate-text", `{"prompt":"Hi"}`, provider.Caller{Plan: "solo"})
		if checkErr(t, "generate-text with upstream "+tt.name, resp.Error, tt.wantStatus, tt.wantCode) && !equal(resp.Error.Fields, tt.wantFields) {
			t.Errorf("generate-text with upstream %q fields = %v; want %v", tt.name, resp.Error.Fields, tt.wantFields)
		}
		if resp.Error != nil && strings.Contains(resp.Error.Message, platformKeys["openai"]) {
			t.Errorf("generate-text with upstream %q message %q contains the API key", tt.name, resp.Error.Message)
		}
	}
}

// An upstream that is not running is a 502, not a crash.
func TestGenerateTextUpstreamDown(t *testing.T) {
	f := newFakeUpstream(t)
	cfg := f.config()
	f.srv.Close()
	c := serveAI(t, f, cfg)
	resp := invoke(t, c, "generate-text", `{"prompt":"Hi"}`, provider.Caller{Plan: "solo"})
	checkErr(t, "generate-text with the upstream down", resp.Error, 502, "UPSTREAM_ERROR")
	if resp.Error != nil && (strings.Contains(resp.Error.Message, "dial") || !strings.Contains(resp.Error.Message, "(connection refused)")) {
		t.Errorf("message %q; want the host named without the socket's details", resp.Error.Message)
	}
}

func TestInvokeUnknownCapability(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	resp := invoke(t, c, "image", `{}`, provider.Caller{Plan: "solo"})
	checkErr(t, "Invoke(image)", resp.Error, 404, "UNKNOWN_PLUGIN")
}

// Calls and reconfigurations may overlap; every call sees one whole configuration.
func TestConcurrentCallsAndConfigure(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%5 == 0 {
				cfg := f.config()
				cfg["systemPrompt"] = fmt.Sprintf("prompt %d", i)
				raw, _ := json.Marshal(cfg)
				resp, err := c.Configure(context.Background(), &provider.ConfigureRequest{Config: raw})
				if err != nil || resp.Error != nil {
					t.Errorf("Configure(%d) = %v, %v; want no error", i, resp, err)
				}
				return
			}
			resp, err := c.Invoke(context.Background(), &provider.InvokeRequest{Capability: "agent",
				Input: json.RawMessage(`{"prompt":"Hi"}`), Caller: provider.Caller{Plan: "solo"}})
			if err != nil || resp.Error != nil {
				t.Errorf("agent(%d) = %v, %v; want no error", i, resp, err)
			}
		}()
	}
	wg.Wait()
}
