package ai_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

const weatherTool = `{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}`

// toolAnswer answers the first turn of a tool conversation on either protocol: get_weather called twice (the
// second call's arguments malformed, as OpenAI-protocol models may produce them) and, streamed, in pieces.
func toolAnswer(w http.ResponseWriter, r upstreamReq) {
	model, _ := r.JSON["model"].(string)
	stream, _ := r.JSON["stream"].(bool)
	chunk := func(delta string) string {
		return fmt.Sprintf("data: {\"id\":\"chatcmpl-t\",\"object\":\"chat.completion.chunk\",\"model\":%q,\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":null}]}\n\n", model, delta)
	}
	event := func(typ, data string) string { return "event: " + typ + "\ndata: " + data + "\n\n" }
	switch {
	case strings.HasSuffix(r.Path, "/chat/completions") && stream:
		writeSSE(w, chunk(`{"role":"assistant","content":"Checking."}`)+
			chunk(`{"tool_calls":[{"index":0,"id":"call_P","type":"function","function":{"name":"get_weather","arguments":""}}]}`)+
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`)+
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`)+
			chunk(`{"tool_calls":[{"index":1,"id":"call_O","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\""}}]}`)+
			fmt.Sprintf("data: {\"id\":\"chatcmpl-t\",\"object\":\"chat.completion.chunk\",\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n", model)+
			fmt.Sprintf("data: {\"id\":\"chatcmpl-t\",\"object\":\"chat.completion.chunk\",\"model\":%q,\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":20,\"total_tokens\":70}}\n\n", model)+
			"data: [DONE]\n\n")
	case strings.HasSuffix(r.Path, "/chat/completions"):
		writeJSON(w, 200, fmt.Sprintf(`{"id":"chatcmpl-t","object":"chat.completion","created":1,"model":%q,
			"choices":[{"index":0,"message":{"role":"assistant","content":"Checking.","tool_calls":[
				{"id":"call_P","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
				{"id":"call_O","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\""}}]},
				"finish_reason":"tool_calls"}],
			"usage":{"prompt_tokens":50,"completion_tokens":20,"total_tokens":70}}`, model))
	case strings.HasSuffix(r.Path, "/messages") && stream:
		writeSSE(w, event("message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_t","type":"message","role":"assistant","model":%q,"content":[],"stop_reason":null,"usage":{"input_tokens":50,"output_tokens":1}}}`, model))+
			event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)+
			event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}}`)+
			event("content_block_stop", `{"type":"content_block_stop","index":0}`)+
			event("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_P","name":"get_weather","input":{}}}`)+
			event("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`)+
			event("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}`)+
			event("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}`)+
			event("content_block_stop", `{"type":"content_block_stop","index":1}`)+
			event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":20}}`)+
			event("message_stop", `{"type":"message_stop"}`))
	case strings.HasSuffix(r.Path, "/messages"):
		writeJSON(w, 200, fmt.Sprintf(`{"id":"msg_t","type":"message","role":"assistant","model":%q,
			"content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_P","name":"get_weather","input":{"city":"Paris"}}],
			"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":50,"output_tokens":20}}`, model))
	}
}

// sentJSON renders a decoded JSON value for messages.
func sentJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkSent compares a part of an upstream request with the JSON text want.
func checkSent(t *testing.T, call string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON %q: %v", want, err)
	}
	if !equal(got, w) {
		t.Errorf("%s sent %s; want %s", call, sentJSON(t, got), want)
	}
}

