package loop

import "encoding/json"

// The event types, in the order a run emits them: run.started; per model
// call any number of message.delta then one message; per tool call of that
// message one tool.call, then the tool.result events in call order; finally
// run.finished.
const (
	EventRunStarted   = "run.started"
	EventMessageDelta = "message.delta"
	EventMessage      = "message"
	EventToolCall     = "tool.call"
	EventToolResult   = "tool.result"
	EventRunFinished  = "run.finished"
)

// Event is something that happened in a run. Only the fields of its Type are
// set. Its JSON, sent as-is to SSE and WebSocket clients, is the type, runId
// and seq followed by the payload's fields at the top level:
//
//	{"type":"message.delta","runId":"r1","seq":2,"delta":"Hel"}
//	{"type":"tool.call","runId":"r1","seq":4,"id":"c1","name":"weather","arguments":"{\"city\":\"Oslo\"}"}
//	{"type":"tool.result","runId":"r1","seq":5,"id":"c1","name":"weather","content":"{…}","isError":false}
//	{"type":"message","runId":"r1","seq":3,"role":"assistant","content":"","toolCalls":[…]}
//	{"type":"run.finished","runId":"r1","seq":9,"status":"ok","reply":"…","roundTrips":2,…}
type Event struct {
	Type  string
	RunID string
	// Seq numbers a run's events from 1, so a client can spot a gap.
	Seq int
	// Delta is a message.delta's text.
	Delta string
	// Call is a tool.call's call.
	Call *ToolCall
	// Result is a tool.result's tool message.
	Result *Message
	// Message is a message event's assistant message.
	Message *Message
	// Outcome is run.finished's outcome.
	Outcome *Outcome
}

type eventHead struct {
	Type  string `json:"type"`
	RunID string `json:"runId"`
	Seq   int    `json:"seq"`
}

type wireToolResult struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Content string `json:"content"`
	IsError bool   `json:"isError"`
}

// MarshalJSON encodes the event as documented on Event.
func (e Event) MarshalJSON() ([]byte, error) {
	h := eventHead{e.Type, e.RunID, e.Seq}
	switch {
	case e.Type == EventMessageDelta:
		return json.Marshal(struct {
			eventHead
			Delta string `json:"delta"`
		}{h, e.Delta})
	case e.Type == EventToolCall && e.Call != nil:
		return json.Marshal(struct {
			eventHead
			*ToolCall
		}{h, e.Call})
	case e.Type == EventToolResult && e.Result != nil:
		r := e.Result
		return json.Marshal(struct {
			eventHead
			wireToolResult
		}{h, wireToolResult{r.ToolCallID, r.Name, r.Content, r.IsError}})
	case e.Type == EventMessage && e.Message != nil:
		return json.Marshal(struct {
			eventHead
			*Message
		}{h, e.Message})
	case e.Type == EventRunFinished && e.Outcome != nil:
		return json.Marshal(struct {
			eventHead
			*Outcome
		}{h, e.Outcome})
	}
	return json.Marshal(h)
}

// UnmarshalJSON decodes what MarshalJSON encodes, for Go clients of the
// event stream.
func (e *Event) UnmarshalJSON(b []byte) error {
	var h eventHead
	if err := json.Unmarshal(b, &h); err != nil {
		return err
	}
	*e = Event{Type: h.Type, RunID: h.RunID, Seq: h.Seq}
	var err error
	switch h.Type {
	case EventMessageDelta:
		var d struct {
			Delta string `json:"delta"`
		}
		err = json.Unmarshal(b, &d)
		e.Delta = d.Delta
	case EventToolCall:
		e.Call = new(ToolCall)
		err = json.Unmarshal(b, e.Call)
	case EventToolResult:
		var r wireToolResult
		err = json.Unmarshal(b, &r)
		e.Result = &Message{Role: RoleTool, ToolCallID: r.ID, Name: r.Name, Content: r.Content, IsError: r.IsError}
	case EventMessage:
		e.Message = new(Message)
		err = json.Unmarshal(b, e.Message)
	case EventRunFinished:
		e.Outcome = new(Outcome)
		err = json.Unmarshal(b, e.Outcome)
	}
	// Other types (run.started, and types added later) carry no payload.
	return err
}
