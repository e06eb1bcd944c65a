package loop

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
)

// errToolTimeout is the cause of a tool context that passed ToolTimeout.
var errToolTimeout = errors.New("loop: tool timeout")

// turn runs the tool calls of one assistant message. Its fields are used from
// Execute's goroutine only; call goroutines report on done.
type turn struct {
	x        *runner
	calls    []ToolCall
	results  []Message
	ready    []bool
	next     int // the first result not yet emitted
	done     chan toolDone
	inFlight int
	reserved int64 // prices of the calls in flight, held against the budget
}

// toolDone is a finished call.
type toolDone struct {
	i       int
	result  Message
	price   int64
	cost    int64
	failure error // the tool's error or panic, for Run.ToolFailed
}

// runTools gives every call exactly one result, in call order, and says why
// the run must stop after this turn (nil: it goes on). Calls are dispatched
// in order; each passes the repeat, name, argument and budget checks before
// it runs, and once a limit is hit the calls after it are not run.
func (x *runner) runTools(ctx context.Context, calls []ToolCall) ([]Message, *halt) {
	for _, c := range calls {
		x.emit(Event{Type: EventToolCall, Call: &c})
	}
	t := &turn{x: x, calls: calls, results: make([]Message, len(calls)), ready: make([]bool, len(calls)),
		done: make(chan toolDone, len(calls))}
	var h *halt
	if x.out.RoundTrips >= x.lim.MaxRoundTrips {
		// The model would never see these results.
		h = x.roundTripsHalt()
	}
	for i, c := range calls {
		if h == nil {
			h = x.ctxHalt(ctx)
		}
		if h != nil {
			t.settle(i, "not run: "+h.why)
			continue
		}
		args, canon, err := parseArgs(c.Arguments)
		x.seen[c.Name+"\x00"+canon]++
		if x.seen[c.Name+"\x00"+canon] >= x.lim.MaxRepeats {
			h = &halt{CodeRepeatedToolCall, fmt.Sprintf("the model requested the same call of %q %d times", c.Name, x.lim.MaxRepeats)}
			t.settle(i, "not run: "+h.why)
			continue
		}
		tool, ok := x.tools[c.Name]
		if !ok {
			t.settle(i, x.unknownTool(c.Name))
			continue
		}
		if err != nil {
			t.settle(i, fmt.Sprintf("the arguments of %q %s", c.Name, err))
			continue
		}
		c.Arguments = args
		for t.inFlight >= x.lim.Concurrency {
			t.collect(<-t.done)
		}
		if h = x.ctxHalt(ctx); h != nil {
			t.settle(i, "not run: "+h.why)
			continue
		}
		price := max(tool.PriceMicroUSD, 0)
		if price > x.lim.BudgetMicroUSD-x.out.CostMicroUSD-t.reserved {
			h = x.budgetHalt()
			t.settle(i, "not run: "+h.why)
			continue
		}
		t.reserved += price
		t.inFlight++
		x.out.ToolCalls++
		go x.call(ctx, i, c, price, t.done)
	}
	for t.inFlight > 0 {
		t.collect(<-t.done)
	}
	if h == nil {
		h = x.ctxHalt(ctx)
	}
	return t.results, h
}

// settle gives call i an error result without running it.
func (t *turn) settle(i int, why string) {
	c := t.calls[i]
	t.results[i] = Message{Role: RoleTool, ToolCallID: c.ID, Name: c.Name, Content: why, IsError: true}
	t.ready[i] = true
	t.flush()
}

func (t *turn) collect(d toolDone) {
	t.inFlight--
	t.reserved -= d.price
	t.x.out.CostMicroUSD += d.cost
	t.results[d.i] = d.result
	t.ready[d.i] = true
	if d.failure != nil && t.x.run.ToolFailed != nil {
		t.x.run.ToolFailed(t.calls[d.i], d.failure)
	}
	t.flush()
}

// flush emits the results that are ready and have no unready call before them.
func (t *turn) flush() {
	for t.next < len(t.results) && t.ready[t.next] {
		t.x.emit(Event{Type: EventToolResult, Result: &t.results[t.next]})
		t.next++
	}
}

func (x *runner) unknownTool(name string) string {
	names := make([]string, 0, len(x.list))
	for _, t := range x.list {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return fmt.Sprintf("unknown tool %q: no tools are available", name)
	}
	return fmt.Sprintf("unknown tool %q; the tools are: %s", name, strings.Join(names, ", "))
}

// toolReturn is what Toolbox.Call returned, or its panic.
type toolReturn struct {
	content  string
	isError  bool
	cost     int64
	err      error
	panicked bool
}

// call runs one call under ToolTimeout and reports on done. A tool that does
// not return when its context ends is abandoned (its goroutine ends whenever
// the tool returns), so that a stuck tool cannot hold up the run.
func (x *runner) call(ctx context.Context, i int, c ToolCall, price int64, done chan<- toolDone) {
	tctx, cancel := context.WithTimeoutCause(ctx, x.lim.ToolTimeout, errToolTimeout)
	defer cancel()
	ret := make(chan toolReturn, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ret <- toolReturn{err: fmt.Errorf("panic: %v\n%s", p, debug.Stack()), panicked: true}
			}
		}()
		var r toolReturn
		r.content, r.isError, r.cost, r.err = x.run.Tools.Call(tctx, c)
		ret <- r
	}()
	var r toolReturn
	abandoned := false
	select {
	case r = <-ret:
	case <-tctx.Done():
		select {
		case r = <-ret:
		default:
			abandoned = true
		}
	}
	d := toolDone{i: i, price: price, cost: max(r.cost, 0), failure: r.err,
		result: Message{Role: RoleTool, ToolCallID: c.ID, Name: c.Name, IsError: true}}
	switch {
	case abandoned || (r.err != nil && !r.panicked && tctx.Err() != nil):
		d.result.Content, d.failure = x.interruptedNote(ctx, tctx, c.Name), nil
	case r.panicked:
		d.result.Content = fmt.Sprintf("tool %q crashed", c.Name)
	case r.err != nil:
		d.result.Content = fmt.Sprintf("tool %q failed", c.Name)
	default:
		d.result.Content, d.result.IsError = r.content, r.isError
	}
	done <- d
}

// interruptedNote explains a call cut short by its timeout or by the run's end.
func (x *runner) interruptedNote(ctx, tctx context.Context, name string) string {
	if errors.Is(context.Cause(tctx), errToolTimeout) {
		return fmt.Sprintf("tool %q timed out after %s", name, x.lim.ToolTimeout)
	}
	if h := x.ctxHalt(ctx); h != nil {
		return "not finished: " + h.why
	}
	return fmt.Sprintf("tool %q was interrupted", name)
}
