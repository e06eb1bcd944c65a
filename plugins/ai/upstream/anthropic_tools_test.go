package upstream_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/agentbot/gateway/plugins/ai/upstream"
)

// anthropicToolMessage answers with text and two tool_use blocks, the second without parameters.
const anthropicToolMessage = `{
  "id": "msg_01Aq9w938a90dw8q",
  "type": "message",
  "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [
    {"type": "text", "text": "I'll check."},
    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"city": "Paris", "units": ["c"]}},
    {"type": "tool_use", "id": "toolu_01B", "name": "now", "input": {}}
  ],
  "stop_reason": "tool_use",
  "stop_sequence": null,
  "usage": {"input_tokens": 400, "output_tokens": 60}
}`

// The first request offers the tools; the answer's calls go back as the assistant's content blocks, and all
// their results in one user message, tool_result blocks first.
func TestAnthropicToolRoundTrip(t *testing.T) {
	var n atomic.Int32
	srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) {
		if n.Add(1) == 1 {
			writeJSON(w, 200, anthropicToolMessage)
			return
		}
		writeJSON(w, 200, anthropicMessage)
	})
	c := &upstream.Anthropic{Endpoint: upstream.Endpoint{BaseURL: srv.URL + "/v1", APIKey: "sk-ant-test-key"}}
	sys := upstream.Message{Role: "system", Content: "Be brief."}
	user := upstream.Message{Role: "user", Content: "Weather in Paris?"}
	first, err := c.Chat(context.Background(), upstream.ChatRequest{Model: "claude-sonnet-4-5",
		Messages: []upstream.Message{sys, user}, Tools: weatherTools, ToolChoice: "required"})
	want := &upstream.ChatResponse{ID: "msg_01Aq9w938a90dw8q", Model: "claude-sonnet-4-5-20250929", Content: "I'll check.",
		FinishReason: "tool_calls", Usage: upstream.Usage{InputTokens: 400, OutputTokens: 60},
		ToolCalls: []upstream.ToolCall{
			{ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_weather", Arguments: `{"city":"Paris","units":["c"]}`},
			{ID: "toolu_01B", Name: "now", Arguments: `{}`}}}
	if err != nil || !reflect.DeepEqual(first, want) {
		t.Fatalf("Chat(tools) = %+v, %v; want %+v", first, err, want)
	}
	checkJSON(t, "Chat(tools)", received(t, reqs).JSON, `{"model":"claude-sonnet-4-5","system":"Be brief.","max_tokens":1024,
		"messages":[{"role":"user","content":"Weather in Paris?"}],
		"tools":[{"name":"get_weather","description":"Current weather in a city",
			"input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
			{"name":"now","input_schema":{"type":"object","properties":{}}}],
		"tool_choice":{"type":"any"}}`)

	history := []upstream.Message{sys, user, {Role: "assistant", Content: first.Content, ToolCalls: first.ToolCalls},
		{Role: "tool", ToolCallID: "toolu_01A09q90qw90lq917835lq9", Content: "18°C"},
		{Role: "tool", ToolCallID: "toolu_01B", Content: "clock unavailable", IsError: true},
		{Role: "user", Content: "And tomorrow?"},
		// Calls as an OpenAI-protocol model may have produced them: arguments that are not a JSON object go as {}.
		{Role: "assistant", ToolCalls: []upstream.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":`},
			{ID: "call_2", Name: "now", Arguments: `[1]`}, {ID: "call_3", Name: "now", Arguments: ``}}},
		{Role: "tool", ToolCallID: "call_1", Content: "bad arguments", IsError: true},
		{Role: "tool", ToolCallID: "call_2"},
		{Role: "tool", ToolCallID: "call_3", Content: "12:00"},
	}
	second, err := c.Chat(context.Background(), upstream.ChatRequest{Model: "claude-sonnet-4-5", Messages: history,
		Tools: weatherTools, ToolChoice: "auto"})
	if err != nil || second.Content != "Hello there" || second.ToolCalls != nil {
		t.Fatalf("Chat(tool results) = %+v, %v; want the text answer without calls", second, err)
	}
	checkJSON(t, "Chat(tool results)", received(t, reqs).JSON, `{"model":"claude-sonnet-4-5","system":"Be brief.","max_tokens":1024,
		"messages":[
			{"role":"user","content":"Weather in Paris?"},
			{"role":"assistant","content":[{"type":"text","text":"I'll check."},
				{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"city":"Paris","units":["c"]}},
				{"type":"tool_use","id":"toolu_01B","name":"now","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01A09q90qw90lq917835lq9","content":"18°C"},
				{"type":"tool_result","tool_use_id":"toolu_01B","content":"clock unavailable","is_error":true},
				{"type":"text","text":"And tomorrow?"}]},
			{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"get_weather","input":{}},
				{"type":"tool_use","id":"call_2","name":"now","input":{}},{"type":"tool_use","id":"call_3","name":"now","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"bad arguments","is_error":true},
				{"type":"tool_result","tool_use_id":"call_2"},{"type":"tool_result","tool_use_id":"call_3","content":"12:00"}]}],
		"tools":[{"name":"get_weather","description":"Current weather in a city",
			"input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
			{"name":"now","input_schema":{"type":"object","properties":{}}}],
		"tool_choice":{"type":"auto"}}`)
}

