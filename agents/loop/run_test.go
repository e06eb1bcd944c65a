package loop

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// env is one test run: its fakes, its events and its outcome.
type env struct {
	cancel   context.CancelFunc
	model    *fakeModel
	tools    *fakeTools // nil: the run has no Toolbox
	tr       *fakeTranscript
	rec      recorder
	failures []error
	out      Outcome
}

// results are the tool results of the last stored batch that has any.
func (e *env) results() []Message {
	for i := len(e.tr.batches) - 1; i > 0; i-- {
		if b := e.tr.batches[i]; len(b) > 1 {
			return b[1:]
		}
	}
	return nil
}

type runCase struct {
	name   string
	limits Limits
	ctx    func() (context.Context, context.CancelFunc) // nil: background
	// setup sets e.model and e.tools (and e.tr.failAt).
	setup func(e *env)

	status, code string
	reply        string
	roundTrips   int
	toolCalls    int // calls the Toolbox ran
	// results, if set, are substrings of the last stored tool results.
	results []string
	check   func(t *testing.T, e *env)
}

func (c runCase) run(t *testing.T) *env {
	t.Helper()
	newCtx := c.ctx
	if newCtx == nil {
		newCtx = func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }
	}
	ctx, cancel := newCtx()
	defer cancel()
	e := &env{cancel: cancel, tr: &fakeTranscript{}}
	c.setup(e)
	r := &Run{ID: "r1", System: "be brief", Input: input, Transcript: e.tr, Limits: c.limits,
		Emit: e.rec.emit, ToolFailed: func(_ ToolCall, err error) { e.failures = append(e.failures, err) }}
	if e.model != nil {
		r.Model = e.model
	}
	if r.Limits.BudgetMicroUSD == 0 {
		r.Limits.BudgetMicroUSD = 1_000_000
	}
	if e.tools != nil {
		r.Tools = e.tools
	}
	e.out = r.Execute(ctx)
	checkPairs(t, e.tr, &e.rec)
	if e.out.Status != c.status || e.out.Code != c.code {
		t.Errorf("Execute() = %s %s (%s); want %s %s", e.out.Status, e.out.Code, e.out.Message, c.status, c.code)
	}
	if e.out.Reply != c.reply {
		t.Errorf("Reply = %q; want %q", e.out.Reply, c.reply)
	}
	if called := e.model.calls(); e.out.RoundTrips != c.roundTrips || called != c.roundTrips {
		t.Errorf("RoundTrips = %d (model called %d times); want %d", e.out.RoundTrips, called, c.roundTrips)
	}
	ran := 0
	if e.tools != nil {
		ran = len(e.tools.calls())
	}
	if e.out.ToolCalls != c.toolCalls || ran != c.toolCalls {
		t.Errorf("ToolCalls = %d (Toolbox ran %d); want %d", e.out.ToolCalls, ran, c.toolCalls)
	}
	if c.results != nil {
		got := e.results()
		if len(got) != len(c.results) {
			t.Fatalf("last batch's results = %+v; want %d", got, len(c.results))
		}
		for i, want := range c.results {
			if !strings.Contains(got[i].Content, want) {
				t.Errorf("result %d = %q; want it to contain %q", i, got[i].Content, want)
			}
		}
	}
	if ts := e.rec.types(); len(ts) < 2 || ts[0] != EventRunStarted || ts[len(ts)-1] != EventRunFinished {
		t.Errorf("events = %v; want run.started first and run.finished last", ts)
	}
	if c.check != nil {
		c.check(t, e)
	}
	return e
}

func tools(ts map[string]fakeTool) *fakeTools { return &fakeTools{tools: ts} }

var free = map[string]fakeTool{"echo": {fn: echo}}

