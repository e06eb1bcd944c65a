package ai_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentbot/gateway/plugins/ai"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

func TestConfigure(t *testing.T) {
	model := func(id, prov, tier string, in, out int) string {
		b, _ := json.Marshal(map[string]any{"id": id, "name": id, "provider": prov, "tier": tier,
			"inputPer1kMicroUsd": in, "outputPer1kMicroUsd": out})
		return string(b)
	}
	tests := []struct {
		name   string
		config string
		// wantErr lists substrings of the error message; none means the configuration is valid.
		wantErr []string
	}{
		{name: "no config", config: ""},
		{name: "empty object", config: `{}`},
		{name: "keys and a local server", config: `{"upstreams":{"openai":{"apiKey":"sk-1"},
			"local":{"baseUrl":"http://127.0.0.1:1234/v1"}},"systemPrompt":"Be terse."}`},
		{name: "default model from the default table", config: `{"defaultModel":"claude-3-5-sonnet"}`},
		{name: "custom table", config: `{"models":[` + model("m1", "openai", "small", 1, 2) + `],"defaultModel":"m1"}`},
		{name: "not JSON", config: `{"upstreams":`, wantErr: []string{"not valid JSON"}},
		{name: "baseUrl not a URL", config: `{"upstreams":{"openai":{"baseUrl":"api.openai.com/v1"}}}`,
			wantErr: []string{`"openai"`, "baseUrl"}},
		{name: "baseUrl wrong scheme", config: `{"upstreams":{"groq":{"baseUrl":"ftp://example.com/v1"}}}`,
			wantErr: []string{`"groq"`, "baseUrl"}},
		{name: "new upstream without baseUrl", config: `{"upstreams":{"local":{"apiKey":"k"}}}`,
			wantErr: []string{`"local"`, "baseUrl"}},
		{name: "unknown protocol", config: `{"upstreams":{"local":{"baseUrl":"http://127.0.0.1:1/v1","protocol":"grpc"}}}`,
			wantErr: []string{`"local"`, "protocol"}},
		{name: "duplicate model id", config: `{"models":[` + model("m1", "openai", "small", 1, 2) + `,` +
			model("m1", "groq", "mid", 1, 2) + `],"defaultModel":"m1"}`, wantErr: []string{`"m1"`, "twice"}},
		{name: "model without id", config: `{"models":[` + model("", "openai", "small", 1, 2) + `]}`,
			wantErr: []string{"no id"}},
		{name: "unknown provider", config: `{"models":[` + model("m1", "mistral", "small", 1, 2) + `],"defaultModel":"m1"}`,
			wantErr: []string{`"m1"`, `unknown provider "mistral"`}},
		{name: "bad tier", config: `{"models":[` + model("m1", "openai", "huge", 1, 2) + `],"defaultModel":"m1"}`,
			wantErr: []string{`"m1"`, "tier"}},
		{name: "missing tier", config: `{"models":[` + model("m1", "openai", "", 1, 2) + `],"defaultModel":"m1"}`,
			wantErr: []string{`"m1"`, "tier"}},
		{name: "negative input price", config: `{"models":[` + model("m1", "openai", "small", -1, 2) + `],"defaultModel":"m1"}`,
			wantErr: []string{`"m1"`, "negative"}},
		{name: "negative output price", config: `{"models":[` + model("m1", "openai", "small", 1, -2) + `],"defaultModel":"m1"}`,
			wantErr: []string{`"m1"`, "negative"}},
		{name: "defaultModel not in table", config: `{"defaultModel":"gpt-5"}`, wantErr: []string{`"gpt-5"`, "defaultModel"}},
		{name: "defaultModel missing from custom table", config: `{"models":[` + model("m1", "openai", "small", 1, 2) +
			`],"defaultModel":"gpt-4o-mini"}`, wantErr: []string{`"gpt-4o-mini"`, "defaultModel"}},
	}
	c := providertest.Serve(t, ai.New())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.Configure(context.Background(), &provider.ConfigureRequest{Config: json.RawMessage(tt.config)})
			if err != nil {
				t.Fatalf("Configure(%q) = %v", tt.config, err)
			}
			if len(tt.wantErr) == 0 {
				if resp.Error != nil {
					t.Errorf("Configure(%q) = %s; want no error", tt.config, errString(resp.Error))
				}
				return
			}
			if !checkErr(t, "Configure("+tt.config+")", resp.Error, 400, "INVALID_CONFIG") {
				return
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(resp.Error.Message, s) {
					t.Errorf("Configure(%q) message = %q; want it to mention %q", tt.config, resp.Error.Message, s)
				}
			}
		})
	}
}

