package ai_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/plugins/ai"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

var activeSolo = provider.Caller{UserID: "u1", Plan: "solo", SubscriptionStatus: "active"}

func TestHealthRoute(t *testing.T) {
	f := newFakeUpstream(t)
	all := func(baseURL, key string) map[string]any {
		ups := map[string]any{}
		for name := range platformKeys {
			u := map[string]any{"baseUrl": baseURL}
			if key != "" {
				u["apiKey"] = key
			}
			ups[name] = u
		}
		return map[string]any{"upstreams": ups}
	}
	none := map[string]any{"openai": false, "anthropic": false, "openrouter": false, "groq": false, "gemini": false}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range none {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name          string
		config        map[string]any // nil: the defaults
		wantStatus    int
		wantState     string
		wantProviders map[string]any
	}{
		{name: "no keys", wantStatus: 503, wantState: "error", wantProviders: none},
		{name: "one key", config: map[string]any{"upstreams": map[string]any{"openai": map[string]any{"apiKey": "sk-1"}}},
			wantStatus: 200, wantState: "degraded", wantProviders: with(map[string]any{"openai": true})},
		{name: "every key", config: f.config(), wantStatus: 200, wantState: "healthy",
			wantProviders: with(map[string]any{"openai": true, "anthropic": true, "openrouter": true, "groq": true, "gemini": true})},
		{name: "localhost without keys", config: all("http://localhost:11434/v1", ""), wantStatus: 200, wantState: "healthy",
			wantProviders: with(map[string]any{"openai": true, "anthropic": true, "openrouter": true, "groq": true, "gemini": true})},
		{name: "127.0.0.1 without keys", config: all("http://127.0.0.1:1234/v1", ""), wantStatus: 200, wantState: "healthy",
			wantProviders: with(map[string]any{"openai": true, "anthropic": true, "openrouter": true, "groq": true, "gemini": true})},
		{name: "IPv6 loopback without keys", config: all("http://[::1]:8080/v1", ""), wantStatus: 200, wantState: "healthy",
			wantProviders: with(map[string]any{"openai": true, "anthropic": true, "openrouter": true, "groq": true, "gemini": true})},
		{name: "a local server alone",
			config:     map[string]any{"upstreams": map[string]any{"local": map[string]any{"baseUrl": "http://localhost:1234/v1"}}},
			wantStatus: 200, wantState: "degraded", wantProviders: with(map[string]any{"local": true})},
		{name: "a remote host named like localhost is not local",
			config:     map[string]any{"upstreams": map[string]any{"local": map[string]any{"baseUrl": "http://localhost.example.com/v1"}}},
			wantStatus: 503, wantState: "error", wantProviders: with(map[string]any{"local": false})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := providertest.Serve(t, ai.New())
			if tt.config != nil {
				configure(t, c, tt.config)
			}
			res := do(t, c, &provider.HTTPRequest{Method: "GET", Path: "/api/ai/health"})
			body := res.json(t, "GET /api/ai/health")
			if res.Status != tt.wantStatus || body["status"] != tt.wantState {
				t.Errorf("GET /api/ai/health (%s) = %d %v; want %d %s", tt.name, res.Status, body["status"], tt.wantStatus, tt.wantState)
			}
			if !equal(body["providers"], tt.wantProviders) {
				t.Errorf("GET /api/ai/health (%s) providers = %v; want %v", tt.name, body["providers"], tt.wantProviders)
			}
			if _, err := time.Parse(time.RFC3339Nano, stringOf(body["timestamp"])); err != nil {
				t.Errorf("GET /api/ai/health (%s) timestamp = %v; want RFC 3339", tt.name, body["timestamp"])
			}
			if _, hasErr := body["error"]; hasErr != (tt.wantStatus == 503) {
				t.Errorf("GET /api/ai/health (%s) error = %v; want one only with 503", tt.name, body["error"])
			}
		})
	}
}

// decodeNumbers decodes JSON keeping numbers as their text.
func decodeNumbers(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", b, err)
	}
	return m
}

func stringOf(v any) string { s, _ := v.(string); return s }