func TestAnthropicToolChoice(t *testing.T) {
	for _, tt := range []struct{ choice, want string }{{"none", `{"type":"none"}`}, {"", ``}} {
		srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) { writeJSON(w, 200, anthropicMessage) })
		c := &upstream.Anthropic{Endpoint: upstream.Endpoint{BaseURL: srv.URL}}
		if _, err := c.Chat(context.Background(), upstream.ChatRequest{Model: "m", Messages: hi.Messages, Tools: weatherTools[1:],
			ToolChoice: tt.choice}); err != nil {
			t.Errorf("Chat(tool choice %q) = %v", tt.choice, err)
		}
		want := `{"model":"m","max_tokens":1024,"messages":[{"role":"user","content":"Hi"}],
			"tools":[{"name":"now","input_schema":{"type":"object","properties":{}}}]`
		if tt.want != "" {
			want += `,"tool_choice":` + tt.want
		}
		checkJSON(t, "Chat(tool choice "+tt.choice+")", received(t, reqs).JSON, want+"}")
	}
}

// anthropicToolStream says "Checking", then calls get_weather with its input in input_json_delta pieces, then
// now with none; stop closes the tool blocks.
func anthropicToolStream(pieces []string, stop bool) string {
	s := `event: message_start
data: {"type":"message_start","message":{"id":"msg_tool","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":300,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}

`
	for _, p := range pieces {
		s += `event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":` + quote(p) + `}}

`
	}
	s += `event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"now","input":{}}}

`
	if stop {
		s += `event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

`
	}
	s += `event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

`
	if stop {
		s += anthropicStop
	}
	return s
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestAnthropicToolStream(t *testing.T) {
	now := upstream.ToolCall{ID: "toolu_2", Name: "now", Arguments: "{}"}
	tests := []struct {
		name      string
		body      string
		wantCalls []upstream.ToolCall
	}{
		{name: "input in pieces", body: anthropicToolStream([]string{"", `{"city": "Par`, `is", "units"`, `: ["c"]}`}, true),
			wantCalls: []upstream.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris","units":["c"]}`}, now}},
		{name: "no input: {}", body: anthropicToolStream(nil, true),
			wantCalls: []upstream.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{}`}, now}},
		{name: "malformed input passed on", body: anthropicToolStream([]string{`{"city": `}, true),
			wantCalls: []upstream.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city": `}, now}},
		{name: "ends after stop_reason with blocks open", body: anthropicToolStream([]string{`{"city":"Paris"}`}, false),
			wantCalls: []upstream.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}, now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) { writeSSE(w, tt.body) })
			c := &upstream.Anthropic{Endpoint: upstream.Endpoint{BaseURL: srv.URL + "/v1", APIKey: "sk-ant-test-key"}}
			var deltas []string
			got, err := c.ChatStream(context.Background(), upstream.ChatRequest{Model: "claude-sonnet-4-5", Messages: hi.Messages,
				Tools: weatherTools[1:]}, collect(&deltas))
			want := &upstream.ChatResponse{ID: "msg_tool", Model: "claude-sonnet-4-5-20250929", Content: "Checking",
				FinishReason: "tool_calls", Usage: upstream.Usage{InputTokens: 300, OutputTokens: 89}, ToolCalls: tt.wantCalls}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("ChatStream(%q) = %+v, %v; want %+v", tt.name, got, err, want)
			}
			if !reflect.DeepEqual(deltas, []string{"Checking"}) {
				t.Errorf("ChatStream(%q) deltas = %q; want the text only", tt.name, deltas)
			}
			checkJSON(t, "ChatStream("+tt.name+")", received(t, reqs).JSON, `{"model":"claude-sonnet-4-5","max_tokens":1024,
				"messages":[{"role":"user","content":"Hi"}],"stream":true,
				"tools":[{"name":"now","input_schema":{"type":"object","properties":{}}}]}`)
		})
	}
}
