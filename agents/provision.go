package agents

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/money"
	"github.com/agentbot/gateway/core/store"
)

// view is an agent as the API shows it.
func (s *Service) view(a *store.Agent) map[string]any {
	v := map[string]any{"id": a.ID, "name": a.Name, "model": a.Model, "status": a.Status,
		"websocketUrl": s.websocketURL(a.ID), "createdAt": a.CreatedAt, "updatedAt": a.UpdatedAt}
	if a.StatusReason != "" {
		v["statusReason"] = a.StatusReason
	}
	if a.StartedAt != nil {
		v["startedAt"] = a.StartedAt
	}
	return v
}

// WebsocketURL is where an agent's live channel is opened.
func (s *Service) WebsocketURL(id string) string { return s.websocketURL(id) }

// websocketURL is where an agent's live channel is opened (with its token).
func (s *Service) websocketURL(id string) string {
	u, err := url.Parse(s.PublicURL)
	if err != nil || u.Host == "" {
		u = &url.URL{Scheme: "http", Host: "127.0.0.1:8080"}
	}
	scheme := "ws"
	if u.Scheme == "https" {
		scheme = "wss"
	}
	return scheme + "://" + u.Host + strings.TrimRight(u.Path, "/") + "/api/agents/" + id + "/live"
}

// plan is the caller's plan when their subscription is active.
func (s *Service) plan(r *http.Request, p *auth.Principal) (billing.Plan, bool, error) {
	return s.ActivePlan(r.Context(), p.UserID)
}

// ActivePlan is the user's plan when their subscription is active.
func (s *Service) ActivePlan(ctx context.Context, userID string) (billing.Plan, bool, error) {
	u, err := s.Store.User(ctx, userID)
	if err != nil {
		return billing.Plan{}, false, err
	}
	if u.SubscriptionStatus != "active" || s.Plans == nil {
		return billing.Plan{}, false, nil
	}
	pl, ok := s.Plans.Get(u.Plan)
	return pl, ok, nil
}

// checkModel refuses a model outside the model table.
func (s *Service) checkModel(model string) error {
	if len(s.Models) > 0 && !slices.Contains(s.Models, model) {
		return api.Errorf(http.StatusBadRequest, api.CodeValidationError, "Unknown model %q", model).
			With("models", s.Models)
	}
	return nil
}

