package agents

import (
	"encoding/json"
	"time"

	"github.com/agentbot/gateway/agents/loop"
	"github.com/agentbot/gateway/core/route"
)

// The types below document the agent routes' JSON bodies for the OpenAPI
// document (route.Route's Request and Response); the handlers build the same
// shapes as maps. Nested figures the metrics and stats routes compute are
// documented as objects.

// exampleTime is the examples' time.
var exampleTime = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// pageQuery are a transcript page's parameters.
var pageQuery = []route.Param{{Name: "limit", Doc: "1 to 100 (default 50)"}, {Name: "cursor", Doc: "an earlier page's nextCursor"},
	{Name: "topic", Doc: "one conversation topic"}}

// agentDoc is view's shape.
type agentDoc struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Model        string     `json:"model"`
	Status       string     `json:"status" enum:"provisioning,running,stopped,error"`
	WebsocketURL string     `json:"websocketUrl"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	StatusReason string     `json:"statusReason,omitempty"`
	StartedAt    *time.Time `json:"startedAt,omitempty"`
}

type provisionRequest struct {
	Name   string          `json:"name" required:"true"`
	Model  string          `json:"model,omitempty" doc:"a model of the model table; default the gateway's"`
	Config json.RawMessage `json:"config,omitempty"`
}

type provisionAnswer struct {
	Success bool     `json:"success"`
	Agent   agentDoc `json:"agent"`
}

type agentsAnswer struct {
	Success bool       `json:"success,omitempty"`
	Agents  []agentDoc `json:"agents"`
	Count   int        `json:"count"`
	Status  string     `json:"status,omitempty" enum:"ok"`
}

type installedDoc struct {
	Skill            string    `json:"skill"`
	Version          string    `json:"version"`
	Latest           string    `json:"latest"`
	UpgradeAvailable bool      `json:"upgradeAvailable"`
	InstalledAt      time.Time `json:"installedAt"`
}

type agentDetailDoc struct {
	agentDoc
	Skills   []installedDoc   `json:"skills"`
	Version  string           `json:"version"`
	Channels []map[string]any `json:"channels,omitempty" doc:"each connected channel's state (channels)"`
}

type agentAnswer struct {
	Agent  agentDetailDoc `json:"agent"`
	Status string         `json:"status" enum:"ok"`
}

type configRequest struct {
	Model  *string         `json:"model,omitempty"`
	Config json.RawMessage `json:"config"`
}

type configAnswer struct {
	Config json.RawMessage `json:"config"`
	Model  string          `json:"model"`
	Status string          `json:"status" enum:"ok,updated"`
}

// messageDoc is messageView's shape.
type messageDoc struct {
	ID         string          `json:"id"`
	AgentID    string          `json:"agentId"`
	RunID      string          `json:"runId"`
	Role       string          `json:"role" enum:"user,assistant,tool,system"`
	Sender     string          `json:"sender"`
	Content    string          `json:"content"`
	Timestamp  time.Time       `json:"timestamp"`
	Platform   string          `json:"platform"`
	Topic      string          `json:"topic,omitempty"`
	ToolCalls  json.RawMessage `json:"toolCalls,omitempty"`
	ToolCallID string          `json:"toolCallId,omitempty"`
	Name       string          `json:"name,omitempty"`
	IsError    bool            `json:"isError,omitempty"`
}

type pageAnswer struct {
	Messages   []messageDoc `json:"messages"`
	Total      int64        `json:"total"`
	Count      int          `json:"count"`
	Limit      int          `json:"limit"`
	Status     string       `json:"status" enum:"ok"`
	NextCursor string       `json:"nextCursor,omitempty"`
}

// statsDoc is statsView's shape (with the instance's fields on
// /api/instance/:userId/stats).
type statsDoc struct {
	AgentID               string           `json:"agentId"`
	Status                string           `json:"status"`
	Runs                  int64            `json:"runs"`
	RunsOK                int64            `json:"runsOk"`
	RunsFailed            int64            `json:"runsFailed"`
	RunsInProgress        int64            `json:"runsInProgress"`
	MessagesProcessed     int64            `json:"messagesProcessed"`
	ToolCalls             int64            `json:"toolCalls"`
	InputTokens           int64            `json:"inputTokens"`
	OutputTokens          int64            `json:"outputTokens"`
	SpendMicroUSD         int64            `json:"spendMicroUsd"`
	Spend                 string           `json:"spend"`
	Calls                 int64            `json:"calls"`
	Restarts              int64            `json:"restarts"`
	SuccessRate           string           `json:"successRate,omitempty" doc:"percent, with finished runs only"`
	ErrorRate             string           `json:"errorRate,omitempty"`
	AverageResponseTimeMs int64            `json:"averageResponseTimeMs,omitempty"`
	LastRunAt             *time.Time       `json:"lastRunAt,omitempty"`
	UptimeSeconds         int64            `json:"uptimeSeconds,omitempty"`
	UserID                string           `json:"userId,omitempty"`
	Plan                  string           `json:"plan,omitempty"`
	Version               string           `json:"version,omitempty"`
	Channels              []map[string]any `json:"channels,omitempty"`
}

type statsAnswer struct {
	Stats  statsDoc `json:"stats"`
	Status string   `json:"status" enum:"ok"`
}

type instanceDoc struct {
	UserID          string     `json:"userId" doc:"the agent's id"`
	AgentID         string     `json:"agentId"`
	Status          string     `json:"status"`
	StartedAt       *time.Time `json:"startedAt"`
	URL             string     `json:"url"`
	Plan            string     `json:"plan"`
	Version         string     `json:"version"`
	OpenclawVersion string     `json:"openclawVersion"`
}

// instanceActionAnswer answers start, stop, restart, update, repair and
// reset-memory.
type instanceActionAnswer struct {
	Success           bool   `json:"success"`
	Status            string `json:"status"`
	Message           string `json:"message,omitempty"`
	ChannelsRestarted int64  `json:"channelsRestarted,omitempty"`
	Version           string `json:"version,omitempty"`
	Cleared           int64  `json:"cleared,omitempty"`
}

type tokenAnswer struct {
	Token        string `json:"token" doc:"64 hex characters"`
	WebsocketURL string `json:"websocketUrl"`
	Rotated      bool   `json:"rotated,omitempty"`
}

type chatRequest struct {
	Message string `json:"message" required:"true"`
	AgentID string `json:"agentId,omitempty"`
	Topic   string `json:"topic,omitempty"`
	Stream  bool   `json:"stream,omitempty"`
}

type chatAnswer struct {
	ID        string       `json:"id"`
	RunID     string       `json:"runId"`
	AgentID   string       `json:"agentId"`
	Message   string       `json:"message"`
	Topic     string       `json:"topic"`
	Status    string       `json:"status" enum:"sent"`
	Timestamp time.Time    `json:"timestamp"`
	Reply     string       `json:"reply"`
	Outcome   loop.Outcome `json:"outcome"`
}

// agentGetAnswer is one of GET /api/agent's answers, by action.
type agentGetAnswer struct {
	APIVersion      string              `json:"apiVersion,omitempty"`
	AgentbotVersion string              `json:"agentbotVersion,omitempty"`
	Endpoints       map[string][]string `json:"endpoints,omitempty"`
	Credentials     map[string]bool     `json:"credentials,omitempty"`
	AgentID         string              `json:"agentId,omitempty"`
	Status          string              `json:"status,omitempty"`
	Sessions        []map[string]any    `json:"sessions,omitempty"`
	Session         map[string]any      `json:"session,omitempty"`
	Memory          json.RawMessage     `json:"memory,omitempty"`
	Skills          []map[string]any    `json:"skills,omitempty"`
}

type agentPostRequest struct {
	Action    string  `json:"action" enum:"chat,create-session,update-skill,set-credential" required:"true"`
	Message   string  `json:"message,omitempty"`
	SessionID string  `json:"sessionId,omitempty"`
	AgentID   string  `json:"agentId,omitempty"`
	SkillID   string  `json:"skillId,omitempty"`
	Enabled   *bool   `json:"enabled,omitempty"`
	Key       string  `json:"key,omitempty"`
	Value     *string `json:"value,omitempty"`
}

// agentPostAnswer is one of POST /api/agent's answers, by action.
type agentPostAnswer struct {
	SessionID  string     `json:"sessionId,omitempty"`
	Reply      string     `json:"reply,omitempty"`
	Timestamp  *time.Time `json:"timestamp,omitempty"`
	RunID      string     `json:"runId,omitempty"`
	Status     string     `json:"status,omitempty"`
	Success    bool       `json:"success,omitempty"`
	SkillID    string     `json:"skillId,omitempty"`
	Enabled    bool       `json:"enabled,omitempty"`
	AgentID    string     `json:"agentId,omitempty"`
	Key        string     `json:"key,omitempty"`
	Configured bool       `json:"configured,omitempty"`
}

type memoryAnswer struct {
	Memory      map[string]any `json:"memory" doc:"key → value; for agentId all, agent id → its keys"`
	AgentID     string         `json:"agentId"`
	Count       int            `json:"count"`
	LastUpdated *time.Time     `json:"lastUpdated"`
}

type memoryRequest struct {
	AgentID string          `json:"agentId" required:"true"`
	Key     *string         `json:"key,omitempty"`
	Memory  json.RawMessage `json:"memory"`
}

type memorySaved struct {
	Success     bool   `json:"success"`
	AgentID     string `json:"agentId"`
	Key         string `json:"key,omitempty"`
	KeysUpdated int    `json:"keysUpdated,omitempty"`
	Saved       bool   `json:"saved"`
}

type installAnswer struct {
	Success   bool   `json:"success"`
	SkillID   string `json:"skillId"`
	AgentID   string `json:"agentId"`
	Version   string `json:"version,omitempty"`
	Latest    string `json:"latest,omitempty"`
	Installed bool   `json:"installed,omitempty" doc:"false when it was installed already"`
	Upgraded  bool   `json:"upgraded,omitempty"`
}

type challengeAnswer struct {
	Challenge string `json:"challenge"`
	Message   string `json:"message" doc:"what the wallet signs (EIP-191)"`
	ExpiresAt string `json:"expiresAt"`
}

type verificationAnswer struct {
	Success          bool            `json:"success,omitempty"`
	Verified         bool            `json:"verified"`
	VerificationType *string         `json:"verificationType" enum:"eas,coinbase,ens,webauthn"`
	AttestationUID   *string         `json:"attestationUid"`
	VerifierAddress  *string         `json:"verifierAddress"`
	VerifiedAt       *string         `json:"verifiedAt"`
	Metadata         json.RawMessage `json:"metadata"`
}

type removedAnswer struct {
	Success bool `json:"success"`
	Removed bool `json:"removed"`
}

// The metrics views (agentsView, runsView, durationsView, usageView,
// paymentsView, performanceView, dayView) as documented types.

type agentsFigures struct {
	Total    int64            `json:"total"`
	Active   int64            `json:"active"`
	Failed   int64            `json:"failed"`
	Inactive int64            `json:"inactive"`
	ByStatus map[string]int64 `json:"byStatus"`
}

type durationsFigures struct {
	Count int64 `json:"count"`
	Mean  int64 `json:"mean"`
	P50   int64 `json:"p50"`
	P95   int64 `json:"p95"`
	Max   int64 `json:"max"`
}

type runsFigures struct {
	Total       int64             `json:"total"`
	OK          int64             `json:"ok"`
	Error       int64             `json:"error"`
	Running     int64             `json:"running"`
	DurationMs  *durationsFigures `json:"durationMs,omitempty" doc:"with finished runs only"`
	ToolCalls   int64             `json:"toolCalls,omitempty"`
	SuccessRate string            `json:"successRate,omitempty"`
	ErrorRate   string            `json:"errorRate,omitempty"`
}

type usageFigures struct {
	Calls           int64  `json:"calls"`
	Errors          int64  `json:"errors"`
	InputTokens     int64  `json:"inputTokens"`
	OutputTokens    int64  `json:"outputTokens"`
	SpendMicroUSD   int64  `json:"spendMicroUsd"`
	Spend           string `json:"spend"`
	ByPaymentMethod map[string]struct {
		Calls         int64 `json:"calls"`
		SpendMicroUSD int64 `json:"spendMicroUsd"`
	} `json:"byPaymentMethod"`
	UpstreamCostMicroUSD int64 `json:"upstreamCostMicroUsd,omitempty" doc:"operators only"`
}

type paymentsFigures struct {
	Count          int64  `json:"count"`
	AmountMicroUSD int64  `json:"amountMicroUsd"`
	Amount         string `json:"amount"`
	ByMethod       []struct {
		Protocol       string `json:"protocol"`
		Method         string `json:"method"`
		Count          int64  `json:"count"`
		AmountMicroUSD int64  `json:"amountMicroUsd"`
	} `json:"byMethod"`
}

type performanceFigures struct {
	SuccessRate         string `json:"successRate" doc:"percent"`
	ErrorRate           string `json:"errorRate" doc:"percent"`
	AverageResponseTime int64  `json:"averageResponseTime" doc:"milliseconds"`
	P50ResponseTime     int64  `json:"p50ResponseTime"`
	P95ResponseTime     int64  `json:"p95ResponseTime"`
}

type platformFigures struct {
	Days  int       `json:"days"`
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	Users struct {
		Total int64 `json:"total"`
		New   int64 `json:"new"`
	} `json:"users"`
	Agents   agentsFigures `json:"agents"`
	Runs     runsFigures   `json:"runs"`
	Messages struct {
		Today     int64            `json:"today"`
		ThisWeek  int64            `json:"thisWeek"`
		ThisMonth int64            `json:"thisMonth"`
		Total     int64            `json:"total"`
		ByRole    map[string]int64 `json:"byRole"`
	} `json:"messages"`
	ToolCalls   int64               `json:"toolCalls"`
	Usage       usageFigures        `json:"usage"`
	Payments    paymentsFigures     `json:"payments"`
	Performance *performanceFigures `json:"performance,omitempty" doc:"with finished runs only"`
}

// metricsAnswer is the platform figures.
type metricsAnswer struct {
	Metrics   platformFigures `json:"metrics"`
	Timestamp time.Time       `json:"timestamp"`
	Status    string          `json:"status" enum:"ok"`
}

// window is the span a metrics answer covers.
type window struct {
	UserID string    `json:"userId"`
	Days   int       `json:"days"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	Status string    `json:"status" enum:"ok"`
}