func TestModelsRoute(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	wantPrices := map[string][2]string{
		"gpt-4o-mini":             {"0.00015", "0.0006"},
		"gemini-2.0-flash":        {"0.0001", "0.0004"},
		"llama-3.3-70b-versatile": {"0.00059", "0.00079"},
		"gpt-4o":                  {"0.0025", "0.01"},
		"claude-3-5-sonnet":       {"0.003", "0.015"},
		"gpt-4-turbo":             {"0.01", "0.03"},
		"claude-3-opus":           {"0.015", "0.075"},
		"openrouter/auto":         {"0.003", "0.015"},
	}
	tests := []struct {
		caller    provider.Caller
		available []string
	}{
		{provider.Caller{}, smallModels},
		{provider.Caller{Plan: "solo"}, smallModels},
		{provider.Caller{Plan: "collective"}, midModels},
		{provider.Caller{Plan: "label"}, largeModels},
		{provider.Caller{Plan: "network"}, networkModels},
		{provider.Caller{Admin: true}, networkModels},
	}
	for _, tt := range tests {
		res := do(t, c, &provider.HTTPRequest{Method: "GET", Path: "/api/ai/models", Caller: tt.caller})
		if res.Status != 200 || !strings.HasPrefix(res.Headers["Content-Type"], "application/json") {
			t.Fatalf("GET /api/ai/models = %d %q; want 200 JSON", res.Status, res.Headers["Content-Type"])
		}
		body := decodeNumbers(t, res.Body)
		if body["count"] != json.Number("8") || body["openrouter"] != json.Number("1") {
			t.Errorf("GET /api/ai/models count, openrouter = %v, %v; want 8, 1", body["count"], body["openrouter"])
		}
		var ids, avail []string
		for _, v := range body["models"].([]any) {
			m := v.(map[string]any)
			id := stringOf(m["id"])
			ids = append(ids, id)
			if m["available"] == true {
				avail = append(avail, id)
			}
			for _, k := range []string{"name", "provider", "description", "tags", "contextWindow", "tier"} {
				if _, ok := m[k]; !ok {
					t.Errorf("GET /api/ai/models model %q has no %q", id, k)
				}
			}
			if got, want := [2]string{m["inputCost"].(json.Number).String(), m["outputCost"].(json.Number).String()}, wantPrices[id]; got != want {
				t.Errorf("GET /api/ai/models %q inputCost, outputCost = %v; want %v", id, got, want)
			}
		}
		if !equal(ids, networkModels) {
			t.Errorf("GET /api/ai/models ids = %v; want %v", ids, networkModels)
		}
		if !equal(avail, tt.available) {
			t.Errorf("GET /api/ai/models for %+v available = %v; want %v", tt.caller, avail, tt.available)
		}
	}
	// Prices are JSON numbers, not strings.
	res := do(t, c, &provider.HTTPRequest{Method: "GET", Path: "/api/ai/models"})
	if !bytes.Contains(res.Body, []byte(`"inputCost":0.00015`)) {
		t.Errorf("GET /api/ai/models = %s; want gpt-4o-mini's \"inputCost\":0.00015", res.Body)
	}
}

// Prices render exactly, whatever their size.
func TestModelsRoutePriceRendering(t *testing.T) {
	f := newFakeUpstream(t)
	cfg := f.config()
	tests := []struct {
		micro int64
		want  string
	}{
		{0, "0"}, {1, "0.000001"}, {10, "0.00001"}, {150, "0.00015"}, {999_999, "0.999999"},
		{1_000_000, "1"}, {1_500_000, "1.5"}, {12_345_678, "12.345678"}, {100_000_000, "100"},
	}
	var models []map[string]any
	for i, tt := range tests {
		models = append(models, map[string]any{"id": "m" + string(rune('a'+i)), "provider": "openai", "tier": "small",
			"inputPer1kMicroUsd": tt.micro, "outputPer1kMicroUsd": tt.micro})
	}
	cfg["models"], cfg["defaultModel"] = models, "ma"
	c := serveAI(t, f, cfg)
	body := decodeNumbers(t, do(t, c, &provider.HTTPRequest{Method: "GET", Path: "/api/ai/models"}).Body)
	for i, v := range body["models"].([]any) {
		m := v.(map[string]any)
		if got := m["inputCost"].(json.Number).String(); got != tests[i].want || m["outputCost"].(json.Number).String() != tests[i].want {
			t.Errorf("inputCost(%d micro-USD) = %v, outputCost %v; want %v", tests[i].micro, got, m["outputCost"], tests[i].want)
		}
	}
}

