package agents

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/store"
)

// transitions is the instance state machine: for each action, the states it
// may start from. Every action ends in running; stop ends in stopped.
var transitions = map[string][]string{
	"start":   {store.AgentProvisioning, store.AgentStopped, store.AgentError},
	"stop":    {store.AgentRunning},
	"restart": {store.AgentRunning, store.AgentStopped, store.AgentError},
	"update":  {store.AgentRunning, store.AgentStopped, store.AgentError},
	"repair":  {store.AgentProvisioning, store.AgentRunning, store.AgentStopped, store.AgentError},
}

// errTransition refuses an action from the agent's current state.
type errTransition struct{ action, status string }

func (e *errTransition) Error() string { return "cannot " + e.action + " an agent that is " + e.status }

func (s *Service) instanceAction(action string) func(http.ResponseWriter, *http.Request, httprouter.Params) error {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		p := principal(r)
		a, err := s.agent(r.Context(), p.UserID, ps.ByName("userId"))
		if err != nil {
			return err
		}
		if action == "reset-memory" {
			n, err := s.Store.ResetMemory(r.Context(), p.UserID, a.ID)
			if err != nil {
				return agentErr(err)
			}
			api.OK(w, map[string]any{"success": true, "message": "Memory reset successfully", "cleared": n, "status": a.Status})
			return nil
		}
		a, err = s.Store.TransitionAgent(r.Context(), p.UserID, a.ID, func(cur *store.Agent) (store.Transition, error) {
			if !slices.Contains(transitions[action], cur.Status) {
				return store.Transition{}, &errTransition{action: action, status: cur.Status}
			}
			t := store.Transition{Status: store.AgentRunning, Start: cur.Status != store.AgentRunning || action == "restart"}
			switch action {
			case "stop":
				t = store.Transition{Status: store.AgentStopped}
			case "restart":
				t.Restart = true
			case "update":
				t.RuntimeVersion = s.Version
			}
			return t, nil
		})
		var et *errTransition
		if errors.As(err, &et) {
			return api.Errorf(http.StatusConflict, api.CodeInvalidTransition, "Cannot %s an agent that is %s", et.action, et.status).
				With("status", et.status)
		}
		if err != nil {
			return agentErr(err)
		}
		resp := map[string]any{"success": true, "status": a.Status}
		if action == "repair" {
			resp["message"] = "Agent repaired successfully"
			if s.Channels != nil {
				n, err := s.Channels.Restart(r.Context(), p.UserID, a.ID)
				if err != nil {
					return err
				}
				resp["channelsRestarted"] = n
			}
		}
		if action == "update" {
			resp["version"] = a.RuntimeVersion
		}
		api.OK(w, resp)
		return nil
	}
}

// instanceOf is the caller's agent named by the path and the caller's plan.
func (s *Service) instanceOf(r *http.Request, ps httprouter.Params) (*store.Agent, billing.Plan, error) {
	p := principal(r)
	a, err := s.agent(r.Context(), p.UserID, ps.ByName("userId"))
	if err != nil {
		return nil, billing.Plan{}, err
	}
	plan, _, err := s.plan(r, p)
	return a, plan, err
}

func (s *Service) instance(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	a, plan, err := s.instanceOf(r, ps)
	if err != nil {
		return err
	}
	api.OK(w, map[string]any{"userId": a.ID, "agentId": a.ID, "status": a.Status, "startedAt": a.StartedAt,
		"url": s.websocketURL(a.ID), "plan": plan.Name, "version": a.RuntimeVersion, "openclawVersion": a.RuntimeVersion})
	return nil
}

func (s *Service) instanceStats(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	a, plan, err := s.instanceOf(r, ps)
	if err != nil {
		return err
	}
	st, err := s.Store.AgentStats(r.Context(), principal(r).UserID, a.ID, time.Time{})
	if err != nil {
		return agentErr(err)
	}
	v := statsView(a, st, s.now())
	v["userId"], v["plan"], v["version"] = a.ID, plan.Name, a.RuntimeVersion
	if s.Channels != nil {
		if v["channels"], err = s.Channels.Status(r.Context(), principal(r).UserID, a.ID); err != nil {
			return err
		}
	}
	api.OK(w, v)
	return nil
}

// newToken is 32 random bytes as 64 hex characters, with its digest.
func newToken() (string, []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(tok))
	return tok, sum[:]
}

func (s *Service) token(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	p := principal(r)
	a, err := s.agent(r.Context(), p.UserID, ps.ByName("userId"))
	if err != nil {
		return err
	}
	tok, err := s.instanceToken(r.Context(), p.UserID, a.ID, false)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	api.OK(w, map[string]any{"token": tok, "websocketUrl": s.websocketURL(a.ID)})
	return nil
}

func (s *Service) rotateToken(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	p := principal(r)
	a, err := s.agent(r.Context(), p.UserID, ps.ByName("userId"))
	if err != nil {
		return err
	}
	tok, err := s.instanceToken(r.Context(), p.UserID, a.ID, true)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	api.OK(w, map[string]any{"token": tok, "rotated": true, "websocketUrl": s.websocketURL(a.ID)})
	return nil
}

// instanceToken returns the agent's token, creating it on first use (two
// first uses at once agree on one token), or replacing it when rotate.
func (s *Service) instanceToken(ctx context.Context, userID, agentID string, rotate bool) (string, error) {
	label := secrets.InstanceTokenLabel(userID, agentID)
	if !rotate {
		sealed, err := s.Store.InstanceToken(ctx, userID, agentID)
		if err == nil {
			tok, err := s.Secrets.Open(sealed, label)
			return string(tok), err
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	tok, digest := newToken()
	err := s.Store.SetInstanceToken(ctx, userID, agentID, digest, s.Secrets.Seal([]byte(tok), label), !rotate)
	if errors.Is(err, store.ErrConflict) { // another first use won: use its token
		return s.instanceToken(ctx, userID, agentID, false)
	}
	if err != nil {
		return "", agentErr(err)
	}
	return tok, nil
}

// ResolveToken finds the agent an instance token opens; the token must be
// the agent's current one. It compares digests found by an indexed lookup of
// the token's SHA-256, so no secret is compared byte by byte.
func (s *Service) ResolveToken(ctx context.Context, agentID, token string) (userID string, err error) {
	if len(token) != 64 {
		return "", api.Unauthorized(api.CodeInstanceTokenInvalid, "Missing or invalid instance token")
	}
	sum := sha256.Sum256([]byte(token))
	o, err := s.Store.LookupInstanceToken(ctx, sum[:])
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.AgentID != agentID) {
		return "", api.Unauthorized(api.CodeInstanceTokenInvalid, "Missing or invalid instance token")
	}
	if err != nil {
		return "", err
	}
	return o.UserID, nil
}
