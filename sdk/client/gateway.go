package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// CallResult is the gateway's answer to a call.
type CallResult struct {
	Plugin    string          `json:"plugin"`
	Result    json.RawMessage `json:"result"`
	Payment   Payment         `json:"payment"`
	Timestamp time.Time       `json:"timestamp"`
}

// Payment says how a call was paid: "stripe" (a subscription or credits),
// "mpp" or "x402" (a machine payment, with its receipt), or "free".
type Payment struct {
	Method  string `json:"method"`
	Receipt string `json:"receipt"`
}

// Call calls a gateway id (a provider capability such as "generate-text", or
// "skill:<name>") with input, a JSON object: nil for {}, a json.RawMessage
// or []byte sent as is, or any value that marshals to an object.
func (c *Client) Call(ctx context.Context, pluginID string, input any) (*CallResult, error) {
	body, err := objectBody(input)
	if err != nil {
		return nil, err
	}
	var out CallResult
	if _, err := c.do(ctx, http.MethodPost, "/api/v1/gateway", nil, body, &out, "X-Plugin-Id", pluginID); err != nil {
		return nil, err
	}
	return &out, nil
}

// CallStream calls a streaming gateway id with "stream": true added to input,
// and returns its events as they arrive: unnamed events carry the output's
// chunks, "usage" ends a successful stream. A refusal before the stream
// starts is an *Error from CallStream; a failure after it, from the
// Stream's Err. An id that does not stream answers once, as a "response"
// event holding the whole JSON answer.
func (c *Client) CallStream(ctx context.Context, pluginID string, input any) (*Stream, error) {
	body, err := objectBody(input)
	if err != nil {
		return nil, err
	}
	body["stream"] = json.RawMessage("true")
	return c.stream(ctx, "/api/v1/gateway", body, "X-Plugin-Id", pluginID)
}

// stream posts body to path and returns the answer as a Stream.
func (c *Client) stream(ctx context.Context, path string, body any, extra ...string) (*Stream, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("client: encoding the request: %w", err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, path, nil, bytes.NewReader(b), "application/json")
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream, application/json")
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	return newStream(resp)
}

// Target is one id the gateway serves.
type Target struct {
	ID        string `json:"id"`
	Streaming bool   `json:"streaming"`
	Price     string `json:"price"` // US dollars per call, e.g. "0.01"
	Currency  string `json:"currency"`
}

// Targets lists the ids the gateway serves, with their prices.
func (c *Client) Targets(ctx context.Context) ([]Target, error) {
	var out struct {
		Plugins []Target `json:"plugins"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/gateway", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Plugins, nil
}