func TestModelsByProviderRoute(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct {
		provider   string
		wantStatus int
		wantIDs    []string
	}{
		{"anthropic", 200, []string{"claude-3-5-sonnet", "claude-3-opus"}},
		{"openai", 200, []string{"gpt-4o-mini", "gpt-4o", "gpt-4-turbo"}},
		{"openrouter", 200, []string{"openrouter/auto"}},
		{"gemini", 200, []string{"gemini-2.0-flash"}},
		{"mistral", 404, nil},
	}
	for _, tt := range tests {
		res := do(t, c, &provider.HTTPRequest{Method: "GET", Path: "/api/ai/models/" + tt.provider,
			Params: map[string]string{"provider": tt.provider}, Caller: provider.Caller{Plan: "collective"}})
		body := res.json(t, "GET /api/ai/models/"+tt.provider)
		if res.Status != tt.wantStatus {
			t.Errorf("GET /api/ai/models/%s = %d %v; want %d", tt.provider, res.Status, body, tt.wantStatus)
			continue
		}
		if tt.wantStatus != 200 {
			if body["code"] != "NOT_FOUND" || stringOf(body["error"]) == "" {
				t.Errorf("GET /api/ai/models/%s = %v; want an error with code NOT_FOUND", tt.provider, body)
			}
			continue
		}
		var ids []string
		for _, v := range body["models"].([]any) {
			m := v.(map[string]any)
			ids = append(ids, stringOf(m["id"]))
			if wantAvail := slices.Contains(midModels, stringOf(m["id"])); m["available"] != wantAvail {
				t.Errorf("GET /api/ai/models/%s %v available = %v; want %v", tt.provider, m["id"], m["available"], wantAvail)
			}
		}
		if !equal(ids, tt.wantIDs) || body["provider"] != tt.provider || body["count"] != float64(len(tt.wantIDs)) {
			t.Errorf("GET /api/ai/models/%s = provider %v, ids %v, count %v; want %s, %v, %d",
				tt.provider, body["provider"], ids, body["count"], tt.provider, tt.wantIDs, len(tt.wantIDs))
		}
		if _, ok := body["timestamp"]; !ok {
			t.Errorf("GET /api/ai/models/%s has no timestamp", tt.provider)
		}
	}
}

func TestSelectModelRoute(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct {
		body         string
		caller       provider.Caller
		wantStatus   int
		wantCode     string
		wantModel    map[string]any
		wantTaskType string
	}{
		{body: ``, caller: activeSolo, wantStatus: 200,
			wantModel: map[string]any{"id": "gpt-4o-mini", "provider": "openai"}, wantTaskType: "general"},
		{body: `{}`, caller: activeSolo, wantStatus: 200,
			wantModel: map[string]any{"id": "gpt-4o-mini", "provider": "openai"}, wantTaskType: "general"},
		{body: `{"taskType":"code"}`, caller: provider.Caller{Plan: "collective"}, wantStatus: 200,
			wantModel: map[string]any{"id": "claude-3-5-sonnet", "provider": "anthropic"}, wantTaskType: "code"},
		{body: `{"taskType":"code"}`, caller: activeSolo, wantStatus: 200,
			wantModel: map[string]any{"id": "gpt-4o-mini", "provider": "openai"}, wantTaskType: "code"},
		{body: `{"taskType":"long-context"}`, caller: activeSolo, wantStatus: 200,
			wantModel: map[string]any{"id": "gemini-2.0-flash", "provider": "gemini"}, wantTaskType: "long-context"},
		{body: `{"taskType":"juggling"}`, caller: provider.Caller{Admin: true}, wantStatus: 200,
			wantModel: map[string]any{"id": "gpt-4o-mini", "provider": "openai"}, wantTaskType: "juggling"},
		{body: `{"taskType":`, caller: activeSolo, wantStatus: 400, wantCode: "INVALID_JSON"},
		{body: `{"taskType":7}`, caller: activeSolo, wantStatus: 400, wantCode: "INVALID_FIELD_TYPE"},
	}
	for _, tt := range tests {
		res := do(t, c, &provider.HTTPRequest{Method: "POST", Path: "/api/ai/models/select", Body: []byte(tt.body), Caller: tt.caller})
		body := res.json(t, "POST /api/ai/models/select")
		if res.Status != tt.wantStatus {
			t.Errorf("POST /api/ai/models/select(%q) = %d %v; want %d", tt.body, res.Status, body, tt.wantStatus)
			continue
		}
		if tt.wantCode != "" {
			if body["code"] != tt.wantCode {
				t.Errorf("POST /api/ai/models/select(%q) code = %v; want %v", tt.body, body["code"], tt.wantCode)
			}
			continue
		}
		if !equal(body["model"], tt.wantModel) || body["taskType"] != tt.wantTaskType {
			t.Errorf("POST /api/ai/models/select(%q) = %v, taskType %v; want %v, %v", tt.body, body["model"], body["taskType"], tt.wantModel, tt.wantTaskType)
		}
	}
}

