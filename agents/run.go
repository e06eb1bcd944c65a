package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/agentbot/gateway/agents/loop"
	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/gateway"
)

// Triggers of a run.
const (
	TriggerChat      = "chat"
	TriggerAgent     = "agent"
	TriggerLive      = "websocket"
	TriggerHeartbeat = "heartbeat"
	TriggerChannel   = "channel"
)

// historyBytes bounds the earlier conversation a run shows the model.
const historyBytes = 64 << 10

// RunRequest is one message for an agent.
type RunRequest struct {
	Principal *auth.Principal
	AgentID   string
	Trigger   string
	Topic     string
	Message   string
	RequestID string
	// Emit, if set, receives each run event as JSON, in order (an SSE
	// stream); it must not block for long.
	Emit func(event []byte)
	// MaxRoundTrips, when positive, lowers the agent's own bound (a
	// heartbeat is one short turn).
	MaxRoundTrips int
	// Quiet keeps the run's events off the live channel: a heartbeat
	// delivers its reply itself, and only when it has something to say.
	Quiet bool
}

// RunResult is a finished run.
type RunResult struct {
	Run     *store.AgentRun
	Outcome loop.Outcome
}

// Run runs the agent loop for one message: the agent must be the caller's
// and running (a *store.NotRunningError otherwise, rendered as 409). Every
// model and tool call is paid through the gateway like the owner's own
// calls and recorded as usage of this run; the run's messages are stored as
// they happen, so a run that ends in error keeps its transcript.
func (s *Service) Run(ctx context.Context, rr RunRequest) (*RunResult, error) {
	p := rr.Principal
	a, err := s.Store.Agent(ctx, p.UserID, rr.AgentID)
	if err != nil {
		return nil, agentErr(err)
	}
	cfg, err := parseConfig(a.Config)
	if err != nil {
		return nil, err
	}
	lim := cfg.limits()
	if rr.MaxRoundTrips > 0 {
		lim.maxRoundTrips = min(lim.maxRoundTrips, rr.MaxRoundTrips)
	}
	price, ok, err := s.Gateway.Price(ctx, s.modelID())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, api.Errorf(http.StatusBadGateway, api.CodePluginUnavailable, "No AI provider serves %s; agents cannot run", s.modelID())
	}
	var past []store.AgentMessage
	if lim.history > 0 {
		if past, _, err = s.Store.AgentMessages(ctx, p.UserID, store.MessagePage{AgentID: a.ID, Topic: rr.Topic, Limit: lim.history}); err != nil {
			return nil, err
		}
	}
	run, err := s.Store.StartRun(ctx, p.UserID, a.ID, rr.Trigger, rr.Topic)
	if err != nil {
		return nil, agentErr(err)
	}
	// The run's calls are paid on the account as it is now: a plan granted
	// a moment ago (provisioning already saw it) must not meet a cached
	// view from before. One read per run; its calls then share it.
	s.Gateway.ForgetCaller(p.UserID)
	who := gateway.OnBehalf{Principal: p, AgentID: a.ID, RunID: run.ID, RequestID: rr.RequestID}
	tools, err := s.newToolbox(ctx, who, a.ID, cfg.PaidFetch)
	if err != nil {
		s.finish(ctx, p.UserID, run, loop.Outcome{Status: loop.StatusError, Code: "INTERNAL", Message: "the agent's tools could not be loaded"})
		return nil, err
	}
	pub := s.publisher(a.ID, !rr.Quiet)
	defer pub.close()
	l := &loop.Run{ID: run.ID, System: s.systemPrompt(a, cfg), History: loop.Trim(history(past), lim.history, historyBytes),
		Input: loop.Message{Role: loop.RoleUser, Content: rr.Message},
		Model: s.modelFor(a, &model{g: s.Gateway, who: who, id: s.modelID(), model: a.Model, temp: cfg.Temperature, price: price}),
		Tools: tools, Transcript: &transcript{st: s.Store, userID: p.UserID, run: run},
		Limits: loop.Limits{MaxRoundTrips: lim.maxRoundTrips, Deadline: lim.runTimeout, ToolTimeout: lim.toolTimeout,
			BudgetMicroUSD: lim.budget, Concurrency: lim.toolConcurrency},
		Emit: func(ev loop.Event) {
			b, err := json.Marshal(ev)
			if err != nil {
				return
			}
			b = withAgent(b, a.ID)
			if rr.Emit != nil {
				rr.Emit(b)
			}
			pub.send(b)
		},
		ToolFailed: func(call loop.ToolCall, err error) {
			s.log().Error("agent tool failed", "agent_id", a.ID, "run_id", run.ID, "tool", call.Name, "err", err)
		},
	}
	out := l.Execute(ctx)
	s.finish(ctx, p.UserID, run, out)
	return &RunResult{Run: run, Outcome: out}, nil
}

