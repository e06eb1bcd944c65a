package ai_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

func TestInvokeStream(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct {
		name       string
		capability string
		input      string
		caller     provider.Caller
		in, out    int64
		wantDeltas []string
		wantFinal  map[string]any
		wantUsage  provider.Usage
		wantPath   string
	}{
		{name: "openai", capability: "generate-text", input: `{"prompt":"Hi"}`, caller: provider.Caller{Plan: "solo"},
			in: 12, out: 2, wantDeltas: []string{"Hel", "lo"},
			wantFinal: map[string]any{"finishReason": "stop", "model": "gpt-4o-mini", "provider": "openai", "id": "chatcmpl-1"},
			// (12·150 + 2·600)/1000 = 3
			wantUsage: provider.Usage{InputTokens: 12, OutputTokens: 2, CostMicroUSD: 3, Model: "gpt-4o-mini"},
			wantPath:  "openai/v1/chat/completions"},
		{name: "anthropic", capability: "generate-text", input: `{"prompt":"Hi","model":"claude-3-5-sonnet"}`,
			caller: provider.Caller{Plan: "collective"}, in: 25, out: 15, wantDeltas: []string{"Hel", "lo"},
			wantFinal: map[string]any{"finishReason": "stop", "model": "claude-3-5-sonnet", "provider": "anthropic", "id": "msg_1"},
			// (25·3000 + 15·15000)/1000 = 300
			wantUsage: provider.Usage{InputTokens: 25, OutputTokens: 15, CostMicroUSD: 300, Model: "claude-3-5-sonnet"},
			wantPath:  "anthropic/v1/messages"},
		{name: "agent", capability: "agent", input: `{"prompt":"Hi","taskType":"code"}`, caller: provider.Caller{Plan: "label"},
			in: 1, out: 1, wantDeltas: []string{"Hel", "lo"},
			wantFinal: map[string]any{"finishReason": "stop", "model": "claude-3-5-sonnet", "provider": "anthropic", "id": "msg_1"},
			wantUsage: provider.Usage{InputTokens: 1, OutputTokens: 1, CostMicroUSD: 18, Model: "claude-3-5-sonnet"},
			wantPath:  "anthropic/v1/messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.reset()
			f.setUsage(tt.in, tt.out)
			chunks := providertest.Collect(t, c, &provider.InvokeRequest{Capability: tt.capability, Input: json.RawMessage(tt.input), Caller: tt.caller})
			if len(chunks) != len(tt.wantDeltas)+1 {
				t.Fatalf("InvokeStream(%q) = %d chunks; want %d", tt.input, len(chunks), len(tt.wantDeltas)+1)
			}
			for i, d := range tt.wantDeltas {
				ch := chunks[i]
				got := decode(t, "chunk", ch.Data)
				if want := map[string]any{"delta": d}; !equal(got, want) || ch.Error != nil || ch.Usage != nil {
					t.Errorf("InvokeStream(%q) chunk %d = %s, usage %v, error %s; want %v alone", tt.input, i, ch.Data, ch.Usage, errString(ch.Error), want)
				}
			}
			last := chunks[len(chunks)-1]
			if got := decode(t, "final chunk", last.Data); !equal(got, tt.wantFinal) || last.Error != nil {
				t.Errorf("InvokeStream(%q) final chunk = %v, error %s; want %v", tt.input, got, errString(last.Error), tt.wantFinal)
			}
			if last.Usage == nil || *last.Usage != tt.wantUsage {
				t.Errorf("InvokeStream(%q) final usage = %+v; want %+v", tt.input, last.Usage, tt.wantUsage)
			}
			r := f.last(t)
			if got := r.Provider + r.Path; got != tt.wantPath || r.JSON["stream"] != true {
				t.Errorf("InvokeStream(%q) called %s with stream=%v; want %s with stream=true", tt.input, got, r.JSON["stream"], tt.wantPath)
			}
		})
	}
}