func TestChatRoute(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	hi := `{"messages":[{"role":"user","content":"Hi"}]}`
	tests := []struct {
		name       string
		caller     provider.Caller
		body       string
		respond    bool // an upstream 429 instead of the default answer
		wantStatus int
		wantCode   string
		wantModel  string
		wantFields map[string]any
	}{
		{name: "no plan", caller: provider.Caller{UserID: "u1", SubscriptionStatus: "active"}, body: hi,
			wantStatus: 402, wantCode: "PLAN_REQUIRED"},
		{name: "free plan", caller: provider.Caller{UserID: "u1", Plan: "free", SubscriptionStatus: "active"}, body: hi,
			wantStatus: 402, wantCode: "PLAN_REQUIRED"},
		{name: "subscription past due", caller: provider.Caller{UserID: "u1", Plan: "solo", SubscriptionStatus: "past_due"}, body: hi,
			wantStatus: 402, wantCode: "SUBSCRIPTION_REQUIRED"},
		{name: "no subscription", caller: provider.Caller{UserID: "u1", Plan: "label"}, body: hi,
			wantStatus: 402, wantCode: "SUBSCRIPTION_REQUIRED"},
		{name: "admin without plan", caller: provider.Caller{UserID: "a", Admin: true},
			body: `{"messages":[{"role":"user","content":"Hi"}],"model":"claude-3-opus"}`, wantStatus: 200, wantModel: "claude-3-opus"},
		{name: "active solo", caller: activeSolo, body: hi, wantStatus: 200, wantModel: "gpt-4o-mini"},
		{name: "task type", caller: provider.Caller{Plan: "collective", SubscriptionStatus: "active"},
			body: `{"messages":[{"role":"user","content":"Hi"}],"taskType":"code"}`, wantStatus: 200, wantModel: "claude-3-5-sonnet"},
		{name: "restricted model", caller: activeSolo, body: `{"messages":[{"role":"user","content":"Hi"}],"model":"gpt-4o"}`,
			wantStatus: 403, wantCode: "MODEL_RESTRICTED",
			wantFields: map[string]any{"allowedModels": []any{"gpt-4o-mini", "gemini-2.0-flash", "llama-3.3-70b-versatile"}}},
		{name: "unknown model", caller: activeSolo, body: `{"messages":[{"role":"user","content":"Hi"}],"model":"gpt-5"}`,
			wantStatus: 404, wantCode: "MODEL_NOT_FOUND"},
		{name: "empty messages", caller: activeSolo, body: `{"messages":[]}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "no messages", caller: activeSolo, body: `{"prompt":"Hi"}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "empty body", caller: activeSolo, body: ``, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "bad role", caller: activeSolo, body: `{"messages":[{"role":"robot","content":"Hi"}]}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "temperature out of range", caller: activeSolo, body: `{"messages":[{"role":"user","content":"Hi"}],"temperature":5}`,
			wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "malformed JSON", caller: activeSolo, body: `{"messages":[`, wantStatus: 400, wantCode: "INVALID_JSON"},
		{name: "messages wrong type", caller: activeSolo, body: `{"messages":"Hi"}`, wantStatus: 400, wantCode: "INVALID_FIELD_TYPE"},
		{name: "stream wrong type", caller: activeSolo, body: `{"messages":[{"role":"user","content":"Hi"}],"stream":"yes"}`,
			wantStatus: 400, wantCode: "INVALID_FIELD_TYPE"},
		{name: "upstream rate limited", caller: activeSolo, body: hi, respond: true, wantStatus: 429, wantCode: "UPSTREAM_RATE_LIMITED",
			wantFields: map[string]any{"retryAfter": float64(9)}},
		{name: "upstream rate limited, streaming", caller: activeSolo, body: `{"messages":[{"role":"user","content":"Hi"}],"stream":true}`,
			respond: true, wantStatus: 429, wantCode: "UPSTREAM_RATE_LIMITED", wantFields: map[string]any{"retryAfter": float64(9)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.reset()
			f.setRespond(nil)
			if tt.respond {
				f.setRespond(upstreamError(429, map[string]string{"Retry-After": "9"}))
			}
			res := do(t, c, &provider.HTTPRequest{Method: "POST", Path: "/api/ai/chat", Body: []byte(tt.body), Caller: tt.caller})
			body := res.json(t, "POST /api/ai/chat")
			if res.Status != tt.wantStatus || !strings.HasPrefix(res.Headers["Content-Type"], "application/json") {
				t.Fatalf("POST /api/ai/chat(%q) for %+v = %d %q %v; want %d JSON", tt.body, tt.caller, res.Status,
					res.Headers["Content-Type"], body, tt.wantStatus)
			}
			if tt.wantCode != "" {
				if body["code"] != tt.wantCode || stringOf(body["error"]) == "" {
					t.Errorf("POST /api/ai/chat(%q) = %v; want code %s with an error message", tt.body, body, tt.wantCode)
				}
				for k, v := range tt.wantFields {
					if !equal(body[k], v) {
						t.Errorf("POST /api/ai/chat(%q) %s = %v; want %v", tt.body, k, body[k], v)
					}
				}
				if tt.wantStatus != 429 && len(f.requests()) != 0 {
					t.Errorf("POST /api/ai/chat(%q) reached the upstream; want it refused first", tt.body)
				}
				return
			}
			for _, k := range []string{"id", "model", "provider", "message", "usage", "timestamp"} {
				if _, ok := body[k]; !ok {
					t.Errorf("POST /api/ai/chat(%q) = %v; want a %q member", tt.body, body, k)
				}
			}
			if body["model"] != tt.wantModel || !equal(body["message"], map[string]any{"role": "assistant", "content": "Hello there"}) {
				t.Errorf("POST /api/ai/chat(%q) model, message = %v, %v; want %v, Hello there", tt.body, body["model"], body["message"], tt.wantModel)
			}
			wantUsage := map[string]any{"promptTokens": float64(19), "completionTokens": float64(2), "totalTokens": float64(21)}
			if !equal(body["usage"], wantUsage) {
				t.Errorf("POST /api/ai/chat(%q) usage = %v; want %v", tt.body, body["usage"], wantUsage)
			}
		})
	}
	f.setRespond(nil)
}

// sseEvent is one server-sent event: its name ("" for message) and data.
type sseEvent struct{ Event, Data string }

func parseSSE(body string) []sseEvent {
	var out []sseEvent
	for _, block := range strings.Split(body, "\n\n") {
		if block == "" {
			continue
		}
		var ev sseEvent
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev.Event = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				ev.Data += v
			}
		}
		out = append(out, ev)
	}
	return out
}

func TestChatRouteStream(t *testing.T) {
	f := newFakeUpstream(t)
	f.setUsage(12, 2)
	c := serveAI(t, f, nil)
	tests := []struct {
		name      string
		caller    provider.Caller
		body      string
		wantModel string
		wantPath  string
	}{
		{name: "openai", caller: activeSolo, body: `{"messages":[{"role":"user","content":"Hi"}],"stream":true}`,
			wantModel: "gpt-4o-mini", wantPath: "openai/v1/chat/completions"},
		{name: "anthropic", caller: provider.Caller{Plan: "collective", SubscriptionStatus: "active"},
			body:      `{"messages":[{"role":"user","content":"Hi"}],"model":"claude-3-5-sonnet","stream":true}`,
			wantModel: "claude-3-5-sonnet", wantPath: "anthropic/v1/messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.reset()
			res := do(t, c, &provider.HTTPRequest{Method: "POST", Path: "/api/ai/chat", Body: []byte(tt.body), Caller: tt.caller})
			if res.Status != 200 || res.Headers["Content-Type"] != "text/event-stream" {
				t.Fatalf("POST /api/ai/chat(%q) = %d %q; want 200 text/event-stream", tt.body, res.Status, res.Headers["Content-Type"])
			}
			events := parseSSE(string(res.Body))
			if len(events) != 4 {
				t.Fatalf("POST /api/ai/chat(%q) events = %q; want two deltas, done and [DONE]", tt.body, res.Body)
			}
			for i, want := range []string{`{"delta":"Hel"}`, `{"delta":"lo"}`} {
				if events[i] != (sseEvent{Data: want}) {
					t.Errorf("POST /api/ai/chat(%q) event %d = %+v; want data %s", tt.body, i, events[i], want)
				}
			}
			if events[2].Event != "done" {
				t.Errorf("POST /api/ai/chat(%q) event 2 = %q; want done", tt.body, events[2].Event)
			}
			done := decode(t, "done event", []byte(events[2].Data))
			wantUsage := map[string]any{"promptTokens": float64(12), "completionTokens": float64(2), "totalTokens": float64(14)}
			if done["model"] != tt.wantModel || !equal(done["message"], map[string]any{"role": "assistant", "content": "Hello"}) ||
				!equal(done["usage"], wantUsage) || done["finishReason"] != "stop" {
				t.Errorf("POST /api/ai/chat(%q) done = %v; want model %s, content Hello, usage %v", tt.body, done, tt.wantModel, wantUsage)
			}
			if events[3] != (sseEvent{Data: "[DONE]"}) {
				t.Errorf("POST /api/ai/chat(%q) last event = %+v; want data [DONE]", tt.body, events[3])
			}
			if r := f.last(t); r.Provider+r.Path != tt.wantPath || r.JSON["stream"] != true {
				t.Errorf("POST /api/ai/chat(%q) called %s%s stream=%v; want %s stream=true", tt.body, r.Provider, r.Path, r.JSON["stream"], tt.wantPath)
			}
		})
	}
}

func TestEstimateCostRoute(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct {
		body       string
		wantStatus int
		wantCode   string
		wantCost   string // the estimatedCost JSON number
		wantField  string // a field the error message names
	}{
		// The seed's worked example: 1000 in + 500 out at 0.003/0.015 per 1k = 0.003 + 0.0075.
		{body: `{"model":"claude-3-5-sonnet","inputTokens":1000,"outputTokens":500}`, wantStatus: 200, wantCost: "0.0105"},
		{body: `{"model":"gpt-4o-mini","inputTokens":1000,"outputTokens":500}`, wantStatus: 200, wantCost: "0.00045"},
		{body: `{"model":"gpt-4o","inputTokens":1000,"outputTokens":1000}`, wantStatus: 200, wantCost: "0.0125"},
		{body: `{"model":"claude-3-opus","inputTokens":1000000,"outputTokens":1000000}`, wantStatus: 200, wantCost: "90"},
		{body: `{"model":"gpt-4o-mini","inputTokens":1,"outputTokens":0}`, wantStatus: 200, wantCost: "0.000001"},
		{body: `{"model":"gpt-4o-mini","inputTokens":0,"outputTokens":0}`, wantStatus: 200, wantCost: "0"},
		{body: `{"model":"openrouter/auto","inputTokens":1000,"outputTokens":500,"extra":true}`, wantStatus: 200, wantCost: "0.0105"},
		{body: `{"inputTokens":1000,"outputTokens":500}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{body: `{"model":"gpt-4o","outputTokens":500}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{body: `{"model":"gpt-4o","inputTokens":1000}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{body: `{}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{body: ``, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{body: `{"model":"gpt-4o","inputTokens":-1,"outputTokens":500}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{body: `{"model":"gpt-4o","inputTokens":1,"outputTokens":-500}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{body: `{"model":"gpt-4o","inputTokens":1000000001,"outputTokens":0}`, wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{body: `{"model":"gpt-5","inputTokens":1000,"outputTokens":500}`, wantStatus: 404, wantCode: "MODEL_NOT_FOUND"},
		{body: `{"model":"gpt-4o","inputTokens":1000,`, wantStatus: 400, wantCode: "INVALID_JSON"},
		{body: `not json`, wantStatus: 400, wantCode: "INVALID_JSON"},
		{body: `{"model":"gpt-4o","inputTokens":"1000","outputTokens":500}`, wantStatus: 400, wantCode: "INVALID_FIELD_TYPE", wantField: "inputTokens"},
		{body: `{"model":"gpt-4o","inputTokens":1000,"outputTokens":1.5}`, wantStatus: 400, wantCode: "INVALID_FIELD_TYPE", wantField: "outputTokens"},
		{body: `{"model":4,"inputTokens":1000,"outputTokens":500}`, wantStatus: 400, wantCode: "INVALID_FIELD_TYPE", wantField: "model"},
	}
	for _, tt := range tests {
		res := do(t, c, &provider.HTTPRequest{Method: "POST", Path: "/api/ai/estimate-cost", Body: []byte(tt.body)})
		body := decodeNumbers(t, res.Body)
		if res.Status != tt.wantStatus {
			t.Errorf("POST /api/ai/estimate-cost(%q) = %d %v; want %d", tt.body, res.Status, body, tt.wantStatus)
			continue
		}
		if tt.wantCode != "" {
			if body["code"] != tt.wantCode || !strings.Contains(stringOf(body["error"]), tt.wantField) {
				t.Errorf("POST /api/ai/estimate-cost(%q) = %v; want code %s naming %q", tt.body, body, tt.wantCode, tt.wantField)
			}
			continue
		}
		var in map[string]any
		json.Unmarshal([]byte(tt.body), &in)
		if got := body["estimatedCost"]; got != json.Number(tt.wantCost) || body["currency"] != "USD" || body["model"] != in["model"] {
			t.Errorf("POST /api/ai/estimate-cost(%q) = %v; want estimatedCost %s USD for %v", tt.body, body, tt.wantCost, in["model"])
		}
		if body["inputTokens"].(json.Number).String() != jsonNum(in["inputTokens"]) ||
			body["outputTokens"].(json.Number).String() != jsonNum(in["outputTokens"]) {
			t.Errorf("POST /api/ai/estimate-cost(%q) tokens = %v, %v; want them echoed", tt.body, body["inputTokens"], body["outputTokens"])
		}
		if _, err := time.Parse(time.RFC3339Nano, stringOf(body["timestamp"])); err != nil {
			t.Errorf("POST /api/ai/estimate-cost(%q) timestamp = %v; want RFC 3339", tt.body, body["timestamp"])
		}
	}
}

func jsonNum(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestUnknownRoutes(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct{ method, path string }{
		{"GET", "/api/ai/nope"},
		{"GET", "/api/ai"},
		{"POST", "/api/ai/health"},
		{"DELETE", "/api/ai/models"},
		{"GET", "/api/ai/chat"},
		{"GET", "/api/ai/estimate-cost"},
	}
	for _, tt := range tests {
		res := do(t, c, &provider.HTTPRequest{Method: tt.method, Path: tt.path, Caller: activeSolo})
		body := res.json(t, tt.method+" "+tt.path)
		if res.Status != 404 || body["code"] != "NOT_FOUND" {
			t.Errorf("%s %s = %d %v; want 404 NOT_FOUND", tt.method, tt.path, res.Status, body)
		}
	}
}

// A stream that breaks after some output ends with an error event after the deltas already sent.
func TestChatRouteStreamBrokenMidway(t *testing.T) {
	f := newFakeUpstream(t)
	f.setRespond(func(w http.ResponseWriter, r upstreamReq) {
		full := openAIStream("gpt-4o-mini", []string{"Hel", "lo"}, 1, 1)
		blocks := strings.SplitAfter(full, "\n\n")
		writeSSE(w, strings.Join(blocks[:3], "")) // role chunk and two deltas: no finish_reason, no [DONE]
	})
	c := serveAI(t, f, nil)
	body := `{"messages":[{"role":"user","content":"Hi"}],"stream":true}`
	res := do(t, c, &provider.HTTPRequest{Method: "POST", Path: "/api/ai/chat", Body: []byte(body), Caller: activeSolo})
	events := parseSSE(string(res.Body))
	if res.Status != 200 || len(events) != 3 {
		t.Fatalf("POST /api/ai/chat(%q) with a broken stream = %d %q; want 200 with two deltas and an error event", body, res.Status, res.Body)
	}
	if want := []sseEvent{{Data: `{"delta":"Hel"}`}, {Data: `{"delta":"lo"}`}}; !equal(events[:2], want) {
		t.Errorf("POST /api/ai/chat(%q) deltas = %+v; want %+v", body, events[:2], want)
	}
	if ev := events[2]; ev.Event != "error" || decode(t, "error event", []byte(ev.Data))["code"] != "UPSTREAM_ERROR" {
		t.Errorf("POST /api/ai/chat(%q) last event = %+v; want an error event with code UPSTREAM_ERROR", body, ev)
	}
}
