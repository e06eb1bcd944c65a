package loop

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Outcome statuses.
const (
	StatusOK    = "ok"
	StatusError = "error"
)

// storeGrace is how long after the run's deadline Transcript.Append may still
// take. Appends run on a context detached from the caller's cancellation, so
// that what happened before a cancellation or the deadline is still stored.
const storeGrace = 10 * time.Second

// Run is one run of an agent: the user's Input, answered by Model with the
// help of Tools, stored in Transcript. Model and Transcript are required.
type Run struct {
	// ID names the run in its events.
	ID     string
	System string
	// History is the conversation before Input, already trimmed (see Trim);
	// the model sees it, the loop does not store it again.
	History []Message
	// Input is the user's message. It is stored first, on its own, so that it
	// is kept even when the first model call fails.
	Input Message
	Model Model
	// Tools may be nil: the model is then offered no tools.
	Tools      Toolbox
	Transcript Transcript
	Limits     Limits
	// Emit, if set, receives the run's events synchronously and in order. It
	// must return quickly (hand off to a buffer): the run waits for it.
	Emit func(Event)
	// ToolFailed, if set, receives a tool's error or panic (with its stack)
	// for the log; the model sees only that the tool failed. It is called
	// from the goroutine that runs Execute.
	ToolFailed func(call ToolCall, err error)
}

