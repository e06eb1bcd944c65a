package heartbeat

import "time"

// The types below document /api/heartbeat's JSON answers for the OpenAPI
// document (route.Route's Response); the handlers build the same shapes as
// maps (view).

// scheduleDoc is view's shape.
type scheduleDoc struct {
	AgentID       string     `json:"agentId"`
	Frequency     string     `json:"frequency" doc:"30m, 1h, 2h, 3h, 6h or 12h"`
	Enabled       bool       `json:"enabled"`
	Prompt        string     `json:"prompt"`
	NextRunAt     *time.Time `json:"nextRunAt" doc:"null while disabled"`
	LastRunAt     *time.Time `json:"lastRunAt"`
	LastOutcome   *string    `json:"lastOutcome"`
	MissedTotal   int64      `json:"missedTotal"`
	LastHeartbeat *time.Time `json:"lastHeartbeat"`
	NextHeartbeat *time.Time `json:"nextHeartbeat"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
}

type runDoc struct {
	Slot       time.Time  `json:"slot"`
	Outcome    string     `json:"outcome" enum:"ok,delivered,skipped,missed,error,running"`
	Missed     int64      `json:"missed"`
	Message    string     `json:"message"`
	RunID      *string    `json:"runId"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"`
}

// getAnswer is one agent's schedule and its last runs, or without agentId
// every schedule.
type getAnswer struct {
	Heartbeat  *scheduleDoc  `json:"heartbeat,omitempty"`
	Runs       []runDoc      `json:"runs,omitempty"`
	Heartbeats []scheduleDoc `json:"heartbeats,omitempty"`
	Count      int           `json:"count,omitempty"`
}

type setAnswer struct {
	Success       bool        `json:"success"`
	Heartbeat     scheduleDoc `json:"heartbeat"`
	AgentID       string      `json:"agentId"`
	Frequency     string      `json:"frequency"`
	Enabled       bool        `json:"enabled"`
	LastUpdated   time.Time   `json:"lastUpdated"`
	LastHeartbeat *time.Time  `json:"lastHeartbeat"`
	NextHeartbeat *time.Time  `json:"nextHeartbeat"`
	Message       string      `json:"message"`
}

type deleteAnswer struct {
	Success   bool      `json:"success"`
	AgentID   string    `json:"agentId"`
	Removed   bool      `json:"removed"`
	Message   string    `json:"message"`
	Timestamp time.Time `json:"timestamp"`
}
