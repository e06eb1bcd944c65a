// Command provider-echo is the smallest complete Agentbot provider plugin. It
// serves one gateway id, "echo", which answers with its input, and a streaming
// variant, "echo-stream", which sends the input's words one chunk at a time.
//
// It is a Go module of its own that requires only the provider kit
// (github.com/agentbot/gateway/sdk/provider), as a third-party plugin would.
// Build it in this directory, compute its SHA-256, and declare it in the
// gateway's plugin file:
//
//	go build -o provider-echo .
//	sha256sum provider-echo
//
// See the README section "Write a provider".
package main

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/agentbot/gateway/sdk/provider"
)

// Echo implements provider.Provider and provider.Streamer.
type Echo struct{}

// Metadata tells the gateway which ids this plugin serves.
func (Echo) Metadata(context.Context, *provider.MetadataRequest) (*provider.MetadataResponse, error) {
	return &provider.MetadataResponse{Name: "echo", Version: "1.0.0", Capabilities: []provider.Capability{
		{ID: "echo", Description: "Answers with its input"},
		{ID: "echo-stream", Description: "Streams its input's words", Streaming: true},
	}}, nil
}

// Invoke answers one call. Failures the caller should see go in Error.
func (Echo) Invoke(_ context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	var in struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(req.Input, &in); err != nil || in.Text == "" {
		return &provider.InvokeResponse{Error: provider.Errorf(400, "VALIDATION_ERROR", `give {"text": "..."}`)}, nil
	}
	out, _ := json.Marshal(map[string]string{"echo": in.Text, "for": req.Caller.UserID})
	return &provider.InvokeResponse{Output: out}, nil
}

// InvokeStream sends one chunk per word; each reaches the client at once.
// "delayMs" (at most 1000) paces the words as a model paces its tokens.
func (Echo) InvokeStream(ctx context.Context, req *provider.InvokeRequest, s provider.ChunkStream) error {
	var in struct {
		Text    string `json:"text"`
		DelayMS int    `json:"delayMs"`
	}
	_ = json.Unmarshal(req.Input, &in)
	delay := time.Duration(min(max(in.DelayMS, 0), 1000)) * time.Millisecond
	for i, w := range strings.Fields(in.Text) {
		if i > 0 && delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b, _ := json.Marshal(map[string]string{"word": w})
		if err := s.Send(&provider.Chunk{Data: b}); err != nil {
			return err
		}
	}
	return nil
}

func main() { provider.Serve(Echo{}) }
