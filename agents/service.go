// Package agents owns agents: provisioning within a plan's allowance, their
// configuration, instance lifecycle (provisioning → running ⇄ stopped, any →
// error) and per-instance tokens, installed skills, memory, the transcript,
// and runs of the agent loop (package agents/loop) whose model calls go
// through the AI provider and whose tools are the agent's installed skills
// and its memory — each call paid and recorded like the owner's own gateway
// calls. Everything an agent holds is its owner's alone: another user's agent
// is 404 everywhere (the store scopes every read and write to the owner). The
// metrics endpoints (/api/metrics*) report those runs, messages, usage and
// payments, per account and, for admins, across the platform. Verification
// (/api/agents/:id/verify) checks an agent's EAS, Coinbase, ENS or passkey
// evidence on chain and keeps it.
package agents

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/agentbot/gateway/agents/live"
	"github.com/agentbot/gateway/agents/loop"
	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/skills"
)

// Publisher sends an agent's run events to whoever listens on its live
// channel (on any node).
type Publisher interface {
	Publish(ctx context.Context, agentID string, event []byte) error
}

// Channels are an agent's chat channels, as the agent endpoints see them.
type Channels interface {
	// Status describes each of the agent's channels.
	Status(ctx context.Context, userID, agentID string) ([]map[string]any, error)
	// Restart restarts the agent's channel connectors; it returns how many.
	Restart(ctx context.Context, userID, agentID string) (int64, error)
}

// Service serves the agent endpoints and runs agents.
type Service struct {
	Store *store.Store
	// Auth derives the owner's principal for runs no request of theirs
	// started (live channel, heartbeats).
	Auth    *auth.Authenticator
	Gateway *gateway.Gateway
	Skills  *skills.Service
	// PaidFetch is the sandbox of the paid_fetch tool (the agent's config
	// names its hosts): public addresses only unless AllowPrivate.
	PaidFetch skills.FetchPolicy
	Secrets   *secrets.Box
	Plans     *billing.Plans
	// Models lists the model ids an agent may be configured with (the AI
	// provider's model table); DefaultModel is a new agent's model.
	Models       []string
	DefaultModel string
	// ModelID is the gateway id of model calls [generate-text].
	ModelID string
	// PublicURL is where clients reach this gateway; websocketUrl is built
	// from it.
	PublicURL string
	// Version is the agent runtime's version, which `update` moves an agent to.
	Version string
	// Events receives run events for live channels; nil drops them.
	Events Publisher
	// Live serves the live channel (GET /api/agents/:id/live).
	Live *live.Server
	// Verify configures agent verification (/api/agents/:id/verify).
	Verify Verification
	// Channels reports and restarts an agent's chat channels (its record,
	// its instance stats, `repair`); nil when channels are off.
	Channels Channels
	// MemoryQuota bounds one agent's memory [1000 keys, 10 MiB].
	MemoryQuota store.MemoryQuota
	// Model, if set, stands in for the agent's model (the AI provider
	// behind the gateway) in every run: the benchmark of the loop's own
	// cost uses an instant one. Production leaves it nil.
	Model func(a *store.Agent) loop.Model
	Log   *slog.Logger
	Now   func() time.Time
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) modelID() string {
	if s.ModelID != "" {
		return s.ModelID
	}
	return gateway.DefaultID
}

func (s *Service) memoryQuota() store.MemoryQuota {
	q := s.MemoryQuota
	if q.Keys == 0 {
		q.Keys = 1000
	}
	if q.Bytes == 0 {
		q.Bytes = 10 << 20
	}
	return q
}

