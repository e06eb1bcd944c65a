package app

import (
	"context"
	"errors"

	"github.com/agentbot/gateway/agents"
	"github.com/agentbot/gateway/agents/heartbeat"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/server"
)

// heartbeatRoundTrips bounds a heartbeat turn: one short look, not a task.
const heartbeatRoundTrips = 3

// heartbeatTopic keeps heartbeat turns in their own conversation topic.
const heartbeatTopic = "heartbeat"

// newHeartbeats serves /api/heartbeat and, unless AGENTBOT_HEARTBEATS=false,
// starts the scheduler on River. It stops before the agents service and the
// store it uses (closers run last registered first).
func newHeartbeats(ctx context.Context, srv *server.Server, svc *agents.Service, m *Mounted) ([]route.Route, error) {
	a := &heartbeat.API{Store: srv.Store}
	cfg := srv.Config.Heartbeat
	if !cfg.Enabled {
		return a.Routes(), nil
	}
	sch, err := heartbeat.New(heartbeat.Config{Store: srv.Store, Run: heartbeatRunner(srv, svc), Deliver: svc.Publish,
		Sweep: cfg.Sweep, Workers: cfg.Workers, DailyBudgetMicroUSD: cfg.DailyBudgetMicroUSD, Log: srv.Log})
	if err != nil {
		return nil, err
	}
	if err := sch.Start(ctx); err != nil {
		return nil, err
	}
	m.Heartbeats = sch
	m.onClose(sch.Stop)
	return a.Routes(), nil
}

// heartbeatRunner runs a heartbeat as one bounded turn of the agent, as its
// owner (no request of theirs started it), quietly: its events stay off the
// live channel, which gets the reply only if the scheduler delivers it.
func heartbeatRunner(srv *server.Server, svc *agents.Service) heartbeat.Runner {
	return func(ctx context.Context, t heartbeat.Turn) (*heartbeat.Reply, error) {
		runID, text, err := svc.RunOwned(ctx, t.UserID, agents.RunRequest{AgentID: t.AgentID,
			Trigger: agents.TriggerHeartbeat, Topic: heartbeatTopic, Message: t.Prompt,
			MaxRoundTrips: heartbeatRoundTrips, Quiet: true})
		if errors.Is(err, agents.ErrNotRunning) {
			return nil, heartbeat.ErrNotRunning
		}
		if runID == "" {
			return nil, err
		}
		return &heartbeat.Reply{RunID: runID, Text: text}, err
	}
}