// A custom model table replaces the default one: only its models are listed, selected and callable.
func TestConfigureCustomModelTable(t *testing.T) {
	f := newFakeUpstream(t)
	cfg := f.config()
	cfg["upstreams"].(map[string]any)["local"] = map[string]any{"baseUrl": f.baseURL("local")}
	cfg["models"] = []map[string]any{
		{"id": "local-llama", "name": "Local Llama", "provider": "local", "tier": "small", "upstream": "llama-3.1-8b-instruct",
			"tags": []string{"general"}, "inputPer1kMicroUsd": 0, "outputPer1kMicroUsd": 0},
		{"id": "local-coder", "name": "Local Coder", "provider": "local", "tier": "small",
			"tags": []string{"code"}, "inputPer1kMicroUsd": 10, "outputPer1kMicroUsd": 20},
	}
	cfg["defaultModel"] = "local-llama"
	c := serveAI(t, f, cfg)

	res := do(t, c, &provider.HTTPRequest{Method: "GET", Path: "/api/ai/models"})
	body := res.json(t, "GET /api/ai/models")
	var ids []string
	for _, m := range body["models"].([]any) {
		ids = append(ids, m.(map[string]any)["id"].(string))
	}
	if want := []string{"local-llama", "local-coder"}; !equal(ids, want) || body["count"] != float64(2) {
		t.Errorf("GET /api/ai/models ids = %v, count %v; want %v, count 2", ids, body["count"], want)
	}

	tests := []struct {
		input        string
		wantStatus   int    // 0: success
		wantUpstream string // the model name the local server receives
	}{
		{input: `{"prompt":"hi"}`, wantUpstream: "llama-3.1-8b-instruct"},
		{input: `{"prompt":"hi","taskType":"code"}`, wantUpstream: "local-coder"},
		{input: `{"prompt":"hi","model":"local-coder"}`, wantUpstream: "local-coder"},
		{input: `{"prompt":"hi","model":"gpt-4o-mini"}`, wantStatus: 404},
	}
	for _, tt := range tests {
		f.reset()
		resp := invoke(t, c, "generate-text", tt.input, provider.Caller{Plan: "solo"})
		if tt.wantStatus != 0 {
			checkErr(t, "generate-text("+tt.input+")", resp.Error, tt.wantStatus, "MODEL_NOT_FOUND")
			continue
		}
		if resp.Error != nil {
			t.Errorf("generate-text(%q) error = %s; want none", tt.input, errString(resp.Error))
			continue
		}
		r := f.last(t)
		if r.Provider != "local" || r.JSON["model"] != tt.wantUpstream || r.Header.Get("Authorization") != "" {
			t.Errorf("generate-text(%q) called %s with model %v, Authorization %q; want local with %q and no key",
				tt.input, r.Provider, r.JSON["model"], r.Header.Get("Authorization"), tt.wantUpstream)
		}
	}
}

// A rejected configuration leaves the previous one in force.
func TestConfigureRejectedKeepsPrevious(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	resp, err := c.Configure(context.Background(), &provider.ConfigureRequest{Config: json.RawMessage(`{"defaultModel":"nope"}`)})
	if err != nil || resp.Error == nil {
		t.Fatalf("Configure(%q) = %v, %v; want an INVALID_CONFIG error", `{"defaultModel":"nope"}`, resp, err)
	}
	out := invoke(t, c, "generate-text", `{"prompt":"hi"}`, provider.Caller{Plan: "solo"})
	if out.Error != nil {
		t.Fatalf("generate-text after a rejected Configure error = %s; want none", errString(out.Error))
	}
	if r := f.last(t); r.Provider != "openai" || r.Header.Get("Authorization") != "Bearer "+platformKeys["openai"] {
		t.Errorf("generate-text after a rejected Configure called %s with %q; want openai with the platform key",
			r.Provider, r.Header.Get("Authorization"))
	}
}
