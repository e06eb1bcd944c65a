package agents

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/agents/loop"
	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/store"
)

// The /api/agent endpoint is one URL with an action parameter over the same
// services as the rest of the agent API: a session is a conversation topic
// (sess_ + 16 hex), the memory is the transcript's tail, skills are the
// agent's installed skills and credentials are the caller's own provider
// keys. Every action applies to the agent named by agentId, else the
// caller's newest.

const apiVersion = "1.0.0"

var sessionRE = regexp.MustCompile(`^sess_[0-9a-f]{16}$`)

func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "sess_" + hex.EncodeToString(b[:])
}

// targetAgent is the agent an /api/agent request is about.
func (s *Service) targetAgent(r *http.Request, agentID string) (*store.Agent, error) {
	p := principal(r)
	if agentID == "" {
		id, err := s.defaultAgent(r.Context(), p.UserID)
		if err != nil {
			return nil, err
		}
		agentID = id
	}
	return s.agent(r.Context(), p.UserID, agentID)
}

func (s *Service) agentGet(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	q := r.URL.Query()
	action := q.Get("action")
	if action == "" {
		api.OK(w, map[string]any{"apiVersion": apiVersion, "agentbotVersion": s.Version, "endpoints": map[string]any{
			"GET":  []string{"health", "sessions", "session", "memory", "skills", "credentials"},
			"POST": []string{"chat", "create-session", "update-skill", "set-credential"}}})
		return nil
	}
	p := principal(r)
	if action == "credentials" {
		ci, err := s.Store.CallerInfo(r.Context(), p.UserID)
		if err != nil {
			return err
		}
		creds := map[string]bool{"telegram": false, "discord": false, "whatsapp": false}
		for _, prov := range billing.BYOKProviders {
			creds[prov] = ci.BYOK[prov] != nil
		}
		creds["google"] = creds["gemini"]
		api.OK(w, map[string]any{"credentials": creds})
		return nil
	}
	a, err := s.targetAgent(r, q.Get("agentId"))
	if err != nil {
		return err
	}
	switch action {
	case "health":
		installed, err := s.Store.AgentSkills(r.Context(), p.UserID, a.ID)
		if err != nil {
			return err
		}
		names := make([]string, len(installed))
		for i, is := range installed {
			names[i] = is.Skill
		}
		resp := map[string]any{"status": a.Status, "agentId": a.ID, "version": a.RuntimeVersion, "apiVersion": apiVersion,
			"model": a.Model, "channels": []string{}, "skills": names}
		if runs, err := s.Store.Runs(r.Context(), p.UserID, a.ID, 1); err == nil && len(runs) == 1 {
			resp["lastSeen"] = runs[0].StartedAt
		}
		if a.Status == store.AgentRunning && a.StartedAt != nil {
			resp["uptime"] = int64(s.now().Sub(*a.StartedAt).Seconds())
		}
		api.OK(w, resp)
	case "sessions":
		topics, err := s.Store.Topics(r.Context(), p.UserID, a.ID)
		if err != nil {
			return err
		}
		out := make([]map[string]any, 0, len(topics))
		for _, t := range topics {
			out = append(out, sessionView(t))
		}
		api.OK(w, map[string]any{"sessions": out, "agentId": a.ID})
	case "session":
		id := q.Get("sessionId")
		if id == "" {
			return api.Validation("sessionId required")
		}
		topics, err := s.Store.Topics(r.Context(), p.UserID, a.ID)
		if err != nil {
			return err
		}
		for _, t := range topics {
			if t.Topic == id {
				api.OK(w, map[string]any{"session": sessionView(t)})
				return nil
			}
		}
		return api.NotFound("Session not found")
	case "memory":
		msgs, _, err := s.Store.AgentMessages(r.Context(), p.UserID, store.MessagePage{AgentID: a.ID, Limit: 10})
		if err != nil {
			return err
		}
		out := make([]map[string]string, len(msgs))
		for i, m := range msgs {
			out[i] = map[string]string{"role": m.Role, "content": cut(m.Content, 100)}
		}
		api.OK(w, map[string]any{"memory": out, "agentId": a.ID})
	case "skills":
		installed, err := s.Store.AgentSkills(r.Context(), p.UserID, a.ID)
		if err != nil {
			return err
		}
		out := make([]map[string]any, len(installed))
		for i, is := range installed {
			out[i] = map[string]any{"id": is.Skill, "version": is.Version, "enabled": true}
		}
		api.OK(w, map[string]any{"skills": out, "agentId": a.ID})
	default:
		return api.BadRequest(api.CodeInvalidAction, "Invalid action: use health, sessions, session, memory, skills or credentials")
	}
	return nil
}