// A tool loop through generate-text: the model's calls come back in the output, and the caller's next request
// (the calls and their results) reaches each protocol in its own form.
func TestGenerateTextToolLoop(t *testing.T) {
	tests := []struct {
		model      string
		wantCalls  string // the output's message.toolCalls
		history    string // the second request's messages
		wantSent   string // the messages the upstream receives for it
		wantTools  string
		wantChoice any
	}{
		{model: "gpt-4o-mini",
			wantCalls: `[{"id":"call_P","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
				{"id":"call_O","name":"get_weather","arguments":"{\"city\":\"Oslo\""}]`,
			history: `[{"role":"user","content":"Weather?"},
				{"role":"assistant","content":"Checking.","toolCalls":[{"id":"call_P","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
					{"id":"call_O","name":"get_weather","arguments":"{\"city\":\"Oslo\""}]},
				{"role":"tool","toolCallId":"call_O","content":"bad arguments","isError":true},
				{"role":"tool","toolCallId":"call_P","content":"18°C"}]`,
			wantSent: `[{"role":"user","content":"Weather?"},
				{"role":"assistant","content":"Checking.","tool_calls":[
					{"id":"call_P","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
					{"id":"call_O","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\""}}]},
				{"role":"tool","tool_call_id":"call_O","content":"bad arguments"},
				{"role":"tool","tool_call_id":"call_P","content":"18°C"}]`,
			wantTools: `[{"type":"function","function":{"name":"get_weather","description":"Current weather",
				"parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
				{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}]`,
			wantChoice: "required"},
		{model: "claude-3-5-sonnet",
			wantCalls: `[{"id":"toolu_P","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}]`,
			history: `[{"role":"user","content":"Weather?"},
				{"role":"assistant","content":"Checking.","toolCalls":[{"id":"toolu_P","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
					{"id":"call_O","name":"get_weather","arguments":"{\"city\":\"Oslo\""}]},
				{"role":"tool","toolCallId":"call_O","content":"bad arguments","isError":true},
				{"role":"tool","toolCallId":"toolu_P","content":"18°C"}]`,
			wantSent: `[{"role":"user","content":"Weather?"},
				{"role":"assistant","content":[{"type":"text","text":"Checking."},
					{"type":"tool_use","id":"toolu_P","name":"get_weather","input":{"city":"Paris"}},
					{"type":"tool_use","id":"call_O","name":"get_weather","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_O","content":"bad arguments","is_error":true},
					{"type":"tool_result","tool_use_id":"toolu_P","content":"18°C"}]}]`,
			wantTools: `[{"name":"get_weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},
				{"name":"now","input_schema":{"type":"object","properties":{}}}]`,
			wantChoice: map[string]any{"type": "any"}},
	}
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	caller := provider.Caller{Plan: "network"}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			f.reset()
			f.setRespond(toolAnswer)
			tools := `[` + weatherTool + `,{"name":"now"}]`
			resp := invoke(t, c, "generate-text", `{"model":"`+tt.model+`","prompt":"Weather?","tools":`+tools+`,"toolChoice":"required"}`, caller)
			if resp.Error != nil {
				t.Fatalf("generate-text with tools error = %s", errString(resp.Error))
			}
			out := decode(t, "output", resp.Output)
			msg, _ := out["message"].(map[string]any)
			checkSent(t, "generate-text output toolCalls", msg["toolCalls"], tt.wantCalls)
			if out["finishReason"] != "tool_calls" || msg["content"] != "Checking." || msg["role"] != "assistant" {
				t.Errorf("generate-text output = %v; want the assistant's text and finishReason tool_calls", out)
			}
			first := f.last(t).JSON
			checkSent(t, "generate-text tools", first["tools"], tt.wantTools)
			if !equal(first["tool_choice"], tt.wantChoice) {
				t.Errorf("generate-text sent tool_choice %v; want %v", first["tool_choice"], tt.wantChoice)
			}

			f.reset()
			f.setRespond(nil)
			resp = invoke(t, c, "generate-text", `{"model":"`+tt.model+`","messages":`+tt.history+`,"tools":`+tools+`}`, caller)
			if resp.Error != nil {
				t.Fatalf("generate-text with tool results error = %s", errString(resp.Error))
			}
			out = decode(t, "output", resp.Output)
			if msg := out["message"].(map[string]any); msg["content"] != "Hello there" || msg["toolCalls"] != nil || out["finishReason"] != "stop" {
				t.Errorf("generate-text with tool results output = %v; want the text answer and no toolCalls member", out)
			}
			second := f.last(t).JSON
			checkSent(t, "generate-text with tool results", second["messages"], tt.wantSent)
			if _, ok := second["tool_choice"]; ok {
				t.Errorf("generate-text without toolChoice sent tool_choice %v", second["tool_choice"])
			}
		})
	}
}

