// Package upstream speaks the AI providers' wire protocols: the OpenAI chat-completions protocol (OpenAI,
// OpenRouter, Groq, Gemini's OpenAI-compatible endpoint, local servers) and Anthropic's Messages API, both with
// streaming, plus OpenAI's audio endpoints.
//
// The types here are provider-neutral: a ChatRequest goes to either adapter and a ChatResponse comes back with
// the same meaning (FinishReason uses OpenAI's vocabulary). Every failure the upstream is responsible for is an
// *Error; a cancelled context comes back as the context's error, and an error returned by a stream's onDelta
// callback comes back unchanged.
package upstream

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"` // system, user or assistant
	Content string `json:"content"`
}

// ChatRequest is a provider-neutral chat completion request. Nil optional fields are left to the upstream's
// defaults (except MaxTokens on Anthropic, which requires it).
type ChatRequest struct {
	Model       string
	Messages    []Message
	Temperature *float64
	TopP        *float64
	MaxTokens   *int
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
}

// Chatter is what both protocols offer. ChatStream calls onDelta with each piece of content as it arrives and
// returns the whole response at the end; an error from onDelta aborts the call and is returned as is.
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
