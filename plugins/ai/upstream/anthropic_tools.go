package upstream

import (
	"encoding/json"
	"strings"
)

// The Messages API wire form of messages and tools. Plain messages keep a string content. An assistant turn
// that called tools becomes content blocks (its text, then one tool_use per call), and a run of tool messages
// becomes one user turn of tool_result blocks, which must come first in that turn: a user message that follows
// the run joins it as a text block after them.

// anthropicBlock is a content block, in a request or a response; which fields are set depends on Type.
type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`        // text
	ID        string          `json:"id,omitempty"`          // tool_use
	Name      string          `json:"name,omitempty"`        // tool_use
	Input     json.RawMessage `json:"input,omitempty"`       // tool_use: a JSON object
	ToolUseID string          `json:"tool_use_id,omitempty"` // tool_result
	Content   string          `json:"content,omitempty"`     // tool_result
	IsError   bool            `json:"is_error,omitempty"`    // tool_result
}

// anthropicTurn is one message of a request: Text, or Blocks when set.
type anthropicTurn struct {
	Role   string
	Text   string
	Blocks []anthropicBlock
}

func (t anthropicTurn) MarshalJSON() ([]byte, error) {
	if t.Blocks != nil {
		return json.Marshal(struct {
			Role    string           `json:"role"`
			Content []anthropicBlock `json:"content"`
		}{t.Role, t.Blocks})
	}
	return json.Marshal(struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}{t.Role, t.Text})
}

type anthropicTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type anthropicToolChoice struct {
	Type string `json:"type"` // auto, any or none
}

// anthropicMessages splits msgs into the top-level system prompt and the turns.
func anthropicMessages(msgs []Message) (system string, turns []anthropicTurn) {
	var sys []string
	turns = []anthropicTurn{}
	results := -1 // the index of the last turn if it holds tool results, else -1
	for _, m := range msgs {
		switch {
		case m.Role == "system":
			sys = append(sys, m.Content)
			continue
		case m.Role == "tool":
			b := anthropicBlock{Type: "tool_result", ToolUseID: m.ToolCallID, Content: m.Content, IsError: m.IsError}
			if results >= 0 {
				turns[results].Blocks = append(turns[results].Blocks, b)
				continue
			}
			turns = append(turns, anthropicTurn{Role: "user", Blocks: []anthropicBlock{b}})
			results = len(turns) - 1
			continue
		case m.Role == "user" && results >= 0:
			if m.Content != "" {
				turns[results].Blocks = append(turns[results].Blocks, anthropicBlock{Type: "text", Text: m.Content})
			}
		case m.Role == "assistant" && len(m.ToolCalls) > 0:
			var blocks []anthropicBlock
			if m.Content != "" {
				blocks = append(blocks, anthropicBlock{Type: "text", Text: m.Content})
			}
			for _, c := range m.ToolCalls {
				blocks = append(blocks, anthropicBlock{Type: "tool_use", ID: c.ID, Name: c.Name, Input: argumentsObject(c.Arguments)})
			}
			turns = append(turns, anthropicTurn{Role: m.Role, Blocks: blocks})
		default:
			turns = append(turns, anthropicTurn{Role: m.Role, Text: m.Content})
		}
		results = -1
	}
	return strings.Join(sys, "\n\n"), turns
}

func anthropicTools(tools []Tool) []anthropicTool {
	out := make([]anthropicTool, 0, len(tools))
	for _, t := range tools {
		out = append(out, anthropicTool{Name: t.Name, Description: t.Description, InputSchema: t.parameters()})
	}
	return out
}

// anthropicChoice translates a ToolChoice; "required" is Anthropic's "any".
func anthropicChoice(choice string) *anthropicToolChoice {
	switch choice {
	case "":
		return nil
	case "required":
		return &anthropicToolChoice{Type: "any"}
	}
	return &anthropicToolChoice{Type: choice}
}

// anthropicToolCalls returns the tool_use blocks of a whole message as calls.
func anthropicToolCalls(blocks []anthropicBlock) []ToolCall {
	var out []ToolCall
	for _, b := range blocks {
		if b.Type == "tool_use" {
			out = append(out, ToolCall{ID: b.ID, Name: b.Name, Arguments: inputArguments(b.Input)})
		}
	}
	return out
}

// toolUseAssembler builds the tool calls of a stream: a content_block_start opens a tool_use block, its
// input_json_delta pieces are joined, and content_block_stop completes it.
type toolUseAssembler struct {
	calls []ToolCall
	open  map[int]*toolUse // by content block index
}

type toolUse struct {
	pos   int             // in calls
	start json.RawMessage // the input content_block_start gave (normally {})
	input strings.Builder
}

func (a *toolUseAssembler) start(index int, b anthropicBlock) {
	if b.Type != "tool_use" {
		return
	}
	if a.open == nil {
		a.open = map[int]*toolUse{}
	}
	a.calls = append(a.calls, ToolCall{ID: b.ID, Name: b.Name})
	a.open[index] = &toolUse{pos: len(a.calls) - 1, start: b.Input}
}

func (a *toolUseAssembler) delta(index int, partial string) {
	if u := a.open[index]; u != nil {
		u.input.WriteString(partial)
	}
}

func (a *toolUseAssembler) stop(index int) {
	u := a.open[index]
	if u == nil {
		return
	}
	delete(a.open, index)
	if u.input.Len() == 0 {
		a.calls[u.pos].Arguments = inputArguments(u.start)
		return
	}
	a.calls[u.pos].Arguments = inputArguments([]byte(u.input.String()))
}

// result completes any block the stream left open and returns the calls, nil when there were none.
func (a *toolUseAssembler) result() []ToolCall {
	for index := range a.open {
		a.stop(index)
	}
	return a.calls
}