type summaryMetricsAnswer struct {
	window
	Summary struct {
		Agents agentsFigures `json:"agents"`
		Skills struct {
			Installed int64 `json:"installed"`
		} `json:"skills"`
		Runs      runsFigures `json:"runs"`
		Messages  int64       `json:"messages"`
		ToolCalls int64       `json:"toolCalls"`
		Tokens    struct {
			Input  int64 `json:"input"`
			Output int64 `json:"output"`
			Total  int64 `json:"total"`
		} `json:"tokens"`
		Usage    usageFigures    `json:"usage"`
		Payments paymentsFigures `json:"payments"`
	} `json:"summary"`
}

type dayFigures struct {
	Timestamp     *time.Time `json:"timestamp,omitempty"`
	Date          string     `json:"date,omitempty"`
	Runs          int64      `json:"runs"`
	Errors        int64      `json:"errors"`
	Messages      int64      `json:"messages"`
	Calls         int64      `json:"calls"`
	CallErrors    int64      `json:"callErrors"`
	InputTokens   int64      `json:"inputTokens"`
	OutputTokens  int64      `json:"outputTokens"`
	Tokens        int64      `json:"tokens"`
	SpendMicroUSD int64      `json:"spendMicroUsd"`
}

type historicalMetricsAnswer struct {
	window
	TimeRange string       `json:"timeRange"`
	Metrics   []dayFigures `json:"metrics" doc:"every day of the window, zeros included"`
	Totals    dayFigures   `json:"totals"`
	Averages  struct {
		Runs          float64 `json:"runs"`
		Errors        float64 `json:"errors"`
		Messages      float64 `json:"messages"`
		Calls         float64 `json:"calls"`
		Tokens        float64 `json:"tokens"`
		SpendMicroUSD float64 `json:"spendMicroUsd"`
	} `json:"averages" doc:"per day"`
}

type performanceMetricsAnswer struct {
	window
	Runs    runsFigures `json:"runs"`
	Latency []struct {
		Target     string           `json:"target"`
		Calls      int64            `json:"calls"`
		Errors     int64            `json:"errors"`
		DurationMs durationsFigures `json:"durationMs"`
	} `json:"latency"`
	ErrorRate    string `json:"errorRate,omitempty" doc:"percent, with finished runs only"`
	ResponseTime int64  `json:"responseTime,omitempty" doc:"milliseconds, with finished runs only"`
}
