package agents

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/agents/loop"
	"github.com/agentbot/gateway/core/api"
)

// MaxMessageChars bounds one chat message.
const MaxMessageChars = 32_000

type chatInput struct {
	Message string `json:"message" required:"true"`
	AgentID string `json:"agentId"`
	Topic   string `json:"topic"`
	Stream  bool   `json:"stream"`
}

func (in *chatInput) check() error {
	in.Topic = strings.TrimSpace(in.Topic)
	switch {
	case strings.TrimSpace(in.Message) == "":
		return api.Validation("Message required")
	case utf8.RuneCountInString(in.Message) > MaxMessageChars:
		return api.Validation(fmt.Sprintf("message must be at most %d characters", MaxMessageChars))
	case utf8.RuneCountInString(in.Topic) > 100:
		return api.Validation("topic must be at most 100 characters")
	}
	return nil
}

// chat: POST /api/chat runs the agent on a message: JSON with the reply, or
// with stream:true the run's events as server-sent events.
func (s *Service) chat(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p := principal(r)
	var in chatInput
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	if in.AgentID == "" {
		id, err := s.defaultAgent(r.Context(), p.UserID)
		if err != nil {
			return err
		}
		in.AgentID = id
	}
	rr := RunRequest{Principal: p, AgentID: in.AgentID, Trigger: TriggerChat, Topic: in.Topic, Message: in.Message,
		RequestID: api.RequestID(r.Context())}
	if in.Stream {
		return s.streamRun(w, r, rr)
	}
	res, err := s.Run(r.Context(), rr)
	if err != nil {
		return err
	}
	if res.Outcome.Status != loop.StatusOK {
		return runError(res)
	}
	api.OK(w, map[string]any{"id": res.Run.ID, "runId": res.Run.ID, "agentId": res.Run.AgentID, "message": in.Message,
		"topic": in.Topic, "status": "sent", "timestamp": s.now(), "reply": res.Outcome.Reply, "outcome": res.Outcome})
	return nil
}

// streamRun answers a run as server-sent events: every event the live
// channel gets, as it happens, ending with run.finished. Until the first
// event nothing is committed, so a run refused before it starts (a stopped
// agent) is still an ordinary JSON error.
func (s *Service) streamRun(w http.ResponseWriter, r *http.Request, rr RunRequest) error {
	fl, _ := w.(http.Flusher)
	var (
		mu      sync.Mutex
		started bool
		gone    bool
	)
	rr.Emit = func(ev []byte) {
		mu.Lock()
		defer mu.Unlock()
		if gone {
			return
		}
		if !started {
			started = true
			h := w.Header()
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-cache")
			h.Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
		}
		api.StreamDeadline(w)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", eventType(ev), ev); err != nil {
			gone = true
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
	// The run goes on if the client leaves: what it started is paid for and
	// its transcript is kept whole.
	res, err := s.Run(context.WithoutCancel(r.Context()), rr)
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		if started {
			s.log().Error("agent run after the stream began", "err", err)
			return nil
		}
		return err
	}
	_ = res
	return nil
}

// eventType reads an event's "type" without decoding the rest.
func eventType(ev []byte) string {
	const key = `"type":"`
	i := strings.Index(string(ev), key)
	if i < 0 {
		return "message"
	}
	rest := string(ev[i+len(key):])
	if j := strings.IndexByte(rest, '"'); j > 0 {
		return rest[:j]
	}
	return "message"
}

// history: GET /api/chat lists the caller's conversation, newest page first
// (?agentId= one agent, ?topic=, ?limit=, ?cursor=).
func (s *Service) history(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p := principal(r)
	agentID := r.URL.Query().Get("agentId")
	if agentID != "" {
		if _, err := s.agent(r.Context(), p.UserID, agentID); err != nil {
			return err
		}
	}
	resp, err := s.page(r, agentID)
	if err != nil {
		return err
	}
	api.OK(w, resp)
	return nil
}

// Chat runs an agent on a message from its live channel; the run's events
// reach the socket through the hub.
func (s *Service) Chat(ctx context.Context, userID, agentID, message, topic string) error {
	in := chatInput{Message: message, AgentID: agentID, Topic: topic}
	if err := in.check(); err != nil {
		return err
	}
	u, err := s.Store.User(ctx, userID)
	if err != nil {
		return err
	}
	p := s.Auth.Owner(u)
	res, err := s.Run(ctx, RunRequest{Principal: p, AgentID: agentID, Trigger: TriggerLive, Topic: topic, Message: message})
	if err != nil {
		return err
	}
	if res.Outcome.Status != loop.StatusOK {
		return runError(res)
	}
	return nil
}

var errStreamStarted = errors.New("agents: the stream has started")

var _ = time.Now
var _ = errStreamStarted
