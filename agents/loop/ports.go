package loop

import "context"

// ModelRequest is one model call: the conversation so far and the tools.
type ModelRequest struct {
	System   string
	Messages []Message
	Tools    []Tool
}

// ModelResponse is the model's answer: text, tool calls, or both.
type ModelResponse struct {
	Content      string
	ToolCalls    []ToolCall
	FinishReason string
	Usage        Usage
	// CostMicroUSD is what the call cost; it counts against the run's budget.
	CostMicroUSD int64
}

// Model is the language model a run talks to.
type Model interface {
	// Price is the most the next Complete call will cost, in micro-USD. The
	// loop refuses the call when it would take the run over its budget.
	Price() int64
	// Complete answers req. It calls onDelta with text as it arrives, never
	// concurrently and never after returning. A failure the caller should see
	// as such (an upstream's 429, a refused model) is returned as *Error; other
	// errors become CodeModelError. A response returned together with an error
	// still has its Usage and CostMicroUSD counted.
	Complete(ctx context.Context, req ModelRequest, onDelta func(string)) (*ModelResponse, error)
}

// Toolbox runs the tools a run may use.
type Toolbox interface {
	// Tools lists the tools; the loop reads it once per run.
	Tools() []Tool
	// Call runs one call whose Arguments are a JSON object. content is the
	// result text for the model (JSON, or an error message when isError);
	// validating the arguments against the tool's schema is Call's job, and a
	// validation failure is an isError result. cost is what the call charged.
	// err reports a failure that is not the model's fault; the model sees only
	// that the tool failed, and Run.ToolFailed receives err.
	Call(ctx context.Context, call ToolCall) (content string, isError bool, cost int64, err error)
}

// Transcript stores a run's messages.
type Transcript interface {
	// Append stores msgs atomically (all or none, e.g. in one database
	// transaction). The loop calls it with the user's input alone, then with
	// each assistant message followed by all of its tool results.
	Append(ctx context.Context, msgs []Message) error
}