// ErrNotRunning: the agent is not running, so it answers nothing.
var ErrNotRunning = errors.New("agents: the agent is not running")

// RunOwned runs the agent on a message that no request of its owner's
// carried (a heartbeat, a message from a chat app), as its owner. It returns
// the run's id and reply; a run that ended at a limit is an error naming its
// code (the reply so far is still returned); a stopped agent is
// ErrNotRunning. rr.Principal is set here.
func (s *Service) RunOwned(ctx context.Context, userID string, rr RunRequest) (runID, reply string, err error) {
	u, err := s.Store.User(ctx, userID)
	if err != nil {
		return "", "", err
	}
	rr.Principal = s.Auth.Owner(u)
	res, err := s.Run(ctx, rr)
	var ae *api.Error
	if errors.As(err, &ae) && ae.Code == api.CodeAgentNotRunning {
		return "", "", ErrNotRunning
	}
	if err != nil {
		return "", "", err
	}
	if res.Outcome.Status != loop.StatusOK {
		return res.Run.ID, res.Outcome.Reply, fmt.Errorf("%s: %s", res.Outcome.Code, res.Outcome.Message)
	}
	return res.Run.ID, res.Outcome.Reply, nil
}

// withAgent adds "agentId" to an event object.
func withAgent(ev []byte, agentID string) []byte {
	if len(ev) < 2 || ev[len(ev)-1] != '}' {
		return ev
	}
	id, _ := json.Marshal(agentID)
	out := make([]byte, 0, len(ev)+len(id)+12)
	out = append(out, ev[:len(ev)-1]...)
	if len(ev) > 2 {
		out = append(out, ',')
	}
	out = append(append(append(out, `"agentId":`...), id...), '}')
	return out
}

// finish records a run's outcome, whatever became of the caller.
func (s *Service) finish(ctx context.Context, userID string, run *store.AgentRun, out loop.Outcome) {
	run.Status = store.RunOK
	if out.Status != loop.StatusOK {
		run.Status, run.ErrorCode, run.ErrorMessage = store.RunError, out.Code, out.Message
	}
	run.RoundTrips, run.ToolCalls = out.RoundTrips, out.ToolCalls
	run.InputTokens, run.OutputTokens, run.CostMicroUSD = out.Usage.InputTokens, out.Usage.OutputTokens, out.CostMicroUSD
	if err := s.Store.FinishRun(context.WithoutCancel(ctx), userID, run); err != nil {
		s.log().Error("record run outcome", "run_id", run.ID, "err", err)
	}
	if out.Cause != nil && out.Code != loop.CodeCancelled {
		s.log().Warn("agent run failed", "run_id", run.ID, "code", out.Code, "err", out.Cause)
	}
}

// systemPrompt is the agent's instructions, or a default naming it.
func (s *Service) systemPrompt(a *store.Agent, cfg Config) string {
	if cfg.SystemPrompt != "" {
		return cfg.SystemPrompt
	}
	return fmt.Sprintf("You are %s, an agent on Agentbot. Use your tools when they help; your long-term memory tools "+
		"keep facts between conversations. Answer concisely.", a.Name)
}

// runError is the HTTP answer to a run that ended in error: the outcome's
// code with its transcript kept (runId tells where to read it).
func runError(res *RunResult) *api.Error {
	o := res.Outcome
	status := o.HTTPStatus
	switch {
	case status >= 400:
	case o.Code == loop.CodeCancelled:
		status = 499
	case o.Code == loop.CodeModelError || o.Code == loop.CodeTranscriptError || o.Code == "INTERNAL":
		status = http.StatusBadGateway
	default: // a limit of the run was reached
		status = http.StatusUnprocessableEntity
	}
	msg := o.Message
	if msg == "" {
		msg = "The run ended in error"
	}
	return (&api.Error{Status: status, Code: api.Code(o.Code), Message: msg}).With("runId", res.Run.ID).
		With("outcome", o).With("agentId", res.Run.AgentID)
}

// errNoAgent answers a chat that names no agent when the caller has none.
var errNoAgent = api.Errorf(http.StatusNotFound, api.CodeAgentNotFound, "You have no agent yet: provision one with POST /api/agents/provision")

// defaultAgent is the agent a request that names none talks to: the
// caller's newest.
func (s *Service) defaultAgent(ctx context.Context, userID string) (string, error) {
	list, err := s.Store.Agents(ctx, userID)
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", errNoAgent
	}
	return list[0].ID, nil
}

func (s *Service) modelFor(a *store.Agent, m loop.Model) loop.Model {
	if s.Model != nil {
		return s.Model(a)
	}
	return m
}
