package upstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentbot/gateway/plugins/ai/upstream"
)

var weatherTools = []upstream.Tool{
	{Name: "get_weather", Description: "Current weather in a city",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)},
	{Name: "now"}, // no parameters: an empty object schema is sent
}

// openAIToolCompletion answers the first turn with two tool calls, the second one's arguments malformed as a
// model may produce them.
const openAIToolCompletion = `{
  "id": "chatcmpl-tool1",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "gpt-4o-mini-2024-07-18",
  "choices": [{
    "index": 0,
    "message": {"role": "assistant", "content": null, "refusal": null, "annotations": [],
      "tool_calls": [
        {"id": "call_Paris1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
        {"id": "call_Oslo2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\""}}
      ]},
    "logprobs": null,
    "finish_reason": "tool_calls"
  }],
  "usage": {"prompt_tokens": 80, "completion_tokens": 40, "total_tokens": 120}
}`

// The first request offers the tools; the answer's calls are sent back unchanged with one tool message each,
// and the second answer is text.
func TestOpenAIToolRoundTrip(t *testing.T) {
	var n atomic.Int32
	srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) {
		if n.Add(1) == 1 {
			writeJSON(w, 200, openAIToolCompletion)
			return
		}
		writeJSON(w, 200, openAICompletion)
	})
	c := &upstream.OpenAI{Endpoint: upstream.Endpoint{BaseURL: srv.URL + "/v1", APIKey: "sk-test-key"}}
	user := upstream.Message{Role: "user", Content: "Weather in Paris and Oslo?"}
	first, err := c.Chat(context.Background(), upstream.ChatRequest{Model: "gpt-4o-mini",
		Messages: []upstream.Message{user}, Tools: weatherTools, ToolChoice: "auto"})
	wantCalls := []upstream.ToolCall{{ID: "call_Paris1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{ID: "call_Oslo2", Name: "get_weather", Arguments: `{"city":"Oslo"`}}
	want := &upstream.ChatResponse{ID: "chatcmpl-tool1", Model: "gpt-4o-mini-2024-07-18", FinishReason: "tool_calls",
		Usage: upstream.Usage{InputTokens: 80, OutputTokens: 40}, ToolCalls: wantCalls}
	if err != nil || !reflect.DeepEqual(first, want) {
		t.Fatalf("Chat(tools) = %+v, %v; want %+v", first, err, want)
	}
	checkJSON(t, "Chat(tools)", received(t, reqs).JSON, `{"model":"gpt-4o-mini",
		"messages":[{"role":"user","content":"Weather in Paris and Oslo?"}],
		"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather in a city",
			"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
			{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}],
		"tool_choice":"auto"}`)

	second, err := c.Chat(context.Background(), upstream.ChatRequest{Model: "gpt-4o-mini", Tools: weatherTools[:1],
		Messages: []upstream.Message{user, {Role: "assistant", ToolCalls: first.ToolCalls},
			{Role: "tool", ToolCallID: "call_Paris1", Content: "18°C, sunny"},
			{Role: "tool", ToolCallID: "call_Oslo2", Content: "arguments are not JSON", IsError: true},
			{Role: "assistant", Content: "Paris is sunny.", ToolCalls: []upstream.ToolCall{{ID: "call_3", Name: "now", Arguments: "{}"}}},
			{Role: "tool", ToolCallID: "call_3", Content: "12:00"}}})
	if err != nil || second.Content != "Hello there" || second.ToolCalls != nil {
		t.Fatalf("Chat(tool results) = %+v, %v; want the text answer without calls", second, err)
	}
	checkJSON(t, "Chat(tool results)", received(t, reqs).JSON, `{"model":"gpt-4o-mini","messages":[
		{"role":"user","content":"Weather in Paris and Oslo?"},
		{"role":"assistant","content":null,"tool_calls":[
			{"id":"call_Paris1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
			{"id":"call_Oslo2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\""}}]},
		{"role":"tool","tool_call_id":"call_Paris1","content":"18°C, sunny"},
		{"role":"tool","tool_call_id":"call_Oslo2","content":"arguments are not JSON"},
		{"role":"assistant","content":"Paris is sunny.","tool_calls":[
			{"id":"call_3","type":"function","function":{"name":"now","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"call_3","content":"12:00"}],
		"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather in a city",
			"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]}`)
}

func TestOpenAIToolChoice(t *testing.T) {
	tests := []struct {
		name     string
		req      upstream.ChatRequest
		wantBody string
	}{
		{"required", upstream.ChatRequest{Model: "m", Messages: hi.Messages, Tools: weatherTools[1:], ToolChoice: "required"},
			`{"model":"m","messages":[{"role":"user","content":"Hi"}],"tool_choice":"required",
				"tools":[{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}]}`},
		{"none", upstream.ChatRequest{Model: "m", Messages: hi.Messages, Tools: weatherTools[1:], ToolChoice: "none"},
			`{"model":"m","messages":[{"role":"user","content":"Hi"}],"tool_choice":"none",
				"tools":[{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}]}`},
		{"choice without tools is not sent", upstream.ChatRequest{Model: "m", Messages: hi.Messages, ToolChoice: "auto"},
			`{"model":"m","messages":[{"role":"user","content":"Hi"}]}`},
	}
	for _, tt := range tests {
		srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) { writeJSON(w, 200, openAICompletion) })
		c := &upstream.OpenAI{Endpoint: upstream.Endpoint{BaseURL: srv.URL}}
		if _, err := c.Chat(context.Background(), tt.req); err != nil {
			t.Errorf("Chat(%q) = %v", tt.name, err)
		}
		checkJSON(t, "Chat("+tt.name+")", received(t, reqs).JSON, tt.wantBody)
	}
}

