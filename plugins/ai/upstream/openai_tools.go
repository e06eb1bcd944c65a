package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The chat-completions wire form of messages and tools. Plain messages go out as {"role","content"}; an
// assistant message that called tools carries tool_calls (content null when it said nothing), and each answer
// is a {"role":"tool","tool_call_id","content"} message of its own.

type openAIMessage struct {
	Role       string           `json:"role"`
	Content    *string          `json:"content"` // null only for an assistant turn that is all tool calls
	ToolCalls  []openAIToolCall `json:"tool_calls,omitempty"`
	ToolCallID string           `json:"tool_call_id,omitempty"`
}

type openAIToolCall struct {
	ID       string         `json:"id"`
	Type     string         `json:"type"`
	Function openAIFunction `json:"function"`
}

type openAIFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type openAITool struct {
	Type     string            `json:"type"`
	Function openAIFunctionDef `json:"function"`
}

type openAIFunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
}

// openAIToolCallIn is a tool call in a response, or a fragment of one in a stream chunk's delta.
type openAIToolCallIn struct {
	Index    *int   `json:"index"` // stream fragments only
	ID       string `json:"id"`
	Function struct {
		Name string `json:"name"`
		// Arguments is a JSON string by the protocol; a few compatible servers send the object itself.
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

func openAIMessages(msgs []Message) []openAIMessage {
	out := make([]openAIMessage, 0, len(msgs))
	for _, m := range msgs {
		w := openAIMessage{Role: m.Role, Content: &m.Content, ToolCallID: m.ToolCallID}
		if len(m.ToolCalls) > 0 {
			if m.Content == "" {
				w.Content = nil
			}
			for _, c := range m.ToolCalls {
				w.ToolCalls = append(w.ToolCalls, openAIToolCall{ID: c.ID, Type: "function",
					Function: openAIFunction{Name: c.Name, Arguments: c.Arguments}})
			}
		}
		out = append(out, w)
	}
	return out
}

func openAITools(tools []Tool) []openAITool {
	out := make([]openAITool, 0, len(tools))
	for _, t := range tools {
		out = append(out, openAITool{Type: "function",
			Function: openAIFunctionDef{Name: t.Name, Description: t.Description, Parameters: t.parameters()}})
	}
	return out
}

// argumentsText returns a call's arguments as text: a JSON string's value, or any other JSON value as written.
func argumentsText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// openAIToolCalls converts the tool calls of a whole (non-streamed) message.
func openAIToolCalls(in []openAIToolCallIn) []ToolCall {
	var out []ToolCall
	for _, c := range in {
		out = append(out, ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: argumentsText(c.Function.Arguments)})
	}
	return nameCalls(out)
}

// nameCalls gives an ID to each call that came without one (some local servers send none), so that the caller
// can always answer a call by its ID.
func nameCalls(calls []ToolCall) []ToolCall {
	for i := range calls {
		if calls[i].ID == "" {
			calls[i].ID = fmt.Sprintf("call_%d", i)
		}
	}
	return calls
}

// toolCallAssembler joins the tool-call fragments of a stream. The first fragment of a call carries its index,
// id and name, later ones pieces of its arguments under the same index. Some servers (Ollama) reuse index 0 for
// every call of a parallel batch, telling them apart only by a new id, so a fragment with a different id at an
// index already in use starts a new call.
type toolCallAssembler struct {
	calls []ToolCall
	args  []*strings.Builder
	at    map[int]int // stream index → position in calls of the call being built there
}

func (a *toolCallAssembler) add(f openAIToolCallIn) {
	idx := 0
	if f.Index != nil {
		idx = *f.Index
	}
	pos, ok := a.at[idx]
	if !ok || (f.ID != "" && a.calls[pos].ID != "" && f.ID != a.calls[pos].ID) {
		if a.at == nil {
			a.at = map[int]int{}
		}
		a.calls = append(a.calls, ToolCall{})
		a.args = append(a.args, &strings.Builder{})
		pos = len(a.calls) - 1
		a.at[idx] = pos
	}
	c := &a.calls[pos]
	if c.ID == "" {
		c.ID = f.ID
	}
	if c.Name == "" {
		c.Name = f.Function.Name
	}
	a.args[pos].WriteString(argumentsText(f.Function.Arguments))
}

// result returns the assembled calls, nil when there were none.
func (a *toolCallAssembler) result() []ToolCall {
	for i := range a.calls {
		a.calls[i].Arguments = a.args[i].String()
	}
	return nameCalls(a.calls)
}