// Streamed, text comes in delta chunks as before and the final chunk adds the assembled calls.
func TestInvokeStreamToolCalls(t *testing.T) {
	f := newFakeUpstream(t)
	f.setRespond(toolAnswer)
	c := serveAI(t, f, nil)
	tests := []struct {
		capability, model string
		wantFinal         string
	}{
		{"generate-text", "gpt-4o-mini", `{"finishReason":"tool_calls","model":"gpt-4o-mini","provider":"openai","id":"chatcmpl-t",
			"toolCalls":[{"id":"call_P","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
				{"id":"call_O","name":"get_weather","arguments":"{\"city\":\"Oslo\""}]}`},
		{"agent", "claude-3-5-sonnet", `{"finishReason":"tool_calls","model":"claude-3-5-sonnet","provider":"anthropic","id":"msg_t",
			"toolCalls":[{"id":"toolu_P","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}]}`},
	}
	for _, tt := range tests {
		input := `{"model":"` + tt.model + `","prompt":"Weather?","tools":[` + weatherTool + `]}`
		chunks := providertest.Collect(t, c, &provider.InvokeRequest{Capability: tt.capability, Input: json.RawMessage(input),
			Caller: provider.Caller{Plan: "network"}})
		if len(chunks) != 2 {
			t.Fatalf("%s(%s) = %d chunks; want a delta and the final chunk", tt.capability, input, len(chunks))
		}
		if got := decode(t, "chunk", chunks[0].Data); !equal(got, map[string]any{"delta": "Checking."}) {
			t.Errorf("%s(%s) first chunk = %v; want the text delta alone", tt.capability, tt.model, got)
		}
		last := chunks[1]
		checkSent(t, tt.capability+"("+tt.model+") final chunk", decode(t, "final chunk", last.Data), tt.wantFinal)
		if last.Usage == nil || last.Usage.InputTokens != 50 || last.Usage.OutputTokens != 20 {
			t.Errorf("%s(%s) final usage = %+v; want 50 in, 20 out", tt.capability, tt.model, last.Usage)
		}
	}
}

// POST /api/ai/chat takes and returns the same tool fields.
func TestChatRouteToolCalls(t *testing.T) {
	f := newFakeUpstream(t)
	f.setRespond(toolAnswer)
	c := serveAI(t, f, nil)
	body := `{"model":"claude-3-5-sonnet","messages":[{"role":"user","content":"Weather?"}],"tools":[` + weatherTool + `]}`
	res := do(t, c, &provider.HTTPRequest{Method: "POST", Path: "/api/ai/chat", Body: []byte(body),
		Caller: provider.Caller{Plan: "network", SubscriptionStatus: "active"}})
	out := res.json(t, "/api/ai/chat")
	msg, _ := out["message"].(map[string]any)
	if res.Status != 200 || out["finishReason"] != "tool_calls" {
		t.Fatalf("POST /api/ai/chat with tools = %d %s; want 200 with finishReason tool_calls", res.Status, res.Body)
	}
	checkSent(t, "POST /api/ai/chat toolCalls", msg["toolCalls"], `[{"id":"toolu_P","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}]`)
}