func (s *Service) provision(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p := principal(r)
	var in struct {
		Name   string          `json:"name"`
		Model  string          `json:"model"`
		Config json.RawMessage `json:"config"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return api.Validation("Agent name is required")
	}
	if utf8.RuneCountInString(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return api.Validation("Agent name must be at most 100 printable characters")
	}
	model := strings.TrimSpace(in.Model)
	if model == "" {
		model = s.DefaultModel
	}
	if err := s.checkModel(model); err != nil {
		return err
	}
	cfg, err := parseConfig(in.Config)
	if err != nil {
		return err
	}
	plan, active, err := s.plan(r, p)
	if err != nil {
		return err
	}
	limit := int64(billing.Unlimited)
	if !p.Admin {
		if !active {
			return api.Errorf(http.StatusPaymentRequired, api.CodePaymentRequired, "Active subscription required to provision agents")
		}
		limit = int64(plan.Agents)
	}
	stored, _ := json.Marshal(cfg)
	a, err := s.Store.CreateAgent(r.Context(), p.UserID, store.NewAgent{Name: name, Model: model, Config: stored,
		RuntimeVersion: s.Version}, limit)
	var le *store.AgentLimitError
	if errors.As(err, &le) {
		return api.Errorf(http.StatusTooManyRequests, api.CodeTierLimit, "Agent limit reached for %s tier", plan.Name).
			With("current", le.Current).With("limit", le.Limit)
	}
	if err != nil {
		return err
	}
	// An agent needs nothing booted: it is a row and a loop inside the
	// gateway, so it runs as soon as it exists.
	if a, err = s.Store.TransitionAgent(r.Context(), p.UserID, a.ID, func(*store.Agent) (store.Transition, error) {
		return store.Transition{Status: store.AgentRunning, Start: true}, nil
	}); err != nil {
		return err
	}
	api.JSON(w, http.StatusCreated, map[string]any{"success": true, "agent": s.view(a)})
	return nil
}

func (s *Service) views(r *http.Request) ([]map[string]any, error) {
	list, err := s.Store.Agents(r.Context(), principal(r).UserID)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(list))
	for i := range list {
		out[i] = s.view(&list[i])
	}
	return out, nil
}

func (s *Service) listProvisioned(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	out, err := s.views(r)
	if err != nil {
		return err
	}
	api.OK(w, map[string]any{"success": true, "agents": out, "count": len(out)})
	return nil
}

func (s *Service) list(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	out, err := s.views(r)
	if err != nil {
		return err
	}
	api.OK(w, map[string]any{"agents": out, "count": len(out), "status": "ok"})
	return nil
}

func (s *Service) get(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	p := principal(r)
	a, err := s.agent(r.Context(), p.UserID, ps.ByName("id"))
	if err != nil {
		return err
	}
	installed, err := s.Store.AgentSkills(r.Context(), p.UserID, a.ID)
	if err != nil {
		return err
	}
	skills := make([]map[string]any, len(installed))
	for i, is := range installed {
		skills[i] = map[string]any{"skill": is.Skill, "version": is.Version, "latest": is.Latest,
			"upgradeAvailable": is.Latest != is.Version, "installedAt": is.InstalledAt}
	}
	v := s.view(a)
	v["skills"] = skills
	v["version"] = a.RuntimeVersion
	if s.Channels != nil {
		if v["channels"], err = s.Channels.Status(r.Context(), p.UserID, a.ID); err != nil {
			return err
		}
	}
	api.OK(w, map[string]any{"agent": v, "status": "ok"})
	return nil
}

func (s *Service) getConfig(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	a, err := s.agent(r.Context(), principal(r).UserID, ps.ByName("id"))
	if err != nil {
		return err
	}
	api.OK(w, map[string]any{"config": a.Config, "model": a.Model, "status": "ok"})
	return nil
}

func (s *Service) putConfig(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	p := principal(r)
	a, err := s.agent(r.Context(), p.UserID, ps.ByName("id"))
	if err != nil {
		return err
	}
	var in struct {
		Model  *string         `json:"model"`
		Config json.RawMessage `json:"config"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	model := a.Model
	if in.Model != nil {
		model = strings.TrimSpace(*in.Model)
		if err := s.checkModel(model); err != nil {
			return err
		}
	}
	raw := in.Config
	if raw == nil {
		raw = a.Config
	}
	cfg, err := parseConfig(raw)
	if err != nil {
		return err
	}
	stored, _ := json.Marshal(cfg)
	if a, err = s.Store.UpdateAgentConfig(r.Context(), p.UserID, a.ID, model, stored); err != nil {
		return agentErr(err)
	}
	api.OK(w, map[string]any{"config": a.Config, "model": a.Model, "status": "updated"})
	return nil
}

// pageParams reads limit (1..100, default 50) and cursor.
func pageParams(r *http.Request) (limit int, before int64, err error) {
	q := r.URL.Query()
	limit = 50
	if v := q.Get("limit"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 100 {
			return 0, 0, api.BadRequest(api.CodeInvalidLimit, "limit must be a whole number from 1 to 100")
		}
		limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < 1 {
			return 0, 0, api.Validation("cursor must be a nextCursor from an earlier page")
		}
		before = n
	}
	return limit, before, nil
}

// messageView is a transcript message as the API shows it.
func messageView(m store.AgentMessage) map[string]any {
	v := map[string]any{"id": m.ID, "agentId": m.AgentID, "runId": m.RunID, "role": m.Role, "sender": m.Role,
		"content": m.Content, "timestamp": m.CreatedAt, "platform": m.Platform}
	if m.Topic != "" {
		v["topic"] = m.Topic
	}
	if len(m.ToolCalls) > 0 {
		v["toolCalls"] = m.ToolCalls
	}
	if m.Role == "tool" {
		v["toolCallId"], v["name"], v["isError"] = m.ToolCallID, m.ToolName, m.IsError
	}
	return v
}

func (s *Service) page(r *http.Request, agentID string) (map[string]any, error) {
	limit, before, err := pageParams(r)
	if err != nil {
		return nil, err
	}
	topic := r.URL.Query().Get("topic")
	msgs, total, err := s.Store.AgentMessages(r.Context(), principal(r).UserID,
		store.MessagePage{AgentID: agentID, Topic: topic, Before: before, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		out[i] = messageView(m)
	}
	resp := map[string]any{"messages": out, "total": total, "count": len(out), "limit": limit, "status": "ok"}
	if len(msgs) == limit && msgs[0].Seq > 1 {
		resp["nextCursor"] = strconv.FormatInt(msgs[0].Seq, 10)
	}
	return resp, nil
}

func (s *Service) messages(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	a, err := s.agent(r.Context(), principal(r).UserID, ps.ByName("id"))
	if err != nil {
		return err
	}
	resp, err := s.page(r, a.ID)
	if err != nil {
		return err
	}
	api.OK(w, resp)
	return nil
}

func (s *Service) stats(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	p := principal(r)
	a, err := s.agent(r.Context(), p.UserID, ps.ByName("id"))
	if err != nil {
		return err
	}
	st, err := s.Store.AgentStats(r.Context(), p.UserID, a.ID, time.Time{})
	if err != nil {
		return agentErr(err)
	}
	api.OK(w, map[string]any{"stats": statsView(a, st, s.now()), "status": "ok"})
	return nil
}

// statsView renders figures computed from stored runs and usage; a figure
// with no data behind it is zero or absent, never estimated.
func statsView(a *store.Agent, st *store.AgentStats, now time.Time) map[string]any {
	v := map[string]any{"agentId": a.ID, "status": a.Status, "runs": st.Runs, "runsOk": st.RunsOK,
		"runsFailed": st.RunsError, "runsInProgress": st.RunsRunning, "messagesProcessed": st.Messages,
		"toolCalls": st.ToolCalls, "inputTokens": st.InputTokens, "outputTokens": st.OutputTokens,
		"spendMicroUsd": st.SpendMicroUSD, "spend": money.FormatUSD(st.SpendMicroUSD), "calls": st.Calls,
		"restarts": a.Restarts}
	if finished := st.RunsOK + st.RunsError; finished > 0 {
		v["successRate"] = strconv.FormatFloat(float64(st.RunsOK)*100/float64(finished), 'f', 2, 64)
		v["errorRate"] = strconv.FormatFloat(float64(st.RunsError)*100/float64(finished), 'f', 2, 64)
		v["averageResponseTimeMs"] = st.AvgDuration.Milliseconds()
	}
	if st.LastRunAt != nil {
		v["lastRunAt"] = st.LastRunAt
	}
	if a.Status == store.AgentRunning && a.StartedAt != nil {
		v["uptimeSeconds"] = int64(now.Sub(*a.StartedAt).Seconds())
	}
	return v
}
