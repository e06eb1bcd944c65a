package upstream_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/agentbot/gateway/plugins/ai/upstream"
)

const openAICompletion = `{
  "id": "chatcmpl-abc123",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "gpt-4o-mini-2024-07-18",
  "choices": [{
    "index": 0,
    "message": {"role": "assistant", "content": "Hello there", "refusal": null, "annotations": []},
    "logprobs": null,
    "finish_reason": "stop"
  }],
  "usage": {"prompt_tokens": 19, "completion_tokens": 2, "total_tokens": 21,
    "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
  "service_tier": "default",
  "system_fingerprint": "fp_06737a9306"
}`

func TestOpenAIChat(t *testing.T) {
	msgs := []upstream.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}
	tests := []struct {
		name        string
		key         string
		headers     map[string]string
		req         upstream.ChatRequest
		wantBody    string
		wantHeaders map[string]string
	}{
		{
			name:    "options and OpenRouter headers",
			key:     "sk-or-test-key",
			headers: map[string]string{"HTTP-Referer": "https://agentbot.example", "X-Title": "Agentbot"},
			req: upstream.ChatRequest{Model: "gpt-4o-mini", Messages: msgs,
				Temperature: ptr(0.2), TopP: ptr(0.9), MaxTokens: ptr(50)},
			wantBody: `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],
				"temperature":0.2,"top_p":0.9,"max_tokens":50}`,
			wantHeaders: map[string]string{"Authorization": "Bearer sk-or-test-key", "HTTP-Referer": "https://agentbot.example",
				"X-Title": "Agentbot", "Content-Type": "application/json", "Accept": "application/json"},
		},
		{
			name:        "local server without key",
			req:         upstream.ChatRequest{Model: "qwen2.5-7b-instruct", Messages: msgs[1:]},
			wantBody:    `{"model":"qwen2.5-7b-instruct","messages":[{"role":"user","content":"Hi"}]}`,
			wantHeaders: map[string]string{"Authorization": ""},
		},
		{
			name:     "zero temperature is sent",
			key:      "sk-test-key",
			req:      upstream.ChatRequest{Model: "gpt-4o-mini", Messages: msgs[1:], Temperature: ptr(0.0)},
			wantBody: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],"temperature":0}`,
		},
	}
	want := &upstream.ChatResponse{ID: "chatcmpl-abc123", Model: "gpt-4o-mini-2024-07-18", Content: "Hello there",
		FinishReason: "stop", Usage: upstream.Usage{InputTokens: 19, OutputTokens: 2}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) {
				writeJSON(w, 200, openAICompletion)
			})
			c := &upstream.OpenAI{Endpoint: upstream.Endpoint{BaseURL: srv.URL + "/v1/", APIKey: tt.key, Headers: tt.headers}}
			got, err := c.Chat(context.Background(), tt.req)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Chat(%q) = %+v, %v; want %+v", tt.name, got, err, want)
			}
			rec := received(t, reqs)
			if rec.Method != http.MethodPost || rec.Path != "/v1/chat/completions" {
				t.Errorf("Chat(%q) called %s %s; want POST /v1/chat/completions", tt.name, rec.Method, rec.Path)
			}
			checkJSON(t, "Chat("+tt.name+")", rec.JSON, tt.wantBody)
			checkHeaders(t, "Chat("+tt.name+")", rec.Header, tt.wantHeaders)
		})
	}
}

// openAIChunks is a chat.completion.chunk stream as OpenAI sends it, saying "Hello"; finish adds the chunk that
// carries finish_reason.
func openAIChunks(finish bool) string {
	s := `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"lo"},"logprobs":null,"finish_reason":null}],"usage":null}

`
	if finish {
		s += `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

`
	}
	return s
}

const openAIUsageChunk = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}

`