func TestToolInputValidation(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	call := func(id string) string { return `{"id":"` + id + `","name":"get_weather","arguments":"{}"}` }
	asked := `{"role":"user","content":"Weather?"}`
	tests := []struct {
		name, input, wantField string
	}{
		{"tool name with a space", `{"prompt":"Hi","tools":[{"name":"get weather"}]}`, "tools[0].name"},
		{"tool name empty", `{"prompt":"Hi","tools":[{"description":"x"}]}`, "tools[0].name"},
		{"tool name too long", `{"prompt":"Hi","tools":[{"name":"` + strings.Repeat("a", 65) + `"}]}`, "tools[0].name"},
		{"tool name twice", `{"prompt":"Hi","tools":[` + weatherTool + `,{"name":"now"},` + weatherTool + `]}`, "tools[2].name"},
		{"schema of type string", `{"prompt":"Hi","tools":[{"name":"a","parameters":{"type":"string"}}]}`, "tools[0].parameters"},
		{"schema without type", `{"prompt":"Hi","tools":[{"name":"a","parameters":{"properties":{}}}]}`, "tools[0].parameters"},
		{"schema an array", `{"prompt":"Hi","tools":[{"name":"a","parameters":[{"type":"object"}]}]}`, "tools[0].parameters"},
		{"schema a string", `{"prompt":"Hi","tools":[{"name":"a","parameters":"{\"type\":\"object\"}"}]}`, "tools[0].parameters"},
		{"schema too large", `{"prompt":"Hi","tools":[{"name":"a","parameters":{"type":"object","description":"` +
			strings.Repeat("x", 64<<10) + `"}}]}`, "tools[0].parameters"},
		{"too many tools", `{"prompt":"Hi","tools":[` + strings.TrimSuffix(strings.Repeat(`{"name":"a"},`, 129), ",") + `]}`, "tools"},
		{"unknown toolChoice", `{"prompt":"Hi","tools":[` + weatherTool + `],"toolChoice":"any"}`, "toolChoice"},
		{"required without tools", `{"prompt":"Hi","toolChoice":"required"}`, "toolChoice"},
		{"orphan tool message", `{"messages":[` + asked + `,{"role":"tool","toolCallId":"call_1","content":"x"}]}`, "messages[1].toolCallId"},
		{"tool message answering an unknown call", `{"messages":[` + asked + `,{"role":"assistant","toolCalls":[` + call("call_1") +
			`]},{"role":"tool","toolCallId":"call_2","content":"x"}]}`, "messages[2].toolCallId"},
		{"tool message after a user message", `{"messages":[` + asked + `,{"role":"assistant","toolCalls":[` + call("call_1") +
			`]},{"role":"tool","toolCallId":"call_1","content":"x"},` + asked + `,{"role":"tool","toolCallId":"call_1","content":"x"}]}`,
			"messages[4].toolCallId"},
		{"call answered twice", `{"messages":[` + asked + `,{"role":"assistant","toolCalls":[` + call("call_1") + `,` + call("call_2") +
			`]},{"role":"tool","toolCallId":"call_1","content":"x"},{"role":"tool","toolCallId":"call_1","content":"y"}]}`,
			"messages[3].toolCallId"},
		{"tool message without toolCallId", `{"messages":[` + asked + `,{"role":"assistant","toolCalls":[` + call("call_1") +
			`]},{"role":"tool","content":"x"}]}`, "messages[2].toolCallId"},
		{"call unanswered before the next message", `{"messages":[` + asked + `,{"role":"assistant","toolCalls":[` + call("call_1") + `,` +
			call("call_2") + `]},{"role":"tool","toolCallId":"call_1","content":"x"},` + asked + `]}`, "messages[1].toolCalls[1]"},
		{"call unanswered at the end", `{"messages":[` + asked + `,{"role":"assistant","toolCalls":[` + call("call_1") + `]}]}`,
			"messages[1].toolCalls[0]"},
		{"call without id", `{"messages":[` + asked + `,{"role":"assistant","toolCalls":[` + call("") + `]}]}`, "messages[1].toolCalls[0].id"},
		{"two calls with one id", `{"messages":[` + asked + `,{"role":"assistant","toolCalls":[` + call("c") + `,` + call("c") + `]}]}`,
			"messages[1].toolCalls[1].id"},
		{"toolCalls on a user message", `{"messages":[{"role":"user","content":"x","toolCalls":[` + call("c") + `]}]}`, "messages[0].toolCalls"},
		{"toolCallId on a user message", `{"messages":[{"role":"user","content":"x","toolCallId":"c"}]}`, "messages[0].toolCallId"},
		{"isError on an assistant message", `{"messages":[` + asked + `,{"role":"assistant","content":"x","isError":true}]}`, "messages[1].isError"},
		{"arguments not a string", `{"messages":[` + asked + `,{"role":"assistant","toolCalls":[{"id":"c","name":"n","arguments":{}}]}]}`,
			"messages.toolCalls.arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.reset()
			for _, capability := range []string{"generate-text", "agent"} {
				resp := invoke(t, c, capability, tt.input, provider.Caller{Plan: "solo"})
				short := tt.input
				if len(short) > 200 {
					short = short[:200] + "…"
				}
				if checkErr(t, capability+"("+short+")", resp.Error, 400, "VALIDATION_ERROR") &&
					(resp.Error.Fields["field"] != tt.wantField || !strings.Contains(resp.Error.Message, tt.wantField)) {
					t.Errorf("%s(%s) error = %s; want it to name the field %s", capability, short, errString(resp.Error), tt.wantField)
				}
			}
			if n := len(f.requests()); n != 0 {
				t.Errorf("a refused input made %d upstream requests", n)
			}
		})
	}
}