// openAIToolStream is a chunk stream: each delta is the JSON of one choices[0].delta, and finish the
// finish_reason of the last chunk; usage follows.
func openAIToolStream(finish string, deltas ...string) string {
	var b strings.Builder
	for _, d := range deltas {
		fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-t\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":%s,\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n", d)
	}
	fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-t\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":%q}],\"usage\":null}\n\n", finish)
	b.WriteString(`data: {"id":"chatcmpl-t","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":70,"completion_tokens":30,"total_tokens":100}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

func TestOpenAIToolStream(t *testing.T) {
	paris := upstream.ToolCall{ID: "call_P", Name: "get_weather", Arguments: `{"city":"Paris"}`}
	oslo := upstream.ToolCall{ID: "call_O", Name: "get_weather", Arguments: `{"city":"Oslo"}`}
	tests := []struct {
		name        string
		contentType string
		body        string
		wantCalls   []upstream.ToolCall
		wantDeltas  []string
		wantFinish  string
	}{
		{name: "arguments over several chunks", body: openAIToolStream("tool_calls",
			`{"role":"assistant","content":null}`,
			`{"tool_calls":[{"index":0,"id":"call_P","type":"function","function":{"name":"get_weather","arguments":""}}]}`,
			`{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}`,
			`{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Pa"}}]}`,
			`{"tool_calls":[{"index":0,"function":{"arguments":"ris\"}"}}]}`),
			wantCalls: []upstream.ToolCall{paris}, wantFinish: "tool_calls"},
		{name: "text, then two parallel calls", body: openAIToolStream("tool_calls",
			`{"role":"assistant","content":"Checking"}`,
			`{"content":" both."}`,
			`{"tool_calls":[{"index":0,"id":"call_P","type":"function","function":{"name":"get_weather","arguments":""}}]}`,
			`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`,
			`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`,
			`{"tool_calls":[{"index":1,"id":"call_O","type":"function","function":{"name":"get_weather","arguments":""}}]}`,
			`{"tool_calls":[{"index":1,"function":{"arguments":"{\"city\":\"Oslo\"}"}}]}`),
			wantCalls: []upstream.ToolCall{paris, oslo}, wantDeltas: []string{"Checking", " both."}, wantFinish: "tool_calls"},
		{name: "fragments of two calls interleaved", body: openAIToolStream("tool_calls",
			`{"tool_calls":[{"index":0,"id":"call_P","type":"function","function":{"name":"get_weather","arguments":"{\"city\":"}},{"index":1,"id":"call_O","type":"function","function":{"name":"get_weather","arguments":"{\"city\":"}}]}`,
			`{"tool_calls":[{"index":1,"function":{"arguments":"\"Oslo\"}"}}]}`,
			`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`),
			wantCalls: []upstream.ToolCall{paris, oslo}, wantFinish: "tool_calls"},
		{name: "Ollama: index 0 reused, a new id starts a call; stop means tool_calls", body: openAIToolStream("stop",
			`{"role":"assistant","content":"","tool_calls":[{"id":"call_P","index":0,"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}`,
			`{"role":"assistant","content":"","tool_calls":[{"id":"call_O","index":0,"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]}`),
			wantCalls: []upstream.ToolCall{paris, oslo}, wantFinish: "tool_calls"},
		{name: "the id repeated on every fragment is one call", body: openAIToolStream("tool_calls",
			`{"tool_calls":[{"index":0,"id":"call_P","type":"function","function":{"name":"get_weather","arguments":"{\"city\""}}]}`,
			`{"tool_calls":[{"index":0,"id":"call_P","type":"function","function":{"arguments":":\"Paris\"}"}}]}`),
			wantCalls: []upstream.ToolCall{paris}, wantFinish: "tool_calls"},
		{name: "no ids from a local server: named by position", body: openAIToolStream("tool_calls",
			`{"tool_calls":[{"index":0,"type":"function","function":{"name":"now","arguments":"{}"}}]}`,
			`{"tool_calls":[{"index":1,"type":"function","function":{"name":"get_weather","arguments":{"city":"Oslo"}}}]}`),
			wantCalls: []upstream.ToolCall{{ID: "call_0", Name: "now", Arguments: "{}"},
				{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Oslo"}`}}, wantFinish: "tool_calls"},
		{name: "cut short: length kept", body: openAIToolStream("length",
			`{"tool_calls":[{"index":0,"id":"call_P","type":"function","function":{"name":"get_weather","arguments":"{\"ci"}}]}`),
			wantCalls: []upstream.ToolCall{{ID: "call_P", Name: "get_weather", Arguments: `{"ci`}}, wantFinish: "length"},
		{name: "JSON instead of a stream", contentType: "application/json", body: openAIToolCompletion,
			wantCalls: []upstream.ToolCall{{ID: "call_Paris1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
				{ID: "call_Oslo2", Name: "get_weather", Arguments: `{"city":"Oslo"`}}, wantFinish: "tool_calls"},
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
			c := &upstream.OpenAI{Endpoint: upstream.Endpoint{BaseURL: srv.URL + "/v1"}}
			var deltas []string
			got, err := c.ChatStream(context.Background(), upstream.ChatRequest{Model: "gpt-4o-mini", Messages: hi.Messages,
				Tools: weatherTools[:1]}, collect(&deltas))
			if err != nil {
				t.Fatalf("ChatStream(%q) = %v", tt.name, err)
			}
			if !reflect.DeepEqual(got.ToolCalls, tt.wantCalls) || got.FinishReason != tt.wantFinish {
				t.Errorf("ChatStream(%q) calls, finish = %+v, %q; want %+v, %q", tt.name, got.ToolCalls, got.FinishReason, tt.wantCalls, tt.wantFinish)
			}
			if !reflect.DeepEqual(deltas, tt.wantDeltas) || got.Content != strings.Join(tt.wantDeltas, "") {
				t.Errorf("ChatStream(%q) deltas = %q, content %q; want %q", tt.name, deltas, got.Content, tt.wantDeltas)
			}
			if tt.contentType == "" && got.Usage != (upstream.Usage{InputTokens: 70, OutputTokens: 30}) {
				t.Errorf("ChatStream(%q) usage = %+v; want 70 in, 30 out", tt.name, got.Usage)
			}
			checkJSON(t, "ChatStream("+tt.name+")", received(t, reqs).JSON, `{"model":"gpt-4o-mini",
				"messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true},
				"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather in a city",
					"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]}`)
		})
	}
}
