// Package upstream speaks the AI providers' wire protocols: the OpenAI chat-completions protocol (OpenAI,
// OpenRouter, Groq, Gemini's OpenAI-compatible endpoint, local servers) and Anthropic's Messages API, both with
// streaming and tool calling, plus OpenAI's audio endpoints.
//
// The types here are provider-neutral: a ChatRequest goes to either adapter and a ChatResponse comes back with
// the same meaning (FinishReason uses OpenAI's vocabulary). Every failure the upstream is responsible for is an
// *Error; a cancelled context comes back as the context's error, and an error returned by a stream's onDelta
// callback comes back unchanged.
//
// Tool calling has one form for both protocols: a request offers Tools, a response returns ToolCalls whose
// Arguments is JSON text, and the caller sends the calls back in an assistant Message followed by one "tool"
// Message per call. Each adapter translates: OpenAI's tool_calls with string arguments and role "tool" messages;
// Anthropic's tool_use blocks with object inputs and tool_result blocks gathered into one user message.
package upstream

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Message is one turn of a conversation. A plain message has only Role and Content. An assistant message that
// called tools carries ToolCalls; each call is answered by its own message of role "tool" naming it in ToolCallID,
// right after the assistant message. The JSON tags are the provider-neutral form callers send; each adapter
// writes its own wire form.
type Message struct {
	Role       string     `json:"role"` // system, user, assistant or tool
	Content    string     `json:"content"`
	ToolCalls  []ToolCall `json:"toolCalls,omitempty"`  // assistant: the calls it made
	ToolCallID string     `json:"toolCallId,omitempty"` // tool: the call this message answers
	// IsError marks a tool result as a failure. Anthropic has a flag for it; the OpenAI protocol has none, so
	// there the content alone must say so.
	IsError bool `json:"isError,omitempty"`
}

// ToolCall is one call of a tool by the model. Arguments is the JSON text the model produced, passed on
// unchecked: OpenAI-protocol models may produce malformed JSON, which is the tool runner's to handle.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Tool is a function the model may call. Parameters is a JSON Schema object; empty means no parameters.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage
}

// ChatRequest is a provider-neutral chat completion request. Nil optional fields are left to the upstream's
// defaults (except MaxTokens on Anthropic, which requires it).
type ChatRequest struct {
	Model       string
	Messages    []Message
	Temperature *float64
	TopP        *float64
	MaxTokens   *int
	Tools       []Tool
	// ToolChoice is "auto", "none" or "required" (call at least one tool); empty leaves it to the upstream.
	// It is not sent when Tools is empty.
	ToolChoice string
}

// Usage counts the tokens one call consumed, as the upstream reported them.
type Usage struct {
	InputTokens  int64
	OutputTokens int64
}

// ChatResponse is a completed chat call.
type ChatResponse struct {
	ID      string
	Model   string // the model that answered, as the upstream names it
	Content string
	// FinishReason uses OpenAI's vocabulary (stop, length, tool_calls, content_filter); values with no
	// equivalent pass through unchanged.
	FinishReason string
	Usage        Usage
	// ToolCalls are the tools the model called, in order; FinishReason is then "tool_calls" unless the answer
	// was cut short ("length").
	ToolCalls []ToolCall
}

// Chatter is what both protocols offer. ChatStream calls onDelta with each piece of text content as it arrives
// and returns the whole response, tool calls assembled, at the end; an error from onDelta aborts the call and is returned as is.
type Chatter interface {
	Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error)
	ChatStream(ctx context.Context, req ChatRequest, onDelta func(string) error) (*ChatResponse, error)
}

var (
	_ Chatter = (*OpenAI)(nil)
	_ Chatter = (*Anthropic)(nil)
)

// Endpoint says where an upstream lives and how to authenticate to it.
type Endpoint struct {
	BaseURL string // e.g. https://api.openai.com/v1; empty selects the provider's public URL
	APIKey  string // empty sends no credentials (local servers)
	// HTTPClient, when nil, is a shared client with connection and header timeouts but no overall timeout, so
	// that long streams are bounded only by the caller's context.
	HTTPClient *http.Client
	// Headers are sent with every request after the protocol's own, so they may override them (e.g.
	// OpenRouter's HTTP-Referer and X-Title, or an anthropic-beta flag).
	Headers map[string]string
}

const (
	// maxBody caps a non-streaming JSON response; a chat completion is far smaller.
	maxBody = 8 << 20
	// maxAudio caps synthesized speech: OpenAI's 4096-character input limit makes about five minutes of 24 kHz
	// 16-bit PCM (≈ 15 MB), more than maxBody allows.
	maxAudio = 32 << 20
	// maxErrorBody caps how much of a failed response is read to find its message.
	maxErrorBody = 64 << 10
)

// defaultClient is shared so that calls reuse connections. It has no Client.Timeout, which would cut long
// streams; the response-header timeout is generous because a non-streaming completion sends its headers only
// after the whole answer has been generated.
var defaultClient = &http.Client{Transport: newDefaultTransport()}

func newDefaultTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment}
	} else {
		t = t.Clone()
	}
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 5 * time.Minute
	t.IdleConnTimeout = 90 * time.Second
	return t
}

func (e *Endpoint) client() *http.Client {
	if e.HTTPClient != nil {
		return e.HTTPClient
	}
	return defaultClient
}

// url joins the base URL (or def when unset) and path.
func (e *Endpoint) url(def, path string) string {
	base := e.BaseURL
	if base == "" {
		base = def
	}
	return strings.TrimRight(base, "/") + path
}

func (e *Endpoint) key() string { return strings.TrimSpace(e.APIKey) }

func (e *Endpoint) applyHeaders(h http.Header) {
	for k, v := range e.Headers {
		h.Set(k, v)
	}
}
