package loop

import (
	"context"
	"testing"
)

// benchModel calls the tool once, then answers: a minimal agent exchange.
type benchModel struct{}

func (benchModel) Price() int64 { return 0 }

func (benchModel) Complete(_ context.Context, req ModelRequest, _ func(string)) (*ModelResponse, error) {
	if req.Messages[len(req.Messages)-1].Role == RoleTool {
		return &ModelResponse{Content: "done"}, nil
	}
	return &ModelResponse{ToolCalls: []ToolCall{{ID: "c1", Name: "echo", Arguments: `{"city":"Oslo"}`}}}, nil
}

type benchTools struct{ list []Tool }

func (b benchTools) Tools() []Tool { return b.list }

func (benchTools) Call(context.Context, ToolCall) (string, bool, int64, error) {
	return `{"ok":true}`, false, 0, nil
}

type discard struct{}

func (discard) Append(context.Context, []Message) error { return nil }

// BenchmarkLoopRoundTrip is the loop's own cost: one run of two model round
// trips (a tool call, then the answer) with free, instant fakes, events on.
// ns/roundtrip is the figure to set beside a bare skill call.
func BenchmarkLoopRoundTrip(b *testing.B) {
	tools := benchTools{[]Tool{{Name: "echo", Parameters: []byte(`{"type":"object"}`)}}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r := Run{ID: "r", Input: input, Model: benchModel{}, Tools: tools, Transcript: discard{}, Emit: func(Event) {}}
		if out := r.Execute(ctx); out.Status != StatusOK {
			b.Fatalf("Execute() = %+v", out)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/roundtrip")
}
