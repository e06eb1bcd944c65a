package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

func TestEcho(t *testing.T) {
	c := providertest.Serve(t, Echo{}) // a real gRPC connection, in-process
	resp, err := c.Invoke(context.Background(), &provider.InvokeRequest{Capability: "echo",
		Input: json.RawMessage(`{"text":"hello"}`), Caller: provider.Caller{UserID: "usr_1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(resp.Output); got != `{"echo":"hello","for":"usr_1"}` {
		t.Errorf("echo = %s", got)
	}

	resp, _ = c.Invoke(context.Background(), &provider.InvokeRequest{Capability: "echo", Input: json.RawMessage(`{}`)})
	if resp.Error == nil || resp.Error.Status != 400 {
		t.Errorf("echo without text = %+v; want a 400 for the caller", resp.Error)
	}

	chunks := providertest.Collect(t, c, &provider.InvokeRequest{Capability: "echo-stream", Input: json.RawMessage(`{"text":"a b c"}`)})
	if len(chunks) != 3 || string(chunks[2].Data) != `{"word":"c"}` {
		t.Errorf("stream = %d chunks; want 3 words", len(chunks))
	}
}