func TestRun(t *testing.T) {
	boom := errors.New("boom")
	for _, c := range []runCase{
		{
			name:   "final answer at once",
			setup:  func(e *env) { e.model = &fakeModel{answer: script()}; e.tools = tools(free) },
			status: StatusOK, reply: "done", roundTrips: 1,
			check: func(t *testing.T, e *env) {
				if len(e.tr.batches) != 2 || e.tr.batches[1][0].Content != "done" {
					t.Errorf("batches = %+v; want the input, then the final answer", e.tr.batches)
				}
				req := e.model.reqs[0]
				if req.System != "be brief" || len(req.Messages) != 1 || req.Messages[0].Content != input.Content || len(req.Tools) != 1 {
					t.Errorf("request = %+v; want the system prompt, the input and one tool", req)
				}
			},
		},
		{
			name: "tool round trip",
			setup: func(e *env) {
				e.model = &fakeModel{price: 10, answer: func(_ context.Context, n int, req ModelRequest, _ func(string)) (*ModelResponse, error) {
					if n == 0 {
						r := callsTool("weather", `{"city":"Oslo"}`)
						r.Usage, r.CostMicroUSD = Usage{InputTokens: 5, OutputTokens: 2}, 10
						return r, nil
					}
					last := req.Messages[len(req.Messages)-1]
					return &ModelResponse{Content: "It is " + last.Content, Usage: Usage{InputTokens: 9, OutputTokens: 3}, CostMicroUSD: 10}, nil
				}}
				e.tools = tools(map[string]fakeTool{"weather": {price: 5, fn: func(_ context.Context, args string) (string, bool, int64, error) {
					if args != `{"city":"Oslo"}` {
						return "bad args " + args, true, 5, nil
					}
					return "sunny", false, 5, nil
				}}})
			},
			status: StatusOK, reply: "It is sunny", roundTrips: 2, toolCalls: 1, results: []string{"sunny"},
			check: func(t *testing.T, e *env) {
				want := Usage{InputTokens: 14, OutputTokens: 5}
				if e.out.Usage != want || e.out.CostMicroUSD != 25 {
					t.Errorf("Usage, Cost = %+v, %d; want %+v, 25", e.out.Usage, e.out.CostMicroUSD, want)
				}
				if len(e.tr.batches) != 3 || len(e.tr.batches[1]) != 2 || e.tr.batches[1][1].IsError {
					t.Errorf("batches = %+v; want input, assistant+result, answer", e.tr.batches)
				}
			},
		},
		{
			name: "unknown tool: the model sees an error and corrects itself",
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("nope", `{}`), callsTool("echo", `{"x":1}`))}
				e.tools = tools(free)
			},
			status: StatusOK, reply: "done", roundTrips: 3, toolCalls: 1,
			check: func(t *testing.T, e *env) {
				r := e.tr.batches[1][1]
				if !r.IsError || !strings.Contains(r.Content, `unknown tool "nope"`) || !strings.Contains(r.Content, "echo") {
					t.Errorf("result = %+v; want an is_error result naming the tool and the ones available", r)
				}
				if got := e.model.reqs[1].Messages[2]; got.Content != r.Content {
					t.Errorf("second request's last message = %+v; want the error result", got)
				}
			},
		},
		{
			name:   "no toolbox: every call is unknown",
			setup:  func(e *env) { e.model = &fakeModel{answer: script(callsTool("echo", `{}`))} },
			status: StatusOK, reply: "done", roundTrips: 2,
			check: func(t *testing.T, e *env) {
				if r := e.tr.batches[1][1]; !r.IsError || !strings.Contains(r.Content, "no tools") {
					t.Errorf("result = %+v; want unknown tool", r)
				}
			},
		},
		{
			name: "the Toolbox's own error result passes through",
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("v", `{"n":"x"}`), nil)}
				e.tools = tools(map[string]fakeTool{"v": {fn: func(context.Context, string) (string, bool, int64, error) {
					return `n: expected integer`, true, 0, nil
				}}})
			},
			status: StatusOK, reply: "done", roundTrips: 2, toolCalls: 1,
			check: func(t *testing.T, e *env) {
				if r := e.tr.batches[1][1]; !r.IsError || r.Content != "n: expected integer" {
					t.Errorf("result = %+v; want the Toolbox's error as is", r)
				}
			},
		},
		{
			name: "tool error: generic result for the model, the error to ToolFailed",
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("x", `{}`))}
				e.tools = tools(map[string]fakeTool{"x": {fn: func(context.Context, string) (string, bool, int64, error) {
					return "", false, 3, boom
				}}})
			},
			status: StatusOK, reply: "done", roundTrips: 2, toolCalls: 1, results: []string{`tool "x" failed`},
			check: func(t *testing.T, e *env) {
				if len(e.failures) != 1 || e.failures[0] != boom || e.out.CostMicroUSD != 3 {
					t.Errorf("failures, cost = %v, %d; want [boom], 3", e.failures, e.out.CostMicroUSD)
				}
				if r := e.tr.batches[1][1]; !r.IsError || strings.Contains(r.Content, "boom") {
					t.Errorf("result = %+v; want is_error without the internal error", r)
				}
			},
		},
		{
			name: "tool panic: is_error result and the run goes on",
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("x", `{}`, "echo", `{"a":1}`))}
				e.tools = tools(map[string]fakeTool{"echo": {fn: echo}, "x": {fn: func(context.Context, string) (string, bool, int64, error) {
					panic("nil map")
				}}})
			},
			status: StatusOK, reply: "done", roundTrips: 2, toolCalls: 2, results: []string{`tool "x" crashed`, `{"a":1}`},
			check: func(t *testing.T, e *env) {
				if len(e.failures) != 1 || !strings.Contains(e.failures[0].Error(), "panic: nil map") || !strings.Contains(e.failures[0].Error(), "goroutine") {
					t.Errorf("failures = %v; want the panic with its stack", e.failures)
				}
				if !e.tr.batches[1][1].IsError || e.tr.batches[1][2].IsError {
					t.Errorf("results = %+v; want the crash as is_error, the echo not", e.tr.batches[1][1:])
				}
			},
		},
		{
			name:   "tool timeout: is_error result and the run goes on",
			limits: Limits{ToolTimeout: time.Millisecond},
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("slow", `{}`))}
				e.tools = tools(map[string]fakeTool{"slow": {fn: func(ctx context.Context, _ string) (string, bool, int64, error) {
					<-ctx.Done()
					return "", false, 0, ctx.Err()
				}}})
			},
			status: StatusOK, reply: "done", roundTrips: 2, toolCalls: 1, results: []string{`tool "slow" timed out after 1ms`},
			check: func(t *testing.T, e *env) {
				if len(e.failures) != 0 {
					t.Errorf("failures = %v; a timeout is not a tool failure", e.failures)
				}
			},
		},
		{
			name:   "tool that ignores its context is abandoned at its timeout",
			limits: Limits{ToolTimeout: time.Millisecond},
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("stuck", `{}`))}
				e.tools = tools(map[string]fakeTool{"stuck": {fn: stuck(t)}})
			},
			status: StatusOK, reply: "done", roundTrips: 2, toolCalls: 1, results: []string{"timed out"},
		},
		{
			name: "model error keeps the input",
			setup: func(e *env) {
				e.model = &fakeModel{answer: func(context.Context, int, ModelRequest, func(string)) (*ModelResponse, error) { return nil, boom }}
			},
			status: StatusError, code: CodeModelError, roundTrips: 1,
			check: func(t *testing.T, e *env) {
				if e.out.Cause != boom || e.out.Message != "the model call failed" || len(e.tr.batches) != 1 {
					t.Errorf("outcome = %+v, batches %d; want the cause kept, the input stored", e.out, len(e.tr.batches))
				}
			},
		},
		{
			name: "model *Error keeps its code, message and status, and the transcript so far",
			setup: func(e *env) {
				e.model = &fakeModel{answer: func(_ context.Context, n int, _ ModelRequest, _ func(string)) (*ModelResponse, error) {
					if n == 0 {
						return callsTool("echo", `{}`), nil
					}
					return &ModelResponse{CostMicroUSD: 7}, &Error{Status: 429, Code: "RATE_LIMITED", Message: "slow down"}
				}}
				e.tools = tools(free)
			},
			status: StatusError, code: "RATE_LIMITED", roundTrips: 2, toolCalls: 1,
			check: func(t *testing.T, e *env) {
				if e.out.HTTPStatus != 429 || e.out.Message != "slow down" || e.out.CostMicroUSD != 7 || len(e.tr.batches) != 2 {
					t.Errorf("outcome = %+v, batches %d; want 429 slow down, cost 7, the first round stored", e.out, len(e.tr.batches))
				}
				if err := e.out.Err(); err == nil || err.Status != 429 || err.Code != "RATE_LIMITED" {
					t.Errorf("Err() = %v", err)
				}
			},
		},
		{
			name:   "round trips: the default is 10, the last round's calls are not run",
			setup:  func(e *env) { e.model = &fakeModel{answer: always("echo")}; e.tools = tools(free) },
			status: StatusError, code: CodeRoundTripsExceeded, roundTrips: 10, toolCalls: 9,
			results: []string{"not run: the run reached its limit of 10 model round trips"},
			check: func(t *testing.T, e *env) {
				if len(e.tr.batches) != 11 {
					t.Errorf("%d batches; want the input and 10 rounds", len(e.tr.batches))
				}
			},
		},
		{
			name:   "round trips: a lower limit",
			limits: Limits{MaxRoundTrips: 2},
			setup:  func(e *env) { e.model = &fakeModel{answer: always("echo")}; e.tools = tools(free) },
			status: StatusError, code: CodeRoundTripsExceeded, roundTrips: 2, toolCalls: 1,
		},
		{
			name:   "deadline during the model call keeps the input",
			limits: Limits{Deadline: time.Millisecond},
			setup: func(e *env) {
				e.model = &fakeModel{answer: func(ctx context.Context, _ int, _ ModelRequest, _ func(string)) (*ModelResponse, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}}
			},
			status: StatusError, code: CodeDeadlineExceeded, roundTrips: 1,
			check: func(t *testing.T, e *env) {
				if len(e.tr.batches) != 1 || !strings.Contains(e.out.Message, "deadline of 1ms") {
					t.Errorf("outcome %+v, batches %d; want the deadline named and the input stored", e.out, len(e.tr.batches))
				}
			},
		},
		{
			name:   "deadline mid-tool: stuck call not finished, the next not run, both stored",
			limits: Limits{Deadline: 50 * time.Millisecond, Concurrency: 1},
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("stuck", `{}`, "echo", `{}`))}
				e.tools = tools(map[string]fakeTool{"echo": {fn: echo}, "stuck": {fn: stuck(t)}})
			},
			status: StatusError, code: CodeDeadlineExceeded, roundTrips: 1, toolCalls: 1,
			results: []string{"not finished: the run passed its deadline of 50ms", "not run: the run passed its deadline"},
		},
		{
			name: "caller's deadline",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			},
			setup:  func(e *env) { e.model = &fakeModel{answer: script()} },
			status: StatusError, code: CodeDeadlineExceeded,
			check: func(t *testing.T, e *env) {
				if len(e.tr.batches) != 1 || e.out.Message != "the caller's deadline passed" {
					t.Errorf("outcome %+v, batches %d; want the input stored", e.out, len(e.tr.batches))
				}
			},
		},
		{
			name: "cancelled during the model call",
			setup: func(e *env) {
				e.model = &fakeModel{answer: func(ctx context.Context, _ int, _ ModelRequest, _ func(string)) (*ModelResponse, error) {
					e.cancel()
					return nil, ctx.Err()
				}}
			},
			status: StatusError, code: CodeCancelled, roundTrips: 1,
			check: func(t *testing.T, e *env) {
				if len(e.tr.batches) != 1 || !errors.Is(e.out.Cause, context.Canceled) {
					t.Errorf("outcome %+v, batches %d; want the input stored", e.out, len(e.tr.batches))
				}
			},
		},
		{
			name: "cancelled mid-tool: the turn is stored with its results",
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("wait", `{}`, "echo", `{}`))}
				e.tools = tools(map[string]fakeTool{"echo": {fn: echo}, "wait": {fn: func(ctx context.Context, _ string) (string, bool, int64, error) {
					e.cancel()
					<-ctx.Done()
					return "", false, 0, ctx.Err()
				}}})
			},
			limits: Limits{Concurrency: 1},
			status: StatusError, code: CodeCancelled, roundTrips: 1, toolCalls: 1,
			results: []string{"not finished: the run was cancelled", "not run: the run was cancelled"},
		},
		{
			name:   "budget checked before the model call",
			limits: Limits{BudgetMicroUSD: 250},
			setup: func(e *env) {
				e.model = &fakeModel{price: 100, answer: func(_ context.Context, n int, _ ModelRequest, _ func(string)) (*ModelResponse, error) {
					r := callsTool("echo", `{"n":`+string(rune('0'+n))+`}`)
					r.CostMicroUSD = 100
					return r, nil
				}}
				e.tools = tools(free)
			},
			status: StatusError, code: CodeBudgetExceeded, roundTrips: 2, toolCalls: 2,
			check: func(t *testing.T, e *env) {
				if e.out.CostMicroUSD != 200 || !strings.Contains(e.out.Message, "250 micro-USD") {
					t.Errorf("outcome = %+v; want 200 spent and the budget named", e.out)
				}
			},
		},
		{
			name:   "budget: a model costing more than its price stops the next call, even a free one",
			limits: Limits{BudgetMicroUSD: 150},
			setup: func(e *env) {
				e.model = &fakeModel{price: 100, answer: func(context.Context, int, ModelRequest, func(string)) (*ModelResponse, error) {
					r := callsTool("echo", `{}`)
					r.CostMicroUSD = 160
					return r, nil
				}}
				e.tools = tools(free)
			},
			status: StatusError, code: CodeBudgetExceeded, roundTrips: 1,
			results: []string{"not run: the run's budget of 150 micro-USD is spent"},
		},
		{
			name:   "budget checked before the tool call: the tool never runs",
			limits: Limits{BudgetMicroUSD: 40},
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("paid", `{}`))}
				e.tools = tools(map[string]fakeTool{"paid": {price: 50, fn: echo}})
			},
			status: StatusError, code: CodeBudgetExceeded, roundTrips: 1,
			results: []string{"not run: the run's budget of 40 micro-USD is spent"},
		},
		{
			name:   "budget: spent + price == budget is allowed",
			limits: Limits{BudgetMicroUSD: 50},
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("paid", `{}`))}
				e.tools = tools(map[string]fakeTool{"paid": {price: 50, fn: func(context.Context, string) (string, bool, int64, error) {
					return "ok", false, 50, nil
				}}})
			},
			status: StatusOK, reply: "done", roundTrips: 2, toolCalls: 1,
		},
		{
			name:   "budget: parallel calls hold their price, later ones are not run",
			limits: Limits{BudgetMicroUSD: 70},
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("paid", `{"n":1}`, "paid", `{"n":2}`, "paid", `{"n":3}`))}
				e.tools = tools(map[string]fakeTool{"paid": {price: 30, fn: func(_ context.Context, a string) (string, bool, int64, error) {
					return a, false, 30, nil
				}}})
			},
			status: StatusError, code: CodeBudgetExceeded, roundTrips: 1, toolCalls: 2,
			results: []string{`{"n":1}`, `{"n":2}`, "not run: the run's budget"},
		},
		{
			name: "repeated call: key order and whitespace do not matter",
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(
					callsTool("echo", `{"a":1,"b":[1,2]}`),
					callsTool("echo", `{ "b": [1, 2],  "a": 1 }`),
					callsTool("echo", "{\n\"b\":[1,2],\"a\":1}"),
				)}
				e.tools = tools(free)
			},
			status: StatusError, code: CodeRepeatedToolCall, roundTrips: 3, toolCalls: 2,
			results: []string{`not run: the model requested the same call of "echo" 3 times`},
		},
		{
			name:   "repeated call within one message, with a lower limit",
			limits: Limits{MaxRepeats: 2},
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("echo", `{"a":1}`, "echo", `{"a": 1}`, "echo", `{"a":2}`))}
				e.tools = tools(free)
			},
			status: StatusError, code: CodeRepeatedToolCall, roundTrips: 1, toolCalls: 1,
			results: []string{`{"a":1}`, "not run: the model requested the same call", "not run: the model requested the same call"},
		},
		{
			name: "different arguments are not repeats",
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("echo", `{"a":1}`), callsTool("echo", `{"a":1.0}`),
					callsTool("echo", `{"a":"1"}`), callsTool("echo", `{"a":1}`))}
				e.tools = tools(free)
			},
			status: StatusOK, reply: "done", roundTrips: 5, toolCalls: 4,
		},
		{
			name:   "the input cannot be stored: no model call",
			setup:  func(e *env) { e.model = &fakeModel{answer: script()}; e.tr.failAt = 1 },
			status: StatusError, code: CodeTranscriptError,
		},
		{
			name: "a tool turn cannot be stored: the run ends",
			setup: func(e *env) {
				e.model = &fakeModel{answer: script(callsTool("echo", `{}`))}
				e.tools = tools(free)
				e.tr.failAt = 2
			},
			status: StatusError, code: CodeTranscriptError, roundTrips: 1, toolCalls: 1,
			check: func(t *testing.T, e *env) {
				if e.out.Cause == nil || e.out.Cause.Error() != "disk full" {
					t.Errorf("Cause = %v; want the Append error", e.out.Cause)
				}
			},
		},
		{
			name:   "the final answer cannot be stored: not a success",
			setup:  func(e *env) { e.model = &fakeModel{answer: script()}; e.tr.failAt = 2 },
			status: StatusError, code: CodeTranscriptError, roundTrips: 1,
		},
		{
			name:   "a run without a model",
			setup:  func(e *env) {},
			status: StatusError, code: CodeInvalidRun,
		},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

