package loop

import "encoding/json"

// Message roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// ToolCall is one call the model asked for.
type ToolCall struct {
	// ID is the model's opaque call id; the result carries it back.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Arguments is JSON text as the model produced it (possibly malformed).
	Arguments string `json:"arguments"`
}

// Message is one entry of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	// ToolCalls are an assistant message's calls.
	ToolCalls []ToolCall `json:"toolCalls,omitempty"`
	// ToolCallID, Name and IsError describe a tool message: the result of the
	// call with that id.
	ToolCallID string `json:"toolCallId,omitempty"`
	Name       string `json:"name,omitempty"`
	IsError    bool   `json:"isError,omitempty"`
}

// Tool is a tool offered to the model.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments (type object).
	Parameters json.RawMessage
	// PriceMicroUSD is what one call costs at most, for the budget check.
	PriceMicroUSD int64
}

// Usage is what model calls consumed.
type Usage struct {
	InputTokens  int64 `json:"inputTokens"`
	OutputTokens int64 `json:"outputTokens"`
}

func (u *Usage) add(v Usage) {
	u.InputTokens += v.InputTokens
	u.OutputTokens += v.OutputTokens
}