func TestOpenAIChatStream(t *testing.T) {
	hello := &upstream.ChatResponse{ID: "chatcmpl-1", Model: "gpt-4o-mini-2024-07-18", Content: "Hello", FinishReason: "stop",
		Usage: upstream.Usage{InputTokens: 12, OutputTokens: 2}}
	noUsage := *hello
	noUsage.Usage = upstream.Usage{}
	tests := []struct {
		name        string
		contentType string
		body        string
		want        *upstream.ChatResponse
		wantDeltas  []string
		wantErr     *upstream.Error
	}{
		{name: "usage and DONE", body: openAIChunks(true) + openAIUsageChunk + "data: [DONE]\n\n",
			want: hello, wantDeltas: []string{"Hel", "lo"}},
		{name: "server sends no usage", body: openAIChunks(true) + "data: [DONE]\n\n",
			want: &noUsage, wantDeltas: []string{"Hel", "lo"}},
		{name: "CRLF, no space, comments",
			body: ": OPENROUTER PROCESSING\r\n\r\n" + strings.ReplaceAll(strings.ReplaceAll(openAIChunks(true)+openAIUsageChunk, "data: ", "data:"), "\n", "\r\n") +
				": keepalive\r\n\r\ndata:[DONE]\r\n\r\n",
			want: hello, wantDeltas: []string{"Hel", "lo"}},
		{name: "ends after finish without DONE", body: openAIChunks(true) + openAIUsageChunk,
			want: hello, wantDeltas: []string{"Hel", "lo"}},
		{name: "Groq usage", body: openAIChunks(false) +
			`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"id":"req_1","usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}}` +
			"\n\ndata: [DONE]\n\n",
			want: hello, wantDeltas: []string{"Hel", "lo"}},
		{name: "JSON instead of a stream", contentType: "application/json", body: openAICompletion,
			want: &upstream.ChatResponse{ID: "chatcmpl-abc123", Model: "gpt-4o-mini-2024-07-18", Content: "Hello there",
				FinishReason: "stop", Usage: upstream.Usage{InputTokens: 19, OutputTokens: 2}},
			wantDeltas: []string{"Hello there"}},
		{name: "ends early", body: openAIChunks(false),
			wantDeltas: []string{"Hel", "lo"}, wantErr: &upstream.Error{Message: "stream ended early", Retryable: true}},
		{name: "malformed chunk", body: openAIChunks(false) + "data: {\"choices\":[\n\n",
			wantDeltas: []string{"Hel", "lo"},
			wantErr:    &upstream.Error{Status: 200, Message: "malformed stream chunk: unexpected end of JSON input"}},
		{name: "OpenRouter mid-stream error", body: openAIChunks(false) +
			`data: {"id":"cmpl-1","object":"chat.completion.chunk","created":1,"model":"openai/gpt-4o","provider":"OpenAI","error":{"code":502,"message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}` + "\n\n",
			wantDeltas: []string{"Hel", "lo"}, wantErr: &upstream.Error{Status: 502, Message: "Provider disconnected", Retryable: true}},
		{name: "error event", body: "event: error\ndata: {\"error\":{\"message\":\"model unloaded\"}}\n\n",
			wantErr: &upstream.Error{Message: "model unloaded", Retryable: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) {
				if tt.contentType != "" {
					writeJSON(w, 200, tt.body)
					return
				}
				writeSSE(w, tt.body)
			})
			c := &upstream.OpenAI{Endpoint: upstream.Endpoint{BaseURL: srv.URL + "/v1", APIKey: "sk-test-key"}}
			var deltas []string
			got, err := c.ChatStream(context.Background(), upstream.ChatRequest{Model: "gpt-4o-mini",
				Messages: []upstream.Message{{Role: "user", Content: "Hi"}}, MaxTokens: ptr(16)}, collect(&deltas))
			checkResult(t, "ChatStream("+tt.name+")", got, err, tt.want, tt.wantErr)
			if !reflect.DeepEqual(deltas, tt.wantDeltas) {
				t.Errorf("ChatStream(%q) deltas = %q; want %q", tt.name, deltas, tt.wantDeltas)
			}
			rec := received(t, reqs)
			checkJSON(t, "ChatStream("+tt.name+")", rec.JSON, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],
				"max_tokens":16,"stream":true,"stream_options":{"include_usage":true}}`)
			checkHeaders(t, "ChatStream("+tt.name+")", rec.Header,
				map[string]string{"Authorization": "Bearer sk-test-key", "Accept": "text/event-stream"})
		})
	}
}

// checkResult compares a call's outcome with either a wanted response or a wanted *Error.
func checkResult(t *testing.T, call string, got *upstream.ChatResponse, err error, want *upstream.ChatResponse, wantErr *upstream.Error) {
	t.Helper()
	if wantErr == nil {
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %+v, %v; want %+v", call, got, err, want)
		}
		return
	}
	var ue *upstream.Error
	if !errors.As(err, &ue) || !reflect.DeepEqual(ue, wantErr) || got != nil {
		t.Errorf("%s = %+v, %#v; want nil, %#v", call, got, err, wantErr)
	}
}
