package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Anthropic speaks the Messages API at Endpoint.BaseURL (default https://api.anthropic.com/v1). System messages
// move to the top-level "system" field, and max_tokens, which Anthropic requires, defaults to 1024.
type Anthropic struct{ Endpoint }

const (
	anthropicBaseURL   = "https://api.anthropic.com/v1"
	anthropicVersion   = "2023-06-01"
	anthropicMaxTokens = 1024
)

type anthropicRequest struct {
	Model       string               `json:"model"`
	System      string               `json:"system,omitempty"`
	Messages    []anthropicTurn      `json:"messages"`
	MaxTokens   int                  `json:"max_tokens"`
	Temperature *float64             `json:"temperature,omitempty"`
	TopP        *float64             `json:"top_p,omitempty"`
	Tools       []anthropicTool      `json:"tools,omitempty"`
	ToolChoice  *anthropicToolChoice `json:"tool_choice,omitempty"`
	Stream      bool                 `json:"stream,omitempty"`
}

type anthropicUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens int64  `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64  `json:"cache_read_input_tokens"`
}

// input counts every prompt token the upstream processed, cached or not.
func (u *anthropicUsage) input() (int64, bool) {
	if u.InputTokens == nil {
		return 0, false
	}
	return *u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens, true
}

type anthropicMessage struct {
	ID         string           `json:"id"`
	Model      string           `json:"model"`
	Content    []anthropicBlock `json:"content"`
	StopReason string           `json:"stop_reason"`
	Usage      anthropicUsage   `json:"usage"`
}

// anthropicEvent is the data of one streaming event; which fields are set depends on Type.
type anthropicEvent struct {
	Type         string           `json:"type"`
	Message      anthropicMessage `json:"message"`       // message_start
	Index        int              `json:"index"`         // content_block_*
	ContentBlock anthropicBlock   `json:"content_block"` // content_block_start
	Delta        struct {
		Type        string `json:"type"`         // content_block_delta: text_delta, input_json_delta, …
		Text        string `json:"text"`         // text_delta
		PartialJSON string `json:"partial_json"` // input_json_delta
		StopReason  string `json:"stop_reason"`  // message_delta
	} `json:"delta"`
	Usage *anthropicUsage `json:"usage"` // message_delta: cumulative counts
	Error json.RawMessage `json:"error"` // error
}

// Chat sends a non-streaming Messages request.
func (c *Anthropic) Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	resp, err := c.post(ctx, c.body(req, false), "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := c.readBody(ctx, resp, maxBody)
	if err != nil {
		return nil, err
	}
	return c.decodeMessage(resp.StatusCode, body, req.Model)
}

// ChatStream sends a streaming Messages request, calling onDelta with each text delta as soon as its event has
// been parsed. An error event becomes an *Error whose Status is the HTTP status Anthropic documents for that
// error type. A stream that ends without message_stop is accepted when a stop_reason has been seen. The
// input_json_delta pieces of each tool_use block are joined into the response's ToolCalls.
func (c *Anthropic) ChatStream(ctx context.Context, req ChatRequest, onDelta func(string) error) (*ChatResponse, error) {
	if onDelta == nil {
		onDelta = func(string) error { return nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.post(ctx, c.body(req, true), "text/event-stream")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	if isJSON(resp) { // a whole message instead of a stream: deliver it as one delta
		body, err := c.readBody(ctx, resp, maxBody)
		if err != nil {
			return nil, err
		}
		out, err := c.decodeMessage(resp.StatusCode, body, req.Model)
		if err != nil {
			return nil, err
		}
		if out.Content != "" {
			if err := onDelta(out.Content); err != nil {
				return nil, err
			}
		}
		return out, nil
	}

	out := &ChatResponse{Model: req.Model}
	var content strings.Builder
	var calls toolUseAssembler
	events := newSSEReader(resp.Body)
	for done := false; !done; {
		ev, err := events.Next()
		if errors.Is(err, io.EOF) {
			if out.FinishReason == "" {
				return nil, c.transportError(ctx, errors.New("stream ended early"))
			}
			break
		}
		if err != nil {
			return nil, c.streamError(ctx, err)
		}
		if ev.Data == "" {
			continue
		}
		var e anthropicEvent
		if err := json.Unmarshal([]byte(ev.Data), &e); err != nil {
			return nil, c.malformed(resp.StatusCode, "stream event", err)
		}
		typ := e.Type
		if typ == "" {
			typ = ev.Name
		}
		switch typ {
		case "message_start":
			out.ID = e.Message.ID
			if e.Message.Model != "" {
				out.Model = e.Message.Model
			}
			if n, ok := e.Message.Usage.input(); ok {
				out.Usage.InputTokens = n
			}
			if n := e.Message.Usage.OutputTokens; n != nil {
				out.Usage.OutputTokens = *n
			}
		case "content_block_start":
			calls.start(e.Index, e.ContentBlock)
		case "content_block_delta":
			switch e.Delta.Type {
			case "text_delta":
				if e.Delta.Text == "" {
					break
				}
				content.WriteString(e.Delta.Text)
				if err := onDelta(e.Delta.Text); err != nil {
					return nil, err
				}
			case "input_json_delta":
				calls.delta(e.Index, e.Delta.PartialJSON)
			}
		case "content_block_stop":
			calls.stop(e.Index)
		case "message_delta":
			if e.Delta.StopReason != "" {
				out.FinishReason = finishReason(e.Delta.StopReason)
			}
			if e.Usage != nil {
				if n, ok := e.Usage.input(); ok && n > 0 {
					out.Usage.InputTokens = n
				}
				if n := e.Usage.OutputTokens; n != nil {
					out.Usage.OutputTokens = *n
				}
			}
		case "message_stop":
			done = true
		case "error":
			return nil, c.eventError(ev.Data)
		}
		// ping and event types added later carry nothing we need.
	}
	out.Content = content.String()
	out.ToolCalls = calls.result()
	return out, nil
}

func (c *Anthropic) body(req ChatRequest, stream bool) anthropicRequest {
	b := anthropicRequest{
		Model:       req.Model,
		MaxTokens:   anthropicMaxTokens,
		Temperature: req.Temperature,
		TopP:        req.TopP,
		Stream:      stream,
	}
	if req.MaxTokens != nil {
		b.MaxTokens = *req.MaxTokens
	}
	b.System, b.Messages = anthropicMessages(req.Messages)
	if len(req.Tools) > 0 {
		b.Tools = anthropicTools(req.Tools)
		b.ToolChoice = anthropicChoice(req.ToolChoice)
	}
	return b
}

func (c *Anthropic) decodeMessage(status int, body []byte, model string) (*ChatResponse, error) {
	var m anthropicMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, c.malformed(status, "response", err)
	}
	if m.ID == "" && m.Content == nil {
		if msg, _, _ := parseError(body); msg != "" {
			return nil, c.eventError(string(body))
		}
		return nil, c.newError(status, "malformed response: not a message")
	}
	var text strings.Builder
	for _, b := range m.Content {
		if b.Type == "text" {
			text.WriteString(b.Text)
		}
	}
	out := &ChatResponse{
		ID:           m.ID,
		Model:        m.Model,
		Content:      text.String(),
		FinishReason: finishReason(m.StopReason),
		ToolCalls:    anthropicToolCalls(m.Content),
	}
	if out.Model == "" {
		out.Model = model
	}
	out.Usage.InputTokens, _ = m.Usage.input()
	if m.Usage.OutputTokens != nil {
		out.Usage.OutputTokens = *m.Usage.OutputTokens
	}
	return out, nil
}

// eventError converts a streamed error event, {"type":"error","error":{"type","message"}}.
func (c *Anthropic) eventError(data string) *Error {
	msg, typ, _ := parseError([]byte(data))
	if msg == "" {
		msg = "upstream reported an error"
	}
	return c.newError(anthropicErrorStatus[typ], msg)
}

// anthropicErrorStatus maps Anthropic's error types to the HTTP status its API uses for each. An unknown type
// maps to 0: a failure with no status, retryable like a broken connection.
var anthropicErrorStatus = map[string]int{
	"invalid_request_error": http.StatusBadRequest,
	"authentication_error":  http.StatusUnauthorized,
	"billing_error":         http.StatusPaymentRequired,
	"permission_error":      http.StatusForbidden,
	"not_found_error":       http.StatusNotFound,
	"request_too_large":     http.StatusRequestEntityTooLarge,
	"rate_limit_error":      http.StatusTooManyRequests,
	"api_error":             http.StatusInternalServerError,
	"timeout_error":         http.StatusGatewayTimeout,
	"overloaded_error":      529,
}

// finishReason translates Anthropic's stop_reason into OpenAI's vocabulary.
func finishReason(stop string) string {
	switch stop {
	case "end_turn", "stop_sequence":
		return "stop"
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return stop
}

func (c *Anthropic) post(ctx context.Context, body anthropicRequest, accept string) (*http.Response, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("upstream: encoding request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(anthropicBaseURL, "/messages"), bytes.NewReader(buf))
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	req.Header.Set("anthropic-version", anthropicVersion)
	if key := c.key(); key != "" {
		req.Header.Set("x-api-key", key)
	}
	c.applyHeaders(req.Header)
	return c.send(req)
}