// stuck is a tool that ignores its context and returns only when the test ends.
func stuck(t *testing.T) toolFunc {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func(context.Context, string) (string, bool, int64, error) {
		<-release
		return "late", false, 0, nil
	}
}

func TestArguments(t *testing.T) {
	for _, c := range []struct {
		args, want string // want: the result's substring
		ran        bool
	}{
		{`{bad`, `the arguments of "echo" are not valid JSON: invalid character 'b'`, false},
		{`[1,2]`, `the arguments of "echo" must be a JSON object`, false},
		{`null`, "must be a JSON object", false},
		{`"s"`, "must be a JSON object", false},
		{`{} {}`, "not valid JSON: data after the value", false},
		{`{}]`, "not valid JSON", false},
		{``, `{}`, true},
		{` {"a": 1} `, `{"a": 1}`, true},
	} {
		t.Run(c.args, func(t *testing.T) {
			n := 0
			if c.ran {
				n = 1
			}
			e := runCase{
				setup: func(e *env) {
					e.model = &fakeModel{answer: script(callsTool("echo", c.args))}
					e.tools = tools(free)
				},
				status: StatusOK, reply: "done", roundTrips: 2, toolCalls: n,
				results: []string{c.want},
			}.run(t)
			if r := e.results()[0]; r.IsError == c.ran {
				t.Errorf("Arguments %q: result %+v; want IsError %v", c.args, r, !c.ran)
			}
		})
	}
}

// A model call that fails a moment before the run's deadline (the provider
// timed out on the deadline it was told) ends the run as DEADLINE_EXCEEDED,
// not as the provider's error.
func TestFailureAtTheDeadlineIsTheDeadline(t *testing.T) {
	model := &fakeModel{answer: func(ctx context.Context, _ int, _ ModelRequest, _ func(string)) (*ModelResponse, error) {
		dl, _ := ctx.Deadline()
		time.Sleep(time.Until(dl) - 20*time.Millisecond) // gives up just before the run's timer fires
		return nil, &Error{Code: "PLUGIN_TIMEOUT", Message: "The provider did not answer in time", Status: 504}
	}}
	r := &Run{ID: "r1", Model: model, Input: input, Transcript: &fakeTranscript{},
		Limits: Limits{Deadline: 300 * time.Millisecond, BudgetMicroUSD: 1_000_000}}
	out := r.Execute(context.Background())
	if out.Code != CodeDeadlineExceeded {
		t.Errorf("outcome = %s %s; want %s", out.Code, out.Message, CodeDeadlineExceeded)
	}
}
