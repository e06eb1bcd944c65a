package agents

import (
	"context"
	"time"
)

// publisher hands one run's events to the live channel in order, on its own
// goroutine, so that a slow hub never slows the run. When the hub falls
// behind by more than the buffer, events are dropped (listeners resync from
// the transcript); the run's own stream (SSE) never drops.
type publisher struct {
	ch   chan []byte
	done chan struct{}
}

func (s *Service) publisher(agentID string, live bool) *publisher {
	p := &publisher{ch: make(chan []byte, 256), done: make(chan struct{})}
	if s.Events == nil || !live {
		close(p.done)
		p.ch = nil
		return p
	}
	go func() {
		defer close(p.done)
		for ev := range p.ch {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.Events.Publish(ctx, agentID, ev); err != nil {
				s.log().Warn("publish agent event", "agent_id", agentID, "err", err)
			}
			cancel()
		}
	}()
	return p
}

func (p *publisher) send(ev []byte) {
	if p.ch == nil {
		return
	}
	select {
	case p.ch <- ev:
	default:
	}
}

// close waits until the run's events are handed over.
func (p *publisher) close() {
	if p.ch != nil {
		close(p.ch)
	}
	<-p.done
}

// Publish sends one event (JSON with a "type") to an agent's live channel:
// the heartbeat outcomes and other events that are not a run's.
func (s *Service) Publish(ctx context.Context, agentID string, event []byte) {
	if s.Events == nil {
		return
	}
	if err := s.Events.Publish(ctx, agentID, withAgent(event, agentID)); err != nil {
		s.log().Warn("publish agent event", "agent_id", agentID, "err", err)
	}
}
