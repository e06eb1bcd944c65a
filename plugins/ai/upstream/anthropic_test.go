package upstream_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/agentbot/gateway/plugins/ai/upstream"
)

const anthropicMessage = `{
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
  "type": "message",
  "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}],
  "stop_reason": "max_tokens",
  "stop_sequence": null,
  "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 5, "output_tokens": 3,
    "service_tier": "standard"}
}`

func TestAnthropicChat(t *testing.T) {
	tests := []struct {
		name        string
		headers     map[string]string
		req         upstream.ChatRequest
		wantBody    string
		wantHeaders map[string]string
	}{
		{
			name: "system moved, default max_tokens",
			req: upstream.ChatRequest{Model: "claude-sonnet-4-5", Messages: []upstream.Message{
				{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"},
				{Role: "assistant", Content: "Hello"}, {Role: "user", Content: "Bye"}}},
			wantBody: `{"model":"claude-sonnet-4-5","system":"Be brief.","max_tokens":1024,"messages":[
				{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"Bye"}]}`,
			wantHeaders: map[string]string{"x-api-key": "sk-ant-test-key", "anthropic-version": "2023-06-01",
				"Authorization": "", "Content-Type": "application/json", "Accept": "application/json"},
		},
		{
			name:    "two system messages and options",
			headers: map[string]string{"anthropic-beta": "output-128k-2025-02-19"},
			req: upstream.ChatRequest{Model: "claude-haiku-4-5", Temperature: ptr(0.5), TopP: ptr(0.9), MaxTokens: ptr(50),
				Messages: []upstream.Message{{Role: "system", Content: "A"}, {Role: "system", Content: "B"}, {Role: "user", Content: "Hi"}}},
			wantBody: `{"model":"claude-haiku-4-5","system":"A\n\nB","max_tokens":50,"temperature":0.5,"top_p":0.9,
				"messages":[{"role":"user","content":"Hi"}]}`,
			wantHeaders: map[string]string{"anthropic-beta": "output-128k-2025-02-19"},
		},
		{
			name:     "no system message",
			req:      upstream.ChatRequest{Model: "claude-haiku-4-5", Messages: []upstream.Message{{Role: "user", Content: "Hi"}}},
			wantBody: `{"model":"claude-haiku-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Hi"}]}`,
		},
	}
	want := &upstream.ChatResponse{ID: "msg_01XFDUDYJgAACzvnptvVoYEL", Model: "claude-sonnet-4-5-20250929",
		Content: "Hello there", FinishReason: "length", Usage: upstream.Usage{InputTokens: 15, OutputTokens: 3}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) {
				writeJSON(w, 200, anthropicMessage)
			})
			c := &upstream.Anthropic{Endpoint: upstream.Endpoint{BaseURL: srv.URL + "/v1", APIKey: "sk-ant-test-key", Headers: tt.headers}}
			got, err := c.Chat(context.Background(), tt.req)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Chat(%q) = %+v, %v; want %+v", tt.name, got, err, want)
			}
			rec := received(t, reqs)
			if rec.Method != http.MethodPost || rec.Path != "/v1/messages" {
				t.Errorf("Chat(%q) called %s %s; want POST /v1/messages", tt.name, rec.Method, rec.Path)
			}
			checkJSON(t, "Chat("+tt.name+")", rec.JSON, tt.wantBody)
			checkHeaders(t, "Chat("+tt.name+")", rec.Header, tt.wantHeaders)
		})
	}
}

// Streams as the Messages API sends them, saying "Hello".
const (
	anthropicStart = `event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}

`
	anthropicMiddle = `event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

`
	anthropicEnd = `event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

`
	anthropicStop = `event: message_stop
data: {"type":"message_stop"}

`
)

func TestAnthropicChatStream(t *testing.T) {
	hello := &upstream.ChatResponse{ID: "msg_014p7gG3wDgGV9EUtLvnow3U", Model: "claude-sonnet-4-5-20250929", Content: "Hello",
		FinishReason: "stop", Usage: upstream.Usage{InputTokens: 25, OutputTokens: 15}}
	tests := []struct {
		name       string
		body       string
		want       *upstream.ChatResponse
		wantDeltas []string
		wantErr    *upstream.Error
	}{
		{name: "full stream", body: anthropicStart + anthropicMiddle + anthropicEnd + anthropicStop,
			want: hello, wantDeltas: []string{"Hel", "lo"}},
		{name: "CRLF, no space, comments",
			body: strings.ReplaceAll(strings.ReplaceAll(": hi\n\n"+anthropicStart+anthropicMiddle+anthropicEnd+anthropicStop,
				"data: ", "data:"), "\n", "\r\n"),
			want: hello, wantDeltas: []string{"Hel", "lo"}},
		{name: "other blocks and unknown events ignored",
			body: anthropicStart +
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQB\"}}\n\n" +
				"event: brand_new_event\ndata: {\"type\":\"brand_new_event\"}\n\n" +
				anthropicMiddle + anthropicEnd + anthropicStop,
			want: hello, wantDeltas: []string{"Hel", "lo"}},
		{name: "ends after stop_reason without message_stop", body: anthropicStart + anthropicMiddle + anthropicEnd,
			want: hello, wantDeltas: []string{"Hel", "lo"}},
		{name: "ends early", body: anthropicStart + anthropicMiddle,
			wantDeltas: []string{"Hel", "lo"}, wantErr: &upstream.Error{Message: "stream ended early", Retryable: true}},
		{name: "overloaded error event", body: anthropicStart +
			"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
			wantDeltas: []string{"Hel"}, wantErr: &upstream.Error{Status: 529, Message: "Overloaded", Retryable: true}},
		{name: "invalid request error event", body: "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long\"}}\n\n",
			wantErr: &upstream.Error{Status: 400, Message: "prompt is too long"}},
		{name: "malformed event", body: anthropicStart + "event: content_block_delta\ndata: {\"type\":\n\n",
			wantDeltas: []string{"Hel"}, wantErr: &upstream.Error{Status: 200, Message: "malformed stream event: unexpected end of JSON input"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) {
				writeSSE(w, tt.body)
			})
			c := &upstream.Anthropic{Endpoint: upstream.Endpoint{BaseURL: srv.URL + "/v1", APIKey: "sk-ant-test-key"}}
			var deltas []string
			got, err := c.ChatStream(context.Background(), upstream.ChatRequest{Model: "claude-sonnet-4-5",
				Messages: []upstream.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}}, collect(&deltas))
			checkResult(t, "ChatStream("+tt.name+")", got, err, tt.want, tt.wantErr)
			if !reflect.DeepEqual(deltas, tt.wantDeltas) {
				t.Errorf("ChatStream(%q) deltas = %q; want %q", tt.name, deltas, tt.wantDeltas)
			}
			rec := received(t, reqs)
			checkJSON(t, "ChatStream("+tt.name+")", rec.JSON, `{"model":"claude-sonnet-4-5","system":"Be brief.","max_tokens":1024,
				"messages":[{"role":"user","content":"Hi"}],"stream":true}`)
			checkHeaders(t, "ChatStream("+tt.name+")", rec.Header, map[string]string{"x-api-key": "sk-ant-test-key",
				"anthropic-version": "2023-06-01", "Accept": "text/event-stream", "Authorization": ""})
		})
	}
}
