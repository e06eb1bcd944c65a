package upstream

import (
	"bytes"
	"encoding/json"
)

// emptyParameters is the schema of a tool that takes no parameters; both protocols require a schema object.
var emptyParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// parameters returns t's schema, or emptyParameters when it has none.
func (t Tool) parameters() json.RawMessage {
	p := bytes.TrimSpace(t.Parameters)
	if len(p) == 0 || string(p) == "null" {
		return emptyParameters
	}
	return p
}

// argumentsObject turns a call's Arguments into the JSON object Anthropic requires as a tool_use input. Text
// that is not a JSON object (a model's malformed output) becomes {}: the conversation goes on, and the tool's
// result, which the caller sends next, says what went wrong.
func argumentsObject(args string) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(args)); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return json.RawMessage("{}")
	}
	return buf.Bytes()
}

// inputArguments renders an Anthropic tool_use input as Arguments: compact JSON, {} when absent.
func inputArguments(input []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, input); err != nil {
		return string(input) // not JSON: passed on as produced
	}
	if buf.Len() == 0 || buf.String() == "null" {
		return "{}"
	}
	return buf.String()
}

// settleFinish makes a response with tool calls say so: some OpenAI-compatible servers (Ollama) report "stop"
// for a turn that called tools, and a caller driving a tool loop should need only one of the two signals.
func settleFinish(r *ChatResponse) {
	if len(r.ToolCalls) > 0 && (r.FinishReason == "stop" || r.FinishReason == "") {
		r.FinishReason = "tool_calls"
	}
}
