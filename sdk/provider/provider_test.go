package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

// The Go constant and the .proto must agree on the protocol version.
func TestProtocolVersionMatchesProto(t *testing.T) {
	src, err := os.ReadFile("internal/pb/provider.proto")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^// protocol_version: (\d+)$`).FindSubmatch(src)
	if m == nil {
		t.Fatal("provider.proto has no `// protocol_version: N` line")
	}
	if v, _ := strconv.Atoi(string(m[1])); v != provider.ProtocolVersion {
		t.Errorf("provider.proto protocol_version = %d; ProtocolVersion = %d", v, provider.ProtocolVersion)
	}
}

type fake struct{}

func (fake) Metadata(context.Context, *provider.MetadataRequest) (*provider.MetadataResponse, error) {
	return &provider.MetadataResponse{Name: "fake", Version: "1.2.3",
		Capabilities: []provider.Capability{{ID: "echo", Streaming: true, PriceMicroUSD: 10_000}},
		Routes:       []provider.Route{{Method: "GET", Path: "/api/fake/:x", Public: true}}}, nil
}

func (fake) Invoke(_ context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	switch req.Capability {
	case "fail":
		return nil, errors.New("boom")
	case "refuse":
		return &provider.InvokeResponse{Error: &provider.Error{Status: 403, Code: "MODEL_RESTRICTED", Message: "no",
			Fields: map[string]any{"allowedModels": []any{"a"}}}}, nil
	}
	out, _ := json.Marshal(map[string]any{"input": req.Input, "user": req.Caller.UserID, "byok": req.Caller.Credentials["openai"]})
	return &provider.InvokeResponse{Output: out, Usage: provider.Usage{InputTokens: 3, OutputTokens: 4, CostMicroUSD: 7, Model: "m"}}, nil
}

func (fake) InvokeStream(_ context.Context, req *provider.InvokeRequest, s provider.ChunkStream) error {
	for i := range 3 {
		if err := s.Send(&provider.Chunk{Data: json.RawMessage(strconv.Itoa(i))}); err != nil {
			return err
		}
	}
	return s.Send(&provider.Chunk{Usage: &provider.Usage{OutputTokens: 3}})
}

func TestRoundTripOverGRPC(t *testing.T) {
	c := providertest.Serve(t, fake{})
	ctx := context.Background()
	m, err := c.Metadata(ctx)
	if err != nil || m.Name != "fake" || m.ProtocolVersion != provider.ProtocolVersion || len(m.Capabilities) != 1 ||
		!m.Capabilities[0].Streaming || m.Capabilities[0].PriceMicroUSD != 10_000 || m.Routes[0].Path != "/api/fake/:x" {
		t.Fatalf("Metadata = %+v, %v", m, err)
	}
	resp, err := c.Invoke(ctx, &provider.InvokeRequest{Capability: "echo", Input: json.RawMessage(`{"a":1}`),
		Caller: provider.Caller{UserID: "usr_1", Credentials: map[string]string{"openai": "sk-byok"}}})
	if err != nil || string(resp.Output) != `{"byok":"sk-byok","input":{"a":1},"user":"usr_1"}` || resp.Usage.CostMicroUSD != 7 {
		t.Fatalf("Invoke = %+v (%s), %v", resp, resp.Output, err)
	}
	resp, err = c.Invoke(ctx, &provider.InvokeRequest{Capability: "refuse"})
	if err != nil || resp.Error == nil || resp.Error.Status != 403 || resp.Error.Fields["allowedModels"] == nil {
		t.Fatalf("Invoke(refuse) = %+v, %v; want a 403 inside the response", resp, err)
	}
	if _, err := c.Invoke(ctx, &provider.InvokeRequest{Capability: "fail"}); !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("Invoke(fail) = %v; want a transport error", err)
	}
	chunks := providertest.Collect(t, c, &provider.InvokeRequest{Capability: "echo"})
	if len(chunks) != 4 || string(chunks[2].Data) != "2" || chunks[3].Usage.OutputTokens != 3 {
		t.Errorf("stream = %v", chunks)
	}
	err = c.HandleHTTP(ctx, &provider.HTTPRequest{Method: "GET", Path: "/x"}, func(*provider.HTTPResponsePart) error { return nil })
	if !provider.IsUnimplemented(err) {
		t.Errorf("HandleHTTP on a provider without routes = %v; want unimplemented", err)
	}
}
