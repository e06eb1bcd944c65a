package loop

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
)

// A run's events, in order, and their JSON.
func TestEvents(t *testing.T) {
	var late func(string)
	e := runCase{
		setup: func(e *env) {
			e.model = &fakeModel{answer: func(_ context.Context, n int, _ ModelRequest, onDelta func(string)) (*ModelResponse, error) {
				late = onDelta
				if n == 0 {
					onDelta("Let me ")
					onDelta("")
					onDelta("check")
					r := callsTool("echo", `{"a":1}`, "nope", `{}`)
					r.Content = "Let me check"
					return r, nil
				}
				onDelta("Done")
				return &ModelResponse{Content: "Done", Usage: Usage{InputTokens: 3, OutputTokens: 1}, CostMicroUSD: 2}, nil
			}}
			e.tools = tools(free)
		},
		status: StatusOK, reply: "Done", roundTrips: 2, toolCalls: 1,
	}.run(t)
	late("too late") // after Complete returned: dropped
	want := []string{
		`{"type":"run.started","runId":"r1","seq":1}`,
		`{"type":"message.delta","runId":"r1","seq":2,"delta":"Let me "}`,
		`{"type":"message.delta","runId":"r1","seq":3,"delta":"check"}`,
		`{"type":"message","runId":"r1","seq":4,"role":"assistant","content":"Let me check","toolCalls":[{"id":"c1","name":"echo","arguments":"{\"a\":1}"},{"id":"c2","name":"nope","arguments":"{}"}]}`,
		`{"type":"tool.call","runId":"r1","seq":5,"id":"c1","name":"echo","arguments":"{\"a\":1}"}`,
		`{"type":"tool.call","runId":"r1","seq":6,"id":"c2","name":"nope","arguments":"{}"}`,
		`{"type":"tool.result","runId":"r1","seq":7,"id":"c1","name":"echo","content":"{\"a\":1}","isError":false}`,
		`{"type":"tool.result","runId":"r1","seq":8,"id":"c2","name":"nope","content":"unknown tool \"nope\"; the tools are: echo","isError":true}`,
		`{"type":"message.delta","runId":"r1","seq":9,"delta":"Done"}`,
		`{"type":"message","runId":"r1","seq":10,"role":"assistant","content":"Done"}`,
		`{"type":"run.finished","runId":"r1","seq":11,"status":"ok","reply":"Done","roundTrips":2,"toolCalls":1,"usage":{"inputTokens":3,"outputTokens":1},"costMicroUSD":2}`,
	}
	if len(e.rec.events) != len(want) {
		t.Errorf("%d events %v; want %d", len(e.rec.events), e.rec.types(), len(want))
	}
	for i, ev := range e.rec.events {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if i < len(want) && string(b) != want[i] {
			t.Errorf("event %d = %s\n want %s", i, b, want[i])
		}
		var back Event
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, ev) {
			t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", b, back, err, ev)
		}
	}
}

// A failed run's last event carries its code; the HTTP status and the cause
// stay on the server.
func TestEventRunFinishedError(t *testing.T) {
	out := Outcome{Status: StatusError, Code: CodeBudgetExceeded, Message: "spent", HTTPStatus: 402, RoundTrips: 1,
		Cause: context.Canceled}
	b, err := json.Marshal(Event{Type: EventRunFinished, RunID: "r", Seq: 3, Outcome: &out})
	want := `{"type":"run.finished","runId":"r","seq":3,"status":"error","code":"BUDGET_EXCEEDED","message":"spent","roundTrips":1,"toolCalls":0,"usage":{"inputTokens":0,"outputTokens":0},"costMicroUSD":0}`
	if err != nil || string(b) != want {
		t.Errorf("Marshal = %s, %v; want %s", b, err, want)
	}
	var e Event
	if err := json.Unmarshal([]byte(`{"type":"run.paused","runId":"r","seq":4,"x":1}`), &e); err != nil || e.Type != "run.paused" || e.Seq != 4 {
		t.Errorf("Unmarshal of a later event type = %+v, %v; want its head", e, err)
	}
}
