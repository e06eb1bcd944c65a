package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Agent is an agent as the API describes it.
type Agent struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Model        string     `json:"model"`
	Status       string     `json:"status"`
	StatusReason string     `json:"statusReason,omitempty"`
	WebsocketURL string     `json:"websocketUrl"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	StartedAt    *time.Time `json:"startedAt,omitempty"`
	// GetAgent only.
	Version  string           `json:"version,omitempty"`
	Skills   []InstalledSkill `json:"skills,omitempty"`
	Channels json.RawMessage  `json:"channels,omitempty"`
}

// InstalledSkill is a skill installed on an agent, pinned to a version.
type InstalledSkill struct {
	Skill            string    `json:"skill"`
	Version          string    `json:"version"`
	Latest           string    `json:"latest"`
	UpgradeAvailable bool      `json:"upgradeAvailable"`
	InstalledAt      time.Time `json:"installedAt"`
}

// ProvisionRequest is POST /api/agents/provision's body.
type ProvisionRequest struct {
	Name   string         `json:"name"`
	Model  string         `json:"model,omitempty"`
	Config map[string]any `json:"config,omitempty"`
}

// ProvisionAgent creates an agent (the account needs an active plan: 402
// otherwise; 429 past the plan's agent limit).
func (c *Client) ProvisionAgent(ctx context.Context, r *ProvisionRequest) (*Agent, error) {
	var out struct {
		Agent Agent `json:"agent"`
	}
	if _, err := c.do(ctx, http.MethodPost, "/api/agents/provision", nil, r, &out); err != nil {
		return nil, err
	}
	return &out.Agent, nil
}

// GetAgent returns one of the caller's agents with its installed skills.
func (c *Client) GetAgent(ctx context.Context, id string) (*Agent, error) {
	var out struct {
		Agent Agent `json:"agent"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/api/agents/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out.Agent, nil
}

// ChatRequest is one message to an agent (AgentID empty: the caller's
// default agent).
type ChatRequest struct {
	AgentID string `json:"agentId,omitempty"`
	Message string `json:"message"`
	Topic   string `json:"topic,omitempty"`
}

// ChatReply is a finished run's answer.
type ChatReply struct {
	ID        string          `json:"id"`
	RunID     string          `json:"runId"`
	AgentID   string          `json:"agentId"`
	Message   string          `json:"message"`
	Topic     string          `json:"topic"`
	Status    string          `json:"status"`
	Reply     string          `json:"reply"`
	Timestamp time.Time       `json:"timestamp"`
	Outcome   json.RawMessage `json:"outcome"`
}

// Chat runs the agent on a message and waits for its reply. A run that hits
// a limit is a 422 *Error with the limit's code.
func (c *Client) Chat(ctx context.Context, r *ChatRequest) (*ChatReply, error) {
	var out ChatReply
	if _, err := c.do(ctx, http.MethodPost, "/api/chat", nil, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ChatStream runs the agent on a message and returns the run's events as
// they happen, named by their type, the last "run.finished".
func (c *Client) ChatStream(ctx context.Context, r *ChatRequest) (*Stream, error) {
	body := struct {
		*ChatRequest
		Stream bool `json:"stream"`
	}{r, true}
	return c.stream(ctx, "/api/chat", body)
}

// Installed is a skill's installation on an agent.
type Installed struct {
	SkillID string `json:"skillId"`
	AgentID string `json:"agentId"`
	Version string `json:"version"`
	Latest  string `json:"latest"`
	// Installed is false when the skill was already there (nothing changed).
	Installed bool `json:"installed"`
}

// InstallSkill installs a skill on one of the caller's agents, pinned to
// version ("" for the skill's current one). The plan's skills-per-agent
// limit answers 429.
func (c *Client) InstallSkill(ctx context.Context, agentID, skill, version string) (*Installed, error) {
	body := map[string]string{"agentId": agentID, "skillId": skill}
	if version != "" {
		body["version"] = version
	}
	var out Installed
	if _, err := c.do(ctx, http.MethodPost, "/api/skills", nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