// Outcome is how a run ended. A run that hit a limit, failed or was
// cancelled has Status "error" and a Code; the messages stored before that
// stay stored.
type Outcome struct {
	Status  string `json:"status"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	// HTTPStatus is the Status of a model's *Error, 0 otherwise.
	HTTPStatus int `json:"-"`
	// Reply is the model's final answer when Status is "ok".
	Reply string `json:"reply,omitempty"`
	// RoundTrips counts model calls, ToolCalls the calls handed to the Toolbox.
	RoundTrips   int   `json:"roundTrips"`
	ToolCalls    int   `json:"toolCalls"`
	Usage        Usage `json:"usage"`
	CostMicroUSD int64 `json:"costMicroUSD"`
	// Cause is the error behind a failure, for the log; it is never sent.
	Cause error `json:"-"`
}

// Err returns the failure as an *Error, nil if the run succeeded.
func (o Outcome) Err() *Error {
	if o.Status == StatusOK {
		return nil
	}
	return &Error{Status: o.HTTPStatus, Code: o.Code, Message: o.Message}
}

// errRunDeadline is the cause of a run context that passed Limits.Deadline.
var errRunDeadline = errors.New("loop: run deadline")

// halt is why a run stops early; why also explains "not run" tool results.
type halt struct{ code, why string }

// runner is one Execute's state. Everything but the event sequence is used
// from Execute's goroutine only.
type runner struct {
	run   *Run
	lim   Limits
	store context.Context // for Append: the caller's values, not its cancellation
	tools map[string]Tool
	list  []Tool
	msgs  []Message      // what the model sees
	seen  map[string]int // tool calls requested, by repeatKey
	out   Outcome

	mu        sync.Mutex // guards seq and streaming: deltas come from the Model
	seq       int
	streaming bool
}

// Execute runs r to its end and reports how it ended; it never panics on a
// tool's behalf and always emits run.started first and run.finished last.
func (r *Run) Execute(ctx context.Context) Outcome {
	x := &runner{run: r, lim: r.Limits.withDefaults(), seen: map[string]int{}}
	x.emit(Event{Type: EventRunStarted})
	x.execute(ctx)
	out := x.out
	x.emit(Event{Type: EventRunFinished, Outcome: &out})
	return out
}

func (x *runner) execute(parent context.Context) {
	r := x.run
	if r.Model == nil || r.Transcript == nil {
		x.fail(CodeInvalidRun, "the run has no model or no transcript", nil)
		return
	}
	ctx, cancel := context.WithTimeoutCause(parent, x.lim.Deadline, errRunDeadline)
	defer cancel()
	store, cancelStore := context.WithTimeout(context.WithoutCancel(parent), x.lim.Deadline+storeGrace)
	defer cancelStore()
	x.store = store
	if r.Tools != nil {
		x.list = r.Tools.Tools()
		x.tools = make(map[string]Tool, len(x.list))
		for _, t := range x.list {
			x.tools[t.Name] = t
		}
	}
	if x.append([]Message{r.Input}) != nil {
		return
	}
	x.msgs = make([]Message, 0, len(r.History)+8)
	x.msgs = append(append(x.msgs, r.History...), r.Input)
	for {
		if x.out.RoundTrips >= x.lim.MaxRoundTrips {
			h := x.roundTripsHalt()
			x.fail(h.code, h.why, nil)
			return
		}
		if x.interrupted(ctx) {
			return
		}
		if price := max(r.Model.Price(), 0); price > x.lim.BudgetMicroUSD-x.out.CostMicroUSD {
			h := x.budgetHalt()
			x.fail(h.code, h.why, nil)
			return
		}
		msg, ok := x.complete(ctx)
		if !ok {
			return
		}
		if len(msg.ToolCalls) == 0 {
			if x.append([]Message{msg}) == nil {
				x.out.Status, x.out.Reply = StatusOK, msg.Content
			}
			return
		}
		results, h := x.runTools(ctx, msg.ToolCalls)
		batch := append([]Message{msg}, results...)
		if x.append(batch) != nil {
			return
		}
		x.msgs = append(x.msgs, batch...)
		if h != nil {
			x.fail(h.code, h.why, nil)
			return
		}
	}
}

// complete makes one model call and emits its message.
func (x *runner) complete(ctx context.Context) (Message, bool) {
	req := ModelRequest{System: x.run.System, Messages: x.msgs[:len(x.msgs):len(x.msgs)], Tools: x.list}
	x.setStreaming(true)
	resp, err := x.run.Model.Complete(ctx, req, x.delta)
	x.setStreaming(false)
	x.out.RoundTrips++
	if resp != nil {
		x.out.Usage.add(resp.Usage)
		x.out.CostMicroUSD += max(resp.CostMicroUSD, 0)
	}
	if err == nil && resp == nil {
		err = errors.New("loop: the model returned neither a response nor an error")
	}
	if err != nil {
		settleDeadline(ctx)
		if x.interrupted(ctx) {
			x.out.Cause = err
			return Message{}, false
		}
		var me *Error
		if errors.As(err, &me) && me.Code != "" {
			x.fail(me.Code, me.Message, err)
			x.out.HTTPStatus = me.Status
		} else {
			x.fail(CodeModelError, "the model call failed", err)
		}
		return Message{}, false
	}
	msg := Message{Role: RoleAssistant, Content: resp.Content, ToolCalls: resp.ToolCalls}
	x.emit(Event{Type: EventMessage, Message: &msg})
	return msg, true
}

// append stores msgs; a failure ends the run.
func (x *runner) append(msgs []Message) error {
	err := x.run.Transcript.Append(x.store, msgs)
	if err != nil {
		x.fail(CodeTranscriptError, "the conversation could not be stored", err)
	}
	return err
}

func (x *runner) fail(code, message string, cause error) {
	x.out.Status, x.out.Code, x.out.Message, x.out.Cause = StatusError, code, message, cause
}

// interrupted ends the run if ctx is done.
func (x *runner) interrupted(ctx context.Context) bool {
	h := x.ctxHalt(ctx)
	if h != nil {
		x.fail(h.code, h.why, context.Cause(ctx))
	}
	return h != nil
}

// deadlineSlack is how near the run's deadline a failed call counts as
// ended by it: the provider, told the deadline through gRPC, may time out a
// hair before the run's own timer fires.
const deadlineSlack = 250 * time.Millisecond

// settleDeadline waits, after a failed call, for a deadline that is about to
// pass, so that the call's failure is reported as the run's deadline rather
// than as the provider's timeout.
func settleDeadline(ctx context.Context) {
	dl, ok := ctx.Deadline()
	if !ok || ctx.Err() != nil {
		return
	}
	if wait := time.Until(dl); wait < deadlineSlack {
		t := time.NewTimer(wait + 5*time.Millisecond)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// ctxHalt says why ctx, the run's context, is done; nil if it is not.
func (x *runner) ctxHalt(ctx context.Context) *halt {
	switch {
	case ctx.Err() == nil:
		return nil
	case errors.Is(context.Cause(ctx), errRunDeadline):
		return &halt{CodeDeadlineExceeded, fmt.Sprintf("the run passed its deadline of %s", x.lim.Deadline)}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &halt{CodeDeadlineExceeded, "the caller's deadline passed"}
	default:
		return &halt{CodeCancelled, "the run was cancelled"}
	}
}

func (x *runner) roundTripsHalt() *halt {
	return &halt{CodeRoundTripsExceeded, fmt.Sprintf("the run reached its limit of %d model round trips", x.lim.MaxRoundTrips)}
}

func (x *runner) budgetHalt() *halt {
	return &halt{CodeBudgetExceeded, fmt.Sprintf("the run's budget of %d micro-USD is spent", x.lim.BudgetMicroUSD)}
}

func (x *runner) emit(e Event) {
	if x.run.Emit == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.emitLocked(e)
}

func (x *runner) emitLocked(e Event) {
	x.seq++
	e.RunID, e.Seq = x.run.ID, x.seq
	x.run.Emit(e)
}

// delta is the onDelta of model calls; it drops text that arrives after
// Complete returned, which would break the event order.
func (x *runner) delta(s string) {
	if x.run.Emit == nil || s == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.streaming {
		x.emitLocked(Event{Type: EventMessageDelta, Delta: s})
	}
}

func (x *runner) setStreaming(on bool) {
	x.mu.Lock()
	x.streaming = on
	x.mu.Unlock()
}