// Routes are the agent endpoints.
func (s *Service) Routes() []route.Route {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	inst := func(action, summary string) route.Route {
		codes := []api.Code{api.CodeAgentNotFound, api.CodeInvalidTransition}
		if action == "reset-memory" {
			codes = codes[:1]
		}
		return route.Route{Method: post, Path: "/api/instance/:userId/" + action, Handler: s.instanceAction(action),
			Access: route.User, Summary: summary, Response: instanceActionAnswer{}, Errors: codes}
	}
	routes := []route.Route{
		{Method: post, Path: "/api/agents/provision", Handler: s.provision, Access: route.User, Within: "/api/agents/:id",
			Request: provisionRequest{Name: "Splitter", Model: "gpt-4o-mini"}, Status: http.StatusCreated,
			Response: provisionAnswer{Success: true, Agent: agentDoc{ID: "agt_01J9ZA", Name: "Splitter", Model: "gpt-4o-mini", Status: "running",
				WebsocketURL: "wss://gateway.example.com/api/agents/agt_01J9ZA/live", CreatedAt: exampleTime, UpdatedAt: exampleTime}},
			Errors:  []api.Code{api.CodeValidationError, api.CodePaymentRequired, api.CodeTierLimit},
			Summary: "`{name, model?, config?}` → 201 `{success, agent{id, name, status, websocketUrl, model, createdAt}}`; 400 → 402 (no active plan) → 429 (plan's agent limit) in that order"},
		{Method: get, Path: "/api/agents/provision", Handler: s.listProvisioned, Access: route.User, Within: "/api/agents/:id",
			Response: agentsAnswer{},
			Summary:  "`{success, agents, count}`"},
		{Method: get, Path: "/api/agents", Handler: s.list, Access: route.User,
			Response: agentsAnswer{},
			Summary:  "`{agents, count, status:\"ok\"}`, newest first"},
		{Method: get, Path: "/api/agents/:id", Handler: s.get, Access: route.User,
			Response: agentAnswer{}, Errors: []api.Code{api.CodeAgentNotFound},
			Summary: "`{agent{…, skills[{skill, version, latest}]}, status}`"},
		{Method: get, Path: "/api/agents/:id/live", Handler: s.live, Access: route.Public, Streams: true,
			Status: http.StatusSwitchingProtocols, Accepts: route.InstanceToken,
			Query:   []route.Param{{Name: "token", Doc: "the instance token, when no Authorization header can be sent"}},
			Errors:  []api.Code{api.CodeNotFound, api.CodeUpgradeRequired, api.CodeTooManyConnections, api.CodeShuttingDown},
			Summary: "WebSocket: the agent's live channel (instance token as `Authorization: Bearer`, `?token=` or subprotocol `agentbot.token.<token>`; wrong token → 401 before upgrade): run events out, `{type:\"chat\", message}` in"},
		{Method: get, Path: "/api/agents/:id/config", Handler: s.getConfig, Access: route.User,
			Response: configAnswer{}, Errors: []api.Code{api.CodeAgentNotFound},
			Summary: "`{config, model}`"},
		{Method: put, Path: "/api/agents/:id/config", Handler: s.putConfig, Access: route.User,
			Request: configRequest{}, Response: configAnswer{}, Errors: []api.Code{api.CodeAgentNotFound, api.CodeValidationError},
			Summary: "`{model?, config}` validated (model from the model table, limits in range) → `{config, model, status:\"updated\"}`"},
		{Method: get, Path: "/api/agents/:id/messages", Handler: s.messages, Access: route.User,
			Query: pageQuery, Response: pageAnswer{}, Errors: []api.Code{api.CodeAgentNotFound, api.CodeInvalidLimit, api.CodeValidationError},
			Summary: "`?limit=1..100&cursor=&topic=` → `{messages, total, limit, nextCursor, status}` (newest page first, each page oldest to newest)"},
		{Method: get, Path: "/api/agents/:id/stats", Handler: s.stats, Access: route.User,
			Response: statsAnswer{}, Errors: []api.Code{api.CodeAgentNotFound},
			Summary: "`{stats{runs, messages, toolCalls, tokens, spend, …}}` from recorded runs and usage only"},
		{Method: get, Path: "/api/instance/:userId", Handler: s.instance, Access: route.User,
			Response: instanceDoc{}, Errors: []api.Code{api.CodeAgentNotFound},
			Summary: "the agent's instance: `{userId, agentId, status, startedAt, url, plan, version}` (`:userId` is the agent id)"},
		inst("start", "stopped|error|provisioning → running; otherwise 409 with the current status"),
		inst("stop", "running → stopped; otherwise 409"),
		inst("restart", "running|stopped|error → running (counts a restart)"),
		inst("update", "moves the agent to this gateway's agent runtime version → running"),
		inst("repair", "error|running|stopped → running, clearing the error; restarts the agent's channel connectors (`channelsRestarted`)"),
		inst("reset-memory", "clears the agent's memory → `{success, message, cleared}`"),
		{Method: get, Path: "/api/instance/:userId/stats", Handler: s.instanceStats, Access: route.User,
			Response: statsDoc{}, Errors: []api.Code{api.CodeAgentNotFound},
			Summary: "`{userId, status, plan, version, restarts, uptimeSeconds, runs, messages, …, channels[{channel, state, connected, lastInboundAt, lastAliveAt, lastError, messages}]}` from recorded data"},
		{Method: get, Path: "/api/instance/:userId/token", Handler: s.token, Access: route.User,
			Response: tokenAnswer{}, Errors: []api.Code{api.CodeAgentNotFound},
			Summary: "`{token}` (64 hex), created on first use; it opens the agent's `websocketUrl`"},
		{Method: post, Path: "/api/instance/:userId/token", Handler: s.rotateToken, Access: route.User,
			Response: tokenAnswer{}, Errors: []api.Code{api.CodeAgentNotFound},
			Summary: "rotates the instance token → `{token}`; the old one stops working at once"},
		{Method: post, Path: "/api/chat", Handler: s.chat, Access: route.User, Streams: true,
			Request: chatRequest{Message: "simulate my streaming earnings", AgentID: "agt_01J9ZA"},
			Response: chatAnswer{ID: "run_01J9ZB", RunID: "run_01J9ZB", AgentID: "agt_01J9ZA", Message: "simulate my streaming earnings",
				Status: "sent", Timestamp: exampleTime, Reply: "At 200000 streams you would earn $800.",
				Outcome: loop.Outcome{Status: "ok", Reply: "At 200000 streams you would earn $800.", RoundTrips: 2, ToolCalls: 1}},
			Relays: true, Errors: []api.Code{api.CodeAgentNotFound, api.CodeAgentNotRunning, api.CodeValidationError, api.CodeBusy, api.CodePluginUnavailable,
				api.CodeRunRoundTripsExceeded, api.CodeRunDeadlineExceeded, api.CodeRunBudgetExceeded, api.CodeRunRepeatedToolCall,
				api.CodeRunModelError, api.CodeRunCancelled, api.CodeRunTranscriptError},
			Summary: "`{message, agentId?, topic?, stream?}` runs the agent (its model, its installed skills and memory as tools) → `{id, reply, status, outcome, …}`; `stream:true` → the run's events as SSE; a run that hits a limit → 422 with its code, transcript kept"},
		{Method: get, Path: "/api/chat", Handler: s.history, Access: route.User,
			Query:    append([]route.Param{{Name: "agentId", Doc: "one agent's conversation"}}, pageQuery...),
			Response: pageAnswer{}, Errors: []api.Code{api.CodeAgentNotFound, api.CodeInvalidLimit, api.CodeValidationError},
			Summary: "`?agentId=&topic=&limit=&cursor=` → `{messages, count, total, nextCursor}`"},
		{Method: get, Path: "/api/agent", Handler: s.agentGet, Access: route.User,
			Query:    []route.Param{{Name: "action", Doc: "health, sessions, session, memory, skills or credentials"}, {Name: "agentId"}, {Name: "sessionId"}},
			Response: agentGetAnswer{}, Errors: []api.Code{api.CodeAgentNotFound, api.CodeInvalidAction, api.CodeNotFound, api.CodeValidationError},
			Summary: "`?action=health|sessions|session|memory|skills|credentials&agentId=` (no action: the API's description); a session is a conversation topic"},
		{Method: post, Path: "/api/agent", Handler: s.agentPost, Access: route.User, Limit: "chat",
			Request: agentPostRequest{}, Response: agentPostAnswer{}, Relays: true,
			Errors:  []api.Code{api.CodeAgentNotFound, api.CodeAgentNotRunning, api.CodeInvalidAction, api.CodeValidationError, api.CodeSkillNotInstalled, api.CodeSkillNotFound, api.CodePluginUnavailable},
			Summary: "`{action: chat|create-session|update-skill|set-credential, …}`: chat `{message, sessionId?, agentId?}` → `{sessionId, reply, timestamp}`"},
		{Method: get, Path: "/api/memory", Handler: s.getMemory, Access: route.User,
			Query:    []route.Param{{Name: "agentId", Doc: "one agent; omitted or all: every agent"}},
			Response: memoryAnswer{}, Errors: []api.Code{api.CodeAgentNotFound},
			Summary: "`?agentId=` (omitted or `all`: every agent) → `{memory{key: value}, agentId, count, lastUpdated}`"},
		{Method: post, Path: "/api/memory", Handler: s.postMemory, Access: route.User,
			Request: memoryRequest{}, Response: memorySaved{}, Errors: []api.Code{api.CodeAgentNotFound, api.CodeValidationError, api.CodeMemoryFull},
			Summary: "`{agentId, key, memory}` or `{agentId, memory{…}}` (≤ 50 keys, each value ≤ 100 KB) → `{success, …, saved}`; nothing stored on any violation"},
		{Method: post, Path: "/api/skills", Handler: s.install, Access: route.User,
			Request: installInput{SkillID: "instant-split", AgentID: "agt_01J9ZA"}, Status: http.StatusCreated, Also: []int{http.StatusOK},
			Response: installAnswer{Success: true, SkillID: "instant-split", AgentID: "agt_01J9ZA", Version: "1.0.0", Latest: "1.0.0", Installed: true},
			Errors:   []api.Code{api.CodeAgentNotFound, api.CodeValidationError, api.CodeSkillNotFound, api.CodeSkillNotInstalled, api.CodeTierLimit},
			Summary:  "`{skillId, agentId, version?}` installs on your agent, pinned to a version (plan's skills-per-agent limit → 429); `{…, upgrade:true}` moves it to a newer version"},
		{Method: del, Path: "/api/skills", Handler: s.uninstall, Access: route.User,
			Query: []route.Param{{Name: "skillId"}, {Name: "agentId"}}, Request: installInput{},
			Response: installAnswer{}, Errors: []api.Code{api.CodeAgentNotFound, api.CodeValidationError, api.CodeSkillNotInstalled},
			Summary: "`{skillId, agentId}` (or query) uninstalls"},
	}
	routes = append(routes, s.verifyRoutes()...)
	return append(routes, s.metricsRoutes()...)
}

// principal is the caller of a User route.
func principal(r *http.Request) *auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

// agentErr maps store errors about one agent to answers.
func agentErr(err error) error {
	var nr *store.NotRunningError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return api.Errorf(http.StatusNotFound, api.CodeAgentNotFound, "Agent not found")
	case errors.As(err, &nr):
		return api.Errorf(http.StatusConflict, api.CodeAgentNotRunning, "The agent is %s; start it first", nr.Status).
			With("status", nr.Status)
	}
	return err
}

// agent loads one of the caller's agents.
func (s *Service) agent(ctx context.Context, userID, id string) (*store.Agent, error) {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/?#") {
		return nil, agentErr(store.ErrNotFound)
	}
	a, err := s.Store.Agent(ctx, userID, id)
	if err != nil {
		return nil, agentErr(err)
	}
	return a, nil
}
