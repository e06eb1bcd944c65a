package ai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/agentbot/gateway/plugins/ai/upstream"
	"github.com/agentbot/gateway/sdk/provider"
)

// Tool calling: the checks a chat input with tools or tool messages must pass before it goes upstream. Both
// protocols refuse a conversation whose tool calls and results do not pair up, with messages a caller cannot
// act on; refusing it here names the message at fault.

const (
	// maxTools is the most tools one request may offer (OpenAI's limit; Anthropic's is higher).
	maxTools = 128
	// maxToolSchema caps one tool's parameters schema, in bytes.
	maxToolSchema = 64 << 10
)

// toolName is what both protocols accept as a tool's name.
var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// toolInput is one tool of a chat input.
type toolInput struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// fieldErr is a VALIDATION_ERROR naming the input field at fault.
func fieldErr(field, format string, args ...any) *provider.Error {
	e := badInput(format, args...)
	e.Fields = map[string]any{"field": field}
	return e
}

// checkTools validates the offered tools and the tool choice and converts the tools.
func checkTools(in []toolInput, choice string) ([]upstream.Tool, *provider.Error) {
	switch choice {
	case "", "auto", "none":
	case "required":
		if len(in) == 0 {
			return nil, fieldErr("toolChoice", `toolChoice "required" needs tools`)
		}
	default:
		return nil, fieldErr("toolChoice", "toolChoice must be auto, none or required")
	}
	if len(in) > maxTools {
		return nil, fieldErr("tools", "tools may list at most %d tools, not %d", maxTools, len(in))
	}
	var out []upstream.Tool
	seen := make(map[string]int, len(in))
	for i, t := range in {
		field := fmt.Sprintf("tools[%d]", i)
		if !toolName.MatchString(t.Name) {
			return nil, fieldErr(field+".name", "%s.name must be 1 to 64 letters, digits, _ or -", field)
		}
		if j, dup := seen[t.Name]; dup {
			return nil, fieldErr(field+".name", "%s.name %q is also the name of tools[%d]", field, t.Name, j)
		}
		seen[t.Name] = i
		params, perr := checkSchema(field+".parameters", t.Parameters)
		if perr != nil {
			return nil, perr
		}
		out = append(out, upstream.Tool{Name: t.Name, Description: t.Description, Parameters: params})
	}
	return out, nil
}

// checkSchema accepts an absent parameters schema (none: nil) or a JSON Schema object of type "object", which
// is what both protocols require of a tool's input.
func checkSchema(field string, raw json.RawMessage) (json.RawMessage, *provider.Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > maxToolSchema {
		return nil, fieldErr(field, "%s is %d bytes; at most %d are allowed", field, len(raw), maxToolSchema)
	}
	var schema map[string]json.RawMessage
	if json.Unmarshal(raw, &schema) != nil || schema == nil {
		return nil, fieldErr(field, `%s must be a JSON Schema object with "type": "object"`, field)
	}
	var typ string
	if json.Unmarshal(schema["type"], &typ) != nil || typ != "object" {
		return nil, fieldErr(field, `%s must have "type": "object"`, field)
	}
	return raw, nil
}

// checkMessages validates roles and the pairing of tool calls and results: each assistant message's toolCalls
// must all be answered, each by one tool message naming it in toolCallId, after that message and before the
// next message that is not a tool result.
func checkMessages(msgs []upstream.Message) *provider.Error {
	var (
		owner   int            // the assistant message the current run of tool messages answers
		calls   map[string]int // its calls' ids → their index in its toolCalls
		pending []int          // the indexes of its calls not answered yet, in order
	)
	unanswered := func(at string) *provider.Error {
		j := pending[0]
		field := fmt.Sprintf("messages[%d].toolCalls[%d]", owner, j)
		return fieldErr(field, "%s (id %q) is not answered %s: each call needs a tool message with its toolCallId "+
			"right after the assistant message", field, msgs[owner].ToolCalls[j].ID, at)
	}
	for i, m := range msgs {
		field := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "user", "assistant", "tool":
		default:
			return fieldErr(field+".role", "%s.role must be system, user, assistant or tool", field)
		}
		if m.Role != "assistant" && len(m.ToolCalls) > 0 {
			return fieldErr(field+".toolCalls", "%s.toolCalls: only assistant messages carry tool calls", field)
		}
		if m.Role != "tool" && m.ToolCallID != "" {
			return fieldErr(field+".toolCallId", "%s.toolCallId: only tool messages answer a call", field)
		}
		if m.Role != "tool" && m.IsError {
			return fieldErr(field+".isError", "%s.isError: only tool messages report a tool's failure", field)
		}
		if m.Role == "tool" {
			if m.ToolCallID == "" {
				return fieldErr(field+".toolCallId", "%s.toolCallId is required: the id of the call it answers", field)
			}
			j, ok := calls[m.ToolCallID]
			if !ok {
				return fieldErr(field+".toolCallId", "%s.toolCallId %q answers no call of the assistant message before it",
					field, m.ToolCallID)
			}
			k := slices.Index(pending, j)
			if k < 0 {
				return fieldErr(field+".toolCallId", "%s.toolCallId %q answers a call that is already answered", field, m.ToolCallID)
			}
			pending = slices.Delete(pending, k, k+1)
			continue
		}
		if len(pending) > 0 {
			return unanswered("before " + field)
		}
		owner, calls, pending = i, nil, nil
		for j, c := range m.ToolCalls {
			cf := fmt.Sprintf("%s.toolCalls[%d]", field, j)
			if c.ID == "" {
				return fieldErr(cf+".id", "%s.id is required", cf)
			}
			if c.Name == "" {
				return fieldErr(cf+".name", "%s.name is required", cf)
			}
			if _, dup := calls[c.ID]; dup {
				return fieldErr(cf+".id", "%s.id %q is used by another call of the same message", cf, c.ID)
			}
			if calls == nil {
				calls = map[string]int{}
			}
			calls[c.ID] = j
			pending = append(pending, j)
		}
	}
	if len(pending) > 0 {
		return unanswered("at the end of messages")
	}
	return nil
}

// promptBytes is the size of what the caller sends the model: its system prompt, every message's text, the
// calls' names and arguments, and the tools' names, descriptions and schemas.
func promptBytes(system string, msgs []upstream.Message, tools []toolInput) int {
	n := len(system)
	for _, m := range msgs {
		n += len(m.Content)
		for _, c := range m.ToolCalls {
			n += len(c.Name) + len(c.Arguments)
		}
	}
	for _, t := range tools {
		n += len(t.Name) + len(t.Description) + len(bytes.TrimSpace(t.Parameters))
	}
	return n
}
