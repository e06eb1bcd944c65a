package loop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// answerFunc is a fake model's n-th answer (n from 0).
type answerFunc func(ctx context.Context, n int, req ModelRequest, onDelta func(string)) (*ModelResponse, error)

// fakeModel answers with answer and records the requests it got.
type fakeModel struct {
	price  int64
	answer answerFunc

	mu   sync.Mutex
	reqs []ModelRequest
}

func (m *fakeModel) Price() int64 { return m.price }

func (m *fakeModel) Complete(ctx context.Context, req ModelRequest, onDelta func(string)) (*ModelResponse, error) {
	m.mu.Lock()
	n := len(m.reqs)
	m.reqs = append(m.reqs, req)
	m.mu.Unlock()
	return m.answer(ctx, n, req, onDelta)
}

func (m *fakeModel) calls() int {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.reqs)
}

// script answers with resps in turn; a nil response means "the final answer
// 'done'", and answers past the end are "done" too.
func script(resps ...*ModelResponse) answerFunc {
	return func(_ context.Context, n int, _ ModelRequest, _ func(string)) (*ModelResponse, error) {
		if n < len(resps) && resps[n] != nil {
			return resps[n], nil
		}
		return &ModelResponse{Content: "done", FinishReason: "stop"}, nil
	}
}

// callsTool is a response that calls tools: name, args pairs.
func callsTool(nameArgs ...string) *ModelResponse {
	r := &ModelResponse{FinishReason: "tool_calls"}
	for i := 0; i+1 < len(nameArgs); i += 2 {
		r.ToolCalls = append(r.ToolCalls, ToolCall{ID: fmt.Sprintf("c%d", i/2+1), Name: nameArgs[i], Arguments: nameArgs[i+1]})
	}
	return r
}

// always calls the tool name on every round trip with fresh arguments.
func always(name string) answerFunc {
	return func(_ context.Context, n int, _ ModelRequest, _ func(string)) (*ModelResponse, error) {
		return callsTool(name, fmt.Sprintf(`{"n":%d}`, n)), nil
	}
}

type toolFunc func(ctx context.Context, args string) (content string, isError bool, cost int64, err error)

type fakeTool struct {
	price int64
	fn    toolFunc
}

// fakeTools is a Toolbox of functions that records the calls it ran.
type fakeTools struct {
	tools map[string]fakeTool

	mu  sync.Mutex
	ran []ToolCall
}

func (f *fakeTools) Tools() []Tool {
	var ts []Tool
	for name, t := range f.tools {
		ts = append(ts, Tool{Name: name, Description: name, Parameters: json.RawMessage(`{"type":"object"}`), PriceMicroUSD: t.price})
	}
	return ts
}

func (f *fakeTools) Call(ctx context.Context, c ToolCall) (string, bool, int64, error) {
	f.mu.Lock()
	f.ran = append(f.ran, c)
	f.mu.Unlock()
	return f.tools[c.Name].fn(ctx, c.Arguments)
}

func (f *fakeTools) calls() []ToolCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ToolCall(nil), f.ran...)
}

// echo is a free tool that answers with its arguments.
func echo(_ context.Context, args string) (string, bool, int64, error) { return args, false, 0, nil }

// fakeTranscript records each Append; it refuses a done context as a
// database would, and fails the failAt-th Append (from 1) if set.
type fakeTranscript struct {
	failAt  int
	batches [][]Message
	tries   int
}

func (f *fakeTranscript) Append(ctx context.Context, msgs []Message) error {
	f.tries++
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.tries == f.failAt {
		return errors.New("disk full")
	}
	f.batches = append(f.batches, append([]Message(nil), msgs...))
	return nil
}

// last is the last stored batch.
func (f *fakeTranscript) last() []Message {
	if len(f.batches) == 0 {
		return nil
	}
	return f.batches[len(f.batches)-1]
}

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) emit(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ts []string
	for _, e := range r.events {
		ts = append(ts, e.Type)
	}
	return ts
}

var input = Message{Role: RoleUser, Content: "hello"}

// checkPairs fails unless the transcript is the input followed by batches
// that each hold an assistant message and exactly one result per tool call,
// in call order, and unless the events show the same results in the same
// order. Every test of a run calls it.
func checkPairs(t *testing.T, tr *fakeTranscript, rec *recorder) {
	t.Helper()
	if len(tr.batches) == 0 {
		return
	}
	if b := tr.batches[0]; len(b) != 1 || b[0].Role != RoleUser {
		t.Errorf("first Append = %+v; want the input alone", b)
	}
	var stored []Message
	for _, b := range tr.batches[1:] {
		if b[0].Role != RoleAssistant || len(b) != 1+len(b[0].ToolCalls) {
			t.Errorf("Append(%+v): want an assistant message and one result per call", b)
			continue
		}
		for i, c := range b[0].ToolCalls {
			r := b[1+i]
			if r.Role != RoleTool || r.ToolCallID != c.ID || r.Name != c.Name {
				t.Errorf("result %d = %+v; want the tool result of call %+v", i, r, c)
			}
			stored = append(stored, r)
		}
	}
	var emitted []Message
	for _, e := range rec.events {
		if e.Type == EventToolResult {
			emitted = append(emitted, *e.Result)
		}
	}
	// A failed last Append leaves emitted results that were not stored.
	if len(emitted) < len(stored) {
		t.Fatalf("%d tool.result events for %d stored results", len(emitted), len(stored))
	}
	for i := range stored {
		if !reflect.DeepEqual(emitted[i], stored[i]) {
			t.Errorf("tool.result event %d = %+v; stored %+v", i, emitted[i], stored[i])
		}
	}
}
