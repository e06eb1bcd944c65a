package heartbeat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/agentbot/gateway/core/money"
	"github.com/agentbot/gateway/core/store"
)

// sweepArgs is the periodic sweep's job.
type sweepArgs struct{}

func (sweepArgs) Kind() string { return "agentbot.heartbeat.sweep" }

// A missed sweep is made up by the next one.
func (sweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueSweep, MaxAttempts: 1}
}

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	s *Scheduler
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	due, err := w.s.Sweep(ctx)
	if len(due) > 0 {
		w.s.cfg.Log.Debug("heartbeats enqueued", "count", len(due))
	}
	return err
}

// beatArgs is one slot of one agent's schedule. The agent and the slot make
// it unique: a slot is enqueued once even if two sweeps raced (they cannot,
// but the queue does not have to trust that).
type beatArgs struct {
	AgentID string `json:"agent_id" river:"unique"`
	UserID  string `json:"user_id"`
	Slot    int64  `json:"slot" river:"unique"` // Unix seconds
	Missed  int64  `json:"missed,omitempty"`
}

func (beatArgs) Kind() string { return "agentbot.heartbeat" }

// A job that fails before it claims its slot (the database was away) is
// tried again; once claimed, a slot never runs the agent again.
func (beatArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueBeat, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type beatWorker struct {
	river.WorkerDefaults[beatArgs]
	s *Scheduler
}

func (w *beatWorker) Timeout(*river.Job[beatArgs]) time.Duration { return w.s.cfg.JobTimeout }

func (w *beatWorker) Work(ctx context.Context, job *river.Job[beatArgs]) error {
	return w.s.beat(ctx, job.Args)
}

// beat works one slot: claim it, run the turn, record the outcome.
func (s *Scheduler) beat(ctx context.Context, a beatArgs) error {
	st := s.cfg.Store
	slot := time.Unix(a.Slot, 0).UTC()
	claim, err := st.ClaimHeartbeat(ctx, a.UserID, a.AgentID, slot)
	if err != nil {
		return err
	}
	if !claim.Claimed {
		return nil
	}
	o := s.turn(ctx, Turn{UserID: a.UserID, AgentID: a.AgentID, Prompt: claim.Prompt, Slot: slot, Missed: a.Missed})
	// The outcome is recorded even when the job was cancelled (shutdown).
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := st.FinishHeartbeat(rec, a.UserID, a.AgentID, slot, o.outcome, o.message, o.runID); err != nil &&
		!errors.Is(err, store.ErrNotFound) { // deleted meanwhile: nothing to record
		return err
	}
	level := s.cfg.Log.Debug
	if o.outcome == store.HeartbeatError {
		level = s.cfg.Log.Warn
	}
	level("heartbeat", "agent_id", a.AgentID, "slot", slot, "outcome", o.outcome, "message", o.message, "run_id", o.runID)
	return nil
}

type outcome struct{ outcome, message, runID string }

// turn decides and, if the agent may run, runs one heartbeat.
func (s *Scheduler) turn(ctx context.Context, t Turn) outcome {
	st := s.cfg.Store
	a, err := st.Agent(ctx, t.UserID, t.AgentID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outcome{outcome: store.HeartbeatSkipped, message: "the agent is gone"}
	case err != nil:
		return outcome{outcome: store.HeartbeatError, message: clip(err.Error())}
	case a.Status != store.AgentRunning:
		return outcome{outcome: store.HeartbeatSkipped, message: "the agent is " + a.Status}
	}
	if budget := s.cfg.DailyBudgetMicroUSD; budget > 0 {
		spent, err := st.HeartbeatSpend(ctx, t.UserID, t.AgentID, Trigger, s.cfg.Now().Add(-24*time.Hour))
		if err != nil {
			return outcome{outcome: store.HeartbeatError, message: clip(err.Error())}
		}
		if spent >= budget {
			return outcome{outcome: store.HeartbeatSkipped, message: fmt.Sprintf(
				"heartbeats of this agent spent %s of their %s daily budget", money.FormatUSD(spent), money.FormatUSD(budget))}
		}
	}
	if strings.TrimSpace(t.Prompt) == "" {
		t.Prompt = DefaultPrompt
	}
	reply, err := s.cfg.Run(ctx, t)
	var runID string
	if reply != nil {
		runID = reply.RunID
	}
	switch {
	case errors.Is(err, ErrNotRunning):
		return outcome{outcome: store.HeartbeatSkipped, message: "the agent is not running", runID: runID}
	case err != nil:
		return outcome{outcome: store.HeartbeatError, message: clip(err.Error()), runID: runID}
	case reply == nil:
		return outcome{outcome: store.HeartbeatError, message: "the run produced no reply"}
	}
	text := strings.TrimSpace(reply.Text)
	switch text {
	case OKReply:
		return outcome{outcome: store.HeartbeatOK, runID: runID}
	case "":
		return outcome{outcome: store.HeartbeatOK, message: "empty reply", runID: runID}
	}
	ev, err := json.Marshal(map[string]any{"type": "heartbeat", "outcome": store.HeartbeatDelivered, "reply": text,
		"runId": runID, "slot": t.Slot, "missed": t.Missed})
	if err != nil {
		return outcome{outcome: store.HeartbeatError, message: clip(err.Error()), runID: runID}
	}
	s.cfg.Deliver(ctx, t.AgentID, ev)
	return outcome{outcome: store.HeartbeatDelivered, runID: runID}
}

// clip bounds a logged message.
func clip(s string) string {
	const max = 500
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}