func TestInvokeStreamErrors(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	tests := []struct {
		name       string
		capability string
		input      string
		respond    func(http.ResponseWriter, upstreamReq) // nil: the default answer
		wantStatus int
		wantCode   string
		wantFields map[string]any
	}{
		{name: "rate limited with Retry-After", capability: "generate-text", input: `{"prompt":"Hi"}`,
			respond: upstreamError(429, map[string]string{"Retry-After": "30"}), wantStatus: 429, wantCode: "UPSTREAM_RATE_LIMITED",
			wantFields: map[string]any{"retryAfter": float64(30)}},
		{name: "rate limited without Retry-After", capability: "generate-text", input: `{"prompt":"Hi"}`,
			respond: upstreamError(429, nil), wantStatus: 429, wantCode: "UPSTREAM_RATE_LIMITED"},
		{name: "anthropic rate limited", capability: "agent", input: `{"prompt":"Hi","model":"claude-3-opus"}`,
			respond: upstreamError(429, map[string]string{"Retry-After": "2"}), wantStatus: 429, wantCode: "UPSTREAM_RATE_LIMITED",
			wantFields: map[string]any{"retryAfter": float64(2)}},
		{name: "bad key", capability: "generate-text", input: `{"prompt":"Hi"}`,
			respond: upstreamError(401, nil), wantStatus: 502, wantCode: "UPSTREAM_AUTH"},
		{name: "server error", capability: "generate-text", input: `{"prompt":"Hi"}`,
			respond: upstreamError(500, nil), wantStatus: 502, wantCode: "UPSTREAM_ERROR"},
		{name: "validation", capability: "generate-text", input: `{"prompt":"Hi","temperature":3}`,
			wantStatus: 400, wantCode: "VALIDATION_ERROR"},
		{name: "restricted model", capability: "generate-text", input: `{"prompt":"Hi","model":"gpt-4o"}`,
			wantStatus: 403, wantCode: "MODEL_RESTRICTED",
			wantFields: map[string]any{"allowedModels": []any{"gpt-4o-mini", "gemini-2.0-flash", "llama-3.3-70b-versatile"}}},
		{name: "tts", capability: "tts", input: `{"text":"Hi"}`, wantStatus: 400, wantCode: "STREAMING_UNSUPPORTED"},
		{name: "stt", capability: "stt", input: `{"audio":"aGk="}`, wantStatus: 400, wantCode: "STREAMING_UNSUPPORTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.setRespond(tt.respond)
			caller := provider.Caller{Plan: "solo"}
			if tt.capability == "agent" {
				caller.Plan = "label"
			}
			chunks := providertest.Collect(t, c, &provider.InvokeRequest{Capability: tt.capability, Input: json.RawMessage(tt.input), Caller: caller})
			if len(chunks) != 1 {
				t.Fatalf("InvokeStream(%s, %q) = %d chunks; want 1 error chunk", tt.capability, tt.input, len(chunks))
			}
			ch := chunks[0]
			if !checkErr(t, "InvokeStream("+tt.capability+", "+tt.input+")", ch.Error, tt.wantStatus, tt.wantCode) {
				return
			}
			if !equal(ch.Error.Fields, tt.wantFields) {
				t.Errorf("InvokeStream(%s, %q) fields = %v; want %v", tt.capability, tt.input, ch.Error.Fields, tt.wantFields)
			}
			if len(ch.Data) != 0 || ch.Usage != nil {
				t.Errorf("InvokeStream(%s, %q) error chunk has data %q, usage %v; want none", tt.capability, tt.input, ch.Data, ch.Usage)
			}
		})
	}
	f.setRespond(nil)
}

// A stream that breaks after some output ends with an error chunk after the deltas already sent.
func TestInvokeStreamBrokenMidway(t *testing.T) {
	f := newFakeUpstream(t)
	f.setRespond(func(w http.ResponseWriter, r upstreamReq) {
		blocks := strings.SplitAfter(openAIStream("gpt-4o-mini", []string{"Hel", "lo"}, 1, 1), "\n\n")
		writeSSE(w, strings.Join(blocks[:3], "")) // role chunk and two deltas: no finish_reason, no [DONE]
	})
	c := serveAI(t, f, nil)
	chunks := providertest.Collect(t, c, &provider.InvokeRequest{Capability: "generate-text", Input: json.RawMessage(`{"prompt":"Hi"}`),
		Caller: provider.Caller{Plan: "solo"}})
	var deltas []string
	for _, ch := range chunks[:len(chunks)-1] {
		deltas = append(deltas, decode(t, "chunk", ch.Data)["delta"].(string))
	}
	if want := []string{"Hel", "lo"}; !equal(deltas, want) {
		t.Errorf("InvokeStream(broken) deltas = %v; want %v", deltas, want)
	}
	checkErr(t, "InvokeStream(broken) last chunk", chunks[len(chunks)-1].Error, 502, "UPSTREAM_ERROR")
}
