// Command testplugin is a provider for the host's own tests: it echoes, streams,
// hangs, crashes and panics on demand.
package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/agentbot/gateway/sdk/provider"
)

type p struct{ config json.RawMessage }

func (t *p) Metadata(context.Context, *provider.MetadataRequest) (*provider.MetadataResponse, error) {
	return &provider.MetadataResponse{Name: "testplugin", Version: "0.0.1", Capabilities: []provider.Capability{
		{ID: "test-echo"}, {ID: "test-trace"}, {ID: "test-stream", Streaming: true}, {ID: "test-hang"}, {ID: "test-crash"},
		{ID: "test-config"}, {ID: "test-pid"},
	}, Routes: []provider.Route{{Method: "GET", Path: "/api/test/:name"}}}, nil
}

func (t *p) Configure(_ context.Context, req *provider.ConfigureRequest) (*provider.ConfigureResponse, error) {
	var v map[string]any
	if json.Unmarshal(req.Config, &v) != nil || v["bad"] != nil {
		return &provider.ConfigureResponse{Error: provider.Errorf(400, "INVALID_CONFIG", "bad config")}, nil
	}
	t.config = req.Config
	return &provider.ConfigureResponse{}, nil
}

func (t *p) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	switch req.Capability {
	case "test-hang":
		<-ctx.Done()
		time.Sleep(time.Hour) // ignores cancellation, like a stuck plugin
	case "test-crash":
		os.Exit(3)
	case "test-config":
		return &provider.InvokeResponse{Output: t.config}, nil
	case "test-trace": // the trace context the gateway sent
		b, _ := json.Marshal(provider.TraceParent(ctx))
		return &provider.InvokeResponse{Output: b}, nil
	case "test-pid":
		b, _ := json.Marshal(os.Getpid())
		return &provider.InvokeResponse{Output: b}, nil
	}
	return &provider.InvokeResponse{Output: req.Input, Usage: provider.Usage{InputTokens: int64(len(req.Input))}}, nil
}

func (t *p) InvokeStream(ctx context.Context, req *provider.InvokeRequest, s provider.ChunkStream) error {
	var in struct {
		Chunks  int `json:"chunks"`
		DelayMS int `json:"delayMs"`
		FirstMS int `json:"firstMs"`
		FailAt  int `json:"failAt"`
	}
	_ = json.Unmarshal(req.Input, &in)
	time.Sleep(time.Duration(in.FirstMS) * time.Millisecond)
	for i := range in.Chunks {
		if i > 0 {
			time.Sleep(time.Duration(in.DelayMS) * time.Millisecond)
		}
		if in.FailAt > 0 && i == in.FailAt {
			return s.Send(&provider.Chunk{Error: provider.Errorf(502, "UPSTREAM_ERROR", "upstream broke at chunk %d", i)})
		}
		b, _ := json.Marshal(map[string]any{"delta": i})
		if err := s.Send(&provider.Chunk{Data: b}); err != nil {
			return err
		}
	}
	return s.Send(&provider.Chunk{Usage: &provider.Usage{OutputTokens: int64(in.Chunks), CostMicroUSD: 5}})
}

func (t *p) HandleHTTP(_ context.Context, req *provider.HTTPRequest, w provider.HTTPResponseWriter) error {
	b, _ := json.Marshal(map[string]any{"name": req.Params["name"], "user": req.Caller.UserID, "query": req.Query})
	if err := w.WriteHeader(200, map[string]string{"Content-Type": "application/json"}); err != nil {
		return err
	}
	return w.Write(b)
}

func main() { provider.Serve(&p{}) }
