package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/store"
)

// API serves /api/heartbeat: the caller's schedules. It needs no running
// Scheduler (the schedule is a row; the sweeper finds it).
type API struct {
	Store *store.Store
}

// Routes are the heartbeat endpoints.
func (a *API) Routes() []route.Route {
	return []route.Route{
		{Method: http.MethodGet, Path: "/api/heartbeat", Handler: a.get, Access: route.User,
			Query:    []route.Param{{Name: "agentId", Doc: "one agent's schedule; omitted: every schedule"}},
			Response: getAnswer{}, Errors: []api.Code{api.CodeAgentNotFound, api.CodeNotFound, api.CodeValidationError},
			Summary: "`?agentId=` → `{heartbeat{agentId, frequency, enabled, prompt, nextRunAt, lastRunAt, lastOutcome, missedTotal, …}, runs}` (the last 20 slots' outcomes: ok, delivered, skipped, missed, error); no `agentId`: `{heartbeats, count}`"},
		{Method: http.MethodPost, Path: "/api/heartbeat", Handler: a.set, Access: route.User,
			Request: setInput{}, Response: setAnswer{}, Errors: []api.Code{api.CodeAgentNotFound, api.CodeValidationError},
			Summary: "`{agentId, frequency?: 30m|1h|2h|3h|6h|12h, enabled?, prompt?}` sets the agent's schedule (new: 3h, enabled) → `{success, heartbeat, frequency, enabled, nextHeartbeat, …}`; a reply of `HEARTBEAT_OK` is dropped, any other reaches the agent's live channel"},
		{Method: http.MethodDelete, Path: "/api/heartbeat", Handler: a.del, Access: route.User,
			Query: []route.Param{{Name: "agentId", Required: true}}, Response: deleteAnswer{},
			Errors:  []api.Code{api.CodeAgentNotFound, api.CodeValidationError},
			Summary: "`?agentId=` removes the agent's schedule and its log → `{success, removed}`"},
	}
}

// view is a schedule as the API shows it. lastHeartbeat and nextHeartbeat
// are the seed's names for lastRunAt and nextRunAt.
func view(h *store.Heartbeat) map[string]any {
	var next any = h.NextRunAt
	if !h.Enabled {
		next = nil
	}
	return map[string]any{"agentId": h.AgentID, "frequency": FrequencyName(h.Frequency), "enabled": h.Enabled,
		"prompt": h.Prompt, "nextRunAt": next, "lastRunAt": h.LastRunAt, "lastOutcome": nullIfEmpty(h.LastOutcome),
		"missedTotal": h.MissedTotal, "lastHeartbeat": h.LastRunAt, "nextHeartbeat": next,
		"createdAt": h.CreatedAt, "updatedAt": h.UpdatedAt}
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func principal(r *http.Request) *auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

var errAgentNotFound = api.Errorf(http.StatusNotFound, api.CodeAgentNotFound, "Agent not found")

// owned checks that the caller owns agentID: another user's agent is 404,
// like one that does not exist.
func (a *API) owned(ctx context.Context, userID, agentID string) error {
	if agentID == "" {
		return api.Validation("agentId required")
	}
	if len(agentID) > 64 {
		return errAgentNotFound
	}
	ok, err := a.Store.OwnsAgent(ctx, userID, agentID)
	if err != nil {
		return err
	}
	if !ok {
		return errAgentNotFound
	}
	return nil
}

// get: GET /api/heartbeat?agentId= is one schedule with its recent slots;
// without agentId, all of the caller's.
func (a *API) get(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p := principal(r)
	agentID := r.URL.Query().Get("agentId")
	if agentID == "" {
		list, err := a.Store.Heartbeats(r.Context(), p.UserID)
		if err != nil {
			return err
		}
		out := make([]map[string]any, len(list))
		for i := range list {
			out[i] = view(&list[i])
		}
		api.OK(w, map[string]any{"heartbeats": out, "count": len(out)})
		return nil
	}
	if err := a.owned(r.Context(), p.UserID, agentID); err != nil {
		return err
	}
	h, err := a.Store.Heartbeat(r.Context(), p.UserID, agentID)
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFound("This agent has no heartbeat; set one with POST /api/heartbeat").With("agentId", agentID)
	}
	if err != nil {
		return err
	}
	runs, err := a.Store.HeartbeatRuns(r.Context(), p.UserID, agentID, 20)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(runs))
	for i, x := range runs {
		out[i] = map[string]any{"slot": x.SlotAt, "outcome": x.Outcome, "missed": x.Missed, "message": x.Message,
			"runId": nullIfEmpty(x.RunID), "startedAt": x.StartedAt, "finishedAt": x.FinishedAt}
	}
	api.OK(w, map[string]any{"heartbeat": view(h), "runs": out})
	return nil
}

type setInput struct {
	AgentID   string  `json:"agentId"`
	Frequency *string `json:"frequency"`
	Enabled   *bool   `json:"enabled"`
	Prompt    *string `json:"prompt"`
}

func (in *setInput) settings() (store.HeartbeatSettings, error) {
	var set store.HeartbeatSettings
	if in.Frequency != nil {
		f, ok := Frequencies[strings.TrimSpace(*in.Frequency)]
		if !ok {
			return set, api.Validation(fmt.Sprintf("frequency must be one of %s", strings.Join(FrequencyNames(), ", ")))
		}
		set.Frequency = &f
	}
	if in.Prompt != nil {
		pr := strings.TrimSpace(*in.Prompt)
		if utf8.RuneCountInString(pr) > MaxPromptChars {
			return set, api.Validation(fmt.Sprintf("prompt must be at most %d characters", MaxPromptChars))
		}
		set.Prompt = &pr
	}
	set.Enabled = in.Enabled
	return set, nil
}

// set: POST /api/heartbeat creates or changes an agent's schedule.
func (a *API) set(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p := principal(r)
	var in setInput
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	set, err := in.settings()
	if err != nil {
		return err
	}
	if err := a.owned(r.Context(), p.UserID, in.AgentID); err != nil {
		return err
	}
	h, err := a.Store.SetHeartbeat(r.Context(), p.UserID, in.AgentID, set, DefaultFrequency)
	if errors.Is(err, store.ErrNotFound) {
		return errAgentNotFound
	}
	if err != nil {
		return err
	}
	v := view(h)
	api.OK(w, map[string]any{"success": true, "heartbeat": v, "agentId": h.AgentID, "frequency": v["frequency"],
		"enabled": h.Enabled, "lastUpdated": h.UpdatedAt, "lastHeartbeat": h.LastRunAt, "nextHeartbeat": v["nextHeartbeat"],
		"message": "Heartbeat saved"})
	return nil
}

// del: DELETE /api/heartbeat?agentId= removes an agent's schedule.
func (a *API) del(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p := principal(r)
	agentID := r.URL.Query().Get("agentId")
	if err := a.owned(r.Context(), p.UserID, agentID); err != nil {
		return err
	}
	err := a.Store.DeleteHeartbeat(r.Context(), p.UserID, agentID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	msg := "Heartbeat removed"
	if err != nil {
		msg = "This agent had no heartbeat"
	}
	api.OK(w, map[string]any{"success": true, "agentId": agentID, "removed": err == nil, "message": msg, "timestamp": time.Now().UTC()})
	return nil
}