func sessionView(t store.TopicSummary) map[string]any {
	id := t.Topic
	if id == "" {
		id = "default"
	}
	return map[string]any{"id": id, "status": "active", "messageCount": t.Messages,
		"createdAt": t.First.UnixMilli(), "lastActivity": t.LastMessage.UnixMilli()}
}

// cut shortens s to n characters.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

func (s *Service) agentPost(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p := principal(r)
	var in struct {
		Action    string  `json:"action"`
		Message   string  `json:"message"`
		SessionID string  `json:"sessionId"`
		AgentID   string  `json:"agentId"`
		SkillID   string  `json:"skillId"`
		Enabled   *bool   `json:"enabled"`
		Key       string  `json:"key"`
		Value     *string `json:"value"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	switch in.Action {
	case "", "chat":
		c := chatInput{Message: in.Message, AgentID: in.AgentID, Topic: in.SessionID}
		if err := c.check(); err != nil {
			return err
		}
		if c.Topic == "" {
			c.Topic = newSessionID()
		} else if !sessionRE.MatchString(c.Topic) {
			return api.Validation("sessionId must be sess_ followed by 16 hex digits (from create-session)")
		}
		a, err := s.targetAgent(r, c.AgentID)
		if err != nil {
			return err
		}
		res, err := s.Run(r.Context(), RunRequest{Principal: p, AgentID: a.ID, Trigger: TriggerAgent, Topic: c.Topic,
			Message: c.Message, RequestID: api.RequestID(r.Context())})
		if err != nil {
			return err
		}
		if res.Outcome.Status != loop.StatusOK {
			return runError(res)
		}
		api.OK(w, map[string]any{"sessionId": c.Topic, "reply": res.Outcome.Reply, "timestamp": s.now(), "runId": res.Run.ID,
			"agentId": a.ID})
	case "create-session":
		api.OK(w, map[string]any{"sessionId": newSessionID(), "status": "active"})
	case "update-skill":
		if in.SkillID == "" {
			return api.Validation("skillId required")
		}
		a, err := s.targetAgent(r, in.AgentID)
		if err != nil {
			return err
		}
		enabled := in.Enabled != nil && *in.Enabled
		if enabled {
			if _, _, err := s.installFor(r, a, installInput{SkillID: in.SkillID, AgentID: a.ID}); err != nil {
				return err
			}
		} else if err := s.Store.UninstallSkill(r.Context(), p.UserID, a.ID, in.SkillID); err != nil {
			return skillErr(err)
		}
		api.OK(w, map[string]any{"success": true, "skillId": in.SkillID, "enabled": enabled, "agentId": a.ID})
	case "set-credential":
		prov, err := billing.BYOKProvider(in.Key)
		if err != nil {
			return err
		}
		if in.Value == nil || strings.TrimSpace(*in.Value) == "" {
			if err := s.Store.DeleteBYOKKey(r.Context(), p.UserID, prov); err != nil && !isNotFound(err) {
				return err
			}
		} else {
			if err := billing.CheckBYOKKey(*in.Value); err != nil {
				return err
			}
			sealed := s.Secrets.Seal([]byte(*in.Value), secrets.BYOKLabel(p.UserID, prov))
			if err := s.Store.SetBYOKKey(r.Context(), p.UserID, prov, sealed); err != nil {
				return err
			}
		}
		if s.Gateway != nil {
			s.Gateway.ForgetCaller(p.UserID)
		}
		api.OK(w, map[string]any{"success": true, "key": prov, "configured": in.Value != nil && strings.TrimSpace(*in.Value) != ""})
	default:
		return api.BadRequest(api.CodeInvalidAction, "Invalid action: use chat, create-session, update-skill or set-credential")
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