// Well-formed tool input passes: 128 tools, a schema of 64 KiB, no parameters, explicit null parameters.
func TestToolInputLimitsAllowed(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	var tools []string
	for i := range 128 {
		tools = append(tools, fmt.Sprintf(`{"name":"t%d"}`, i))
	}
	schema := `{"type":"object","description":"`
	schema += strings.Repeat("x", 64<<10-len(schema)-2) + `"}`
	tools[0] = `{"name":"big","parameters":` + schema + `}`
	tools[1] = `{"name":"n","parameters":null}`
	input := `{"prompt":"Hi","tools":[` + strings.Join(tools, ",") + `],"toolChoice":"none"}`
	resp := invoke(t, c, "generate-text", input, provider.Caller{Admin: true})
	if resp.Error != nil {
		t.Fatalf("generate-text with 128 tools and a 64 KiB schema error = %s; want none", errString(resp.Error))
	}
	sent := f.last(t).JSON
	if got := sent["tools"].([]any); len(got) != 128 || sent["tool_choice"] != "none" {
		t.Errorf("the upstream got %d tools, tool_choice %v; want 128, none", len(got), sent["tool_choice"])
	}
	checkSent(t, "a tool with null parameters", sent["tools"].([]any)[1],
		`{"type":"function","function":{"name":"n","parameters":{"type":"object","properties":{}}}}`)
}

// Tool definitions, call names and arguments, and tool results count toward the prompt cap.
func TestPromptSizeCountsTools(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, limitsConfig(f)) // 50 bytes without a plan
	// "Hi" (2 bytes), the call's name (1) and arguments, the result.
	conversation := func(args, result string) map[string]any {
		return map[string]any{"messages": []any{
			map[string]any{"role": "user", "content": "Hi"},
			map[string]any{"role": "assistant", "toolCalls": []any{map[string]any{"id": "c1", "name": "f", "arguments": args}}},
			map[string]any{"role": "tool", "toolCallId": "c1", "content": result}}}
	}
	// "Hi" (2 bytes), the tool's name (1), description and schema.
	withTool := func(desc, params string) map[string]any {
		tool := map[string]any{"name": "f", "description": desc}
		if params != "" {
			tool["parameters"] = json.RawMessage(params)
		}
		return map[string]any{"prompt": "Hi", "tools": []any{tool}}
	}
	schema := `{"type":"object"}` // 17 bytes
	tests := []struct {
		name  string
		input map[string]any
		ok    bool
	}{
		{"arguments and result at the cap", conversation(strings.Repeat("a", 20), strings.Repeat("r", 27)), true},
		{"arguments one over", conversation(strings.Repeat("a", 21), strings.Repeat("r", 27)), false},
		{"result one over", conversation(strings.Repeat("a", 20), strings.Repeat("r", 28)), false},
		{"tool description at the cap", withTool(strings.Repeat("d", 47), ""), true},
		{"tool description one over", withTool(strings.Repeat("d", 48), ""), false},
		{"tool schema counted", withTool(strings.Repeat("d", 30), schema), true},
		{"tool schema one over", withTool(strings.Repeat("d", 31), schema), false},
	}
	for _, tt := range tests {
		in, _ := json.Marshal(tt.input)
		resp := invoke(t, c, "generate-text", string(in), provider.Caller{})
		if tt.ok {
			if resp.Error != nil {
				t.Errorf("%s: generate-text(%s) error = %s; want it allowed", tt.name, in, errString(resp.Error))
			}
			continue
		}
		checkErr(t, tt.name+": generate-text("+string(in)+")", resp.Error, 400, "PROMPT_TOO_LARGE")
	}
}
