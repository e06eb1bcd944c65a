package agents

import (
	"context"
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/agents/live"
	"github.com/agentbot/gateway/core/api"
)

// LiveChannel is the agent side of the live channel: the instance token
// opens it, and chat messages sent over it run the agent.
type LiveChannel struct{ s *Service }

// LiveChannel returns the live.Tokens and live.Chatter of s.
func (s *Service) LiveChannel() LiveChannel { return LiveChannel{s} }

var (
	_ live.Tokens  = LiveChannel{}
	_ live.Chatter = LiveChannel{}
)

// Resolve implements live.Tokens: the token must be the agent's current one.
func (l LiveChannel) Resolve(ctx context.Context, agentID, token string) (live.Principal, error) {
	userID, err := l.s.ResolveToken(ctx, agentID, token)
	var ae *api.Error
	if errors.As(err, &ae) && ae.Code == api.CodeInstanceTokenInvalid {
		return live.Principal{}, live.ErrTokenInvalid
	}
	if err != nil {
		return live.Principal{}, err
	}
	return live.Principal{UserID: userID, AgentID: agentID}, nil
}

// Chat implements live.Chatter: one run, whose events reach the socket
// through the hub. It returns when the run ends.
func (l LiveChannel) Chat(ctx context.Context, p live.Principal, message, topic string) error {
	return l.s.Chat(ctx, p.UserID, p.AgentID, message, topic)
}

// live: GET /api/agents/:id/live upgrades to the agent's live channel.
func (s *Service) live(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	if s.Live == nil {
		return api.NotFound("Live channels are not enabled")
	}
	return s.Live.Handle(w, r, ps.ByName("id"))
}
