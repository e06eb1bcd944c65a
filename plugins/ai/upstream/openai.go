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

// OpenAI speaks the chat-completions protocol at Endpoint.BaseURL (e.g. https://api.openai.com/v1,
// https://openrouter.ai/api/v1, http://127.0.0.1:1234/v1); an empty BaseURL means OpenAI's.
type OpenAI struct{ Endpoint }

const openAIBaseURL = "https://api.openai.com/v1"

// openAIRequest is the body of POST /chat/completions. max_tokens rather than max_completion_tokens because
// every compatible server accepts it; only OpenAI's reasoning models insist on the newer name.
type openAIRequest struct {
	Model         string               `json:"model"`
	Messages      []openAIMessage      `json:"messages"`
	Temperature   *float64             `json:"temperature,omitempty"`
	TopP          *float64             `json:"top_p,omitempty"`
	MaxTokens     *int                 `json:"max_tokens,omitempty"`
	Tools         []openAITool         `json:"tools,omitempty"`
	ToolChoice    string               `json:"tool_choice,omitempty"`
	Stream        bool                 `json:"stream,omitempty"`
	StreamOptions *openAIStreamOptions `json:"stream_options,omitempty"`
}

type openAIStreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type openAIUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

func (u *openAIUsage) usage() Usage {
	return Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
}

// openAIResponse is a chat.completion or, with Delta instead of Message, a chat.completion.chunk.
type openAIResponse struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int           `json:"index"`
		Message      openAIContent `json:"message"`
		Delta        openAIContent `json:"delta"`
		FinishReason string        `json:"finish_reason"`
	} `json:"choices"`
	Usage *openAIUsage `json:"usage"`
	// XGroq carries usage on Groq's last chunk.
	XGroq *struct {
		Usage *openAIUsage `json:"usage"`
	} `json:"x_groq"`
	// Error is set when the upstream reports a failure in a 200 response or mid-stream (OpenRouter does both).
	Error json.RawMessage `json:"error"`
}

type openAIContent struct {
	Content   string             `json:"content"` // null (a refusal or tool call) decodes as ""
	ToolCalls []openAIToolCallIn `json:"tool_calls"`
}

// Chat sends a non-streaming chat completion request.
func (c *OpenAI) Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	resp, err := c.postJSON(ctx, "/chat/completions", "application/json", c.body(req, false))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := c.readBody(ctx, resp, maxBody)
	if err != nil {
		return nil, err
	}
	return c.decodeCompletion(resp.StatusCode, body, req.Model)
}

// ChatStream sends a streaming chat completion request, calling onDelta with each content delta as soon as its
// chunk has been parsed. Usage is requested with stream_options.include_usage; a server that sends none leaves
// it zero. A stream that ends without [DONE] is accepted when a finish_reason has been seen. Tool calls arrive
// in fragments, which are assembled into the response's ToolCalls.
func (c *OpenAI) ChatStream(ctx context.Context, req ChatRequest, onDelta func(string) error) (*ChatResponse, error) {
	if onDelta == nil {
		onDelta = func(string) error { return nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.postJSON(ctx, "/chat/completions", "text/event-stream", c.body(req, true))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	if isJSON(resp) { // a server that ignored "stream": answer with the whole completion as one delta
		body, err := c.readBody(ctx, resp, maxBody)
		if err != nil {
			return nil, err
		}
		out, err := c.decodeCompletion(resp.StatusCode, body, req.Model)
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
	var calls toolCallAssembler
	events := newSSEReader(resp.Body)
	for {
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
		if ev.Data == "[DONE]" {
			break
		}
		if ev.Name == "error" {
			return nil, c.inBandError([]byte(ev.Data))
		}
		var chunk openAIResponse
		if err := json.Unmarshal([]byte(ev.Data), &chunk); err != nil {
			return nil, c.malformed(resp.StatusCode, "stream chunk", err)
		}
		if len(chunk.Error) > 0 && string(chunk.Error) != "null" {
			return nil, c.inBandError(errorEnvelope(chunk.Error))
		}
		if chunk.ID != "" {
			out.ID = chunk.ID
		}
		if chunk.Model != "" {
			out.Model = chunk.Model
		}
		if u := chunk.usage(); u != nil {
			out.Usage = u.usage()
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue // only one choice is ever requested
			}
			if ch.FinishReason != "" {
				out.FinishReason = ch.FinishReason
			}
			for _, f := range ch.Delta.ToolCalls {
				calls.add(f)
			}
			if d := ch.Delta.Content; d != "" {
				content.WriteString(d)
				if err := onDelta(d); err != nil {
					return nil, err
				}
			}
		}
	}
	out.Content = content.String()
	out.ToolCalls = calls.result()
	settleFinish(out)
	return out, nil
}

func (r *openAIResponse) usage() *openAIUsage {
	if r.Usage != nil {
		return r.Usage
	}
	if r.XGroq != nil {
		return r.XGroq.Usage
	}
	return nil
}

func (c *OpenAI) body(req ChatRequest, stream bool) openAIRequest {
	b := openAIRequest{
		Model:       req.Model,
		Messages:    openAIMessages(req.Messages),
		Temperature: req.Temperature,
		TopP:        req.TopP,
		MaxTokens:   req.MaxTokens,
	}
	if len(req.Tools) > 0 {
		b.Tools = openAITools(req.Tools)
		b.ToolChoice = req.ToolChoice
	}
	if stream {
		b.Stream = true
		b.StreamOptions = &openAIStreamOptions{IncludeUsage: true}
	}
	return b
}

func (c *OpenAI) decodeCompletion(status int, body []byte, model string) (*ChatResponse, error) {
	var r openAIResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, c.malformed(status, "response", err)
	}
	if len(r.Error) > 0 && string(r.Error) != "null" {
		return nil, c.inBandError(errorEnvelope(r.Error))
	}
	if len(r.Choices) == 0 {
		return nil, c.newError(status, "malformed response: no choices")
	}
	out := &ChatResponse{
		ID:           r.ID,
		Model:        r.Model,
		Content:      r.Choices[0].Message.Content,
		FinishReason: r.Choices[0].FinishReason,
		ToolCalls:    openAIToolCalls(r.Choices[0].Message.ToolCalls),
	}
	if out.Model == "" {
		out.Model = model
	}
	if u := r.usage(); u != nil {
		out.Usage = u.usage()
	}
	settleFinish(out)
	return out, nil
}

// inBandError converts an error body sent with a 200 status. Its code is taken as the status when it is an
// HTTP status (OpenRouter's are); otherwise Status is 0 and the failure is treated as transient.
func (c *OpenAI) inBandError(body []byte) *Error {
	msg, _, code := parseError(body)
	if code < 400 || code > 599 {
		code = 0
	}
	if msg == "" {
		msg = "upstream reported an error"
	}
	return c.newError(code, msg)
}

// errorEnvelope wraps an "error" member back into an error body.
func errorEnvelope(obj json.RawMessage) []byte {
	return []byte(`{"error":` + string(obj) + `}`)
}

// postJSON POSTs body as JSON to path and returns the 2xx response.
func (c *OpenAI) postJSON(ctx context.Context, path, accept string, body any) (*http.Response, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("upstream: encoding request: %w", err)
	}
	req, err := c.newRequest(ctx, path, "application/json", bytes.NewReader(buf))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	return c.send(req)
}

func (c *OpenAI) newRequest(ctx context.Context, path, contentType string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(openAIBaseURL, path), body)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	if key := c.key(); key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	c.applyHeaders(req.Header)
	return req, nil
}
