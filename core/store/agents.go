package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Agent states: provisioning → running ⇄ stopped, and any → error.
const (
	AgentProvisioning = "provisioning"
	AgentRunning      = "running"
	AgentStopped      = "stopped"
	AgentError        = "error"
)

// Agent is one of a user's agents: its model, validated config and instance
// state. The instance token itself is never part of it.
type Agent struct {
	ID             string
	UserID         string
	Name           string
	Model          string
	Status         string
	StatusReason   string
	Config         json.RawMessage
	RuntimeVersion string
	Restarts       int64
	HasToken       bool
	TokenCreatedAt *time.Time
	StartedAt      *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// NewAgent is an agent to create.
type NewAgent struct {
	Name, Model    string
	Config         json.RawMessage
	RuntimeVersion string
}

// AgentLimitError refuses an agent over the owner's plan allowance.
type AgentLimitError struct{ Current, Limit int64 }

func (e *AgentLimitError) Error() string {
	return fmt.Sprintf("store: %d of %d agents in use", e.Current, e.Limit)
}

const agentColumns = `id, user_id, name, model, status, status_reason, config, runtime_version, restarts,
	token_hash IS NOT NULL, token_created_at, started_at, created_at, updated_at`

func scanAgent(r row) (*Agent, error) {
	var a Agent
	var cfg string
	err := r.Scan(&a.ID, &a.UserID, &a.Name, &a.Model, &a.Status, &a.StatusReason, &cfg, &a.RuntimeVersion,
		&a.Restarts, &a.HasToken, &a.TokenCreatedAt, &a.StartedAt, &a.CreatedAt, &a.UpdatedAt)
	if err != nil {
		return nil, err
	}
	a.Config = json.RawMessage(cfg)
	return &a, nil
}

// CreateAgent creates an agent in the provisioning state, unless the owner
// already has limit agents (limit < 0: unlimited), which is an
// *AgentLimitError. The owner's row is locked while counting, so concurrent
// provisions cannot overshoot the limit.
func (s *Store) CreateAgent(ctx context.Context, userID string, n NewAgent, limit int64) (*Agent, error) {
	var a *Agent
	err := s.write(ctx, userID, func(q querier) error {
		var err error
		a, err = s.createAgent(ctx, q, userID, n, limit, s.now())
		return err
	})
	return a, err
}

// createAgent is CreateAgent inside the caller's transaction.
func (s *Store) createAgent(ctx context.Context, q querier, userID string, n NewAgent, limit int64, now time.Time) (*Agent, error) {
	cfg := string(n.Config)
	if cfg == "" {
		cfg = "{}"
	}
	if _, err := q.Exec(ctx, `UPDATE users SET updated_at = updated_at WHERE id = $1`, userID); err != nil {
		return nil, err
	}
	if limit >= 0 {
		var count int64
		if err := q.QueryRow(ctx, `SELECT count(*) FROM agents WHERE user_id = $1`, userID).Scan(&count); err != nil {
			return nil, err
		}
		if count >= limit {
			return nil, &AgentLimitError{Current: count, Limit: limit}
		}
	}
	return scanAgent(q.QueryRow(ctx, `INSERT INTO agents (id, user_id, name, model, status, config, runtime_version,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING `+agentColumns,
		newSortableID("agt_", now), userID, n.Name, n.Model, AgentProvisioning, cfg, n.RuntimeVersion, now))
}

// CountAgents is how many agents the user has.
func (s *Store) CountAgents(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FROM agents WHERE user_id = $1`, userID).Scan(&n)
	})
	return n, err
}

// Agents lists the user's agents, newest first.
func (s *Store) Agents(ctx context.Context, userID string) ([]Agent, error) {
	var out []Agent
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT `+agentColumns+` FROM agents WHERE user_id = $1 ORDER BY created_at DESC, id DESC`, userID)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (Agent, error) {
			a, err := scanAgent(r)
			if err != nil {
				return Agent{}, err
			}
			return *a, nil
		})
		return err
	})
	return out, err
}

// Agent returns one of the user's agents; another user's is ErrNotFound.
func (s *Store) Agent(ctx context.Context, userID, agentID string) (*Agent, error) {
	var a *Agent
	err := s.readOne(ctx, userID, func(q querier) error {
		var err error
		a, err = scanAgent(q.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents WHERE id = $1 AND user_id = $2`, agentID, userID))
		return err
	})
	return a, err
}

// OwnsAgent reports whether the user owns the agent.
func (s *Store) OwnsAgent(ctx context.Context, userID, agentID string) (bool, error) {
	_, err := s.Agent(ctx, userID, agentID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// UpdateAgentConfig replaces an agent's model and config.
func (s *Store) UpdateAgentConfig(ctx context.Context, userID, agentID, model string, config json.RawMessage) (*Agent, error) {
	var a *Agent
	err := s.write(ctx, userID, func(q querier) error {
		var err error
		a, err = scanAgent(q.QueryRow(ctx, `UPDATE agents SET model = $3, config = $4, updated_at = $5
			WHERE id = $1 AND user_id = $2 RETURNING `+agentColumns, agentID, userID, model, string(config), s.now()))
		return err
	})
	return a, err
}

// Transition is a change of an agent's instance state, decided by a
// TransitionAgent callback from the current row.
type Transition struct {
	Status, Reason string
	// Start sets started_at to now; Restart counts a restart.
	Start, Restart bool
	// RuntimeVersion, when set, replaces the runtime version.
	RuntimeVersion string
}

// TransitionAgent changes an agent's state atomically: decide sees the
// current row (locked) and returns the transition or an error that aborts it.
func (s *Store) TransitionAgent(ctx context.Context, userID, agentID string, decide func(a *Agent) (Transition, error)) (*Agent, error) {
	now := s.now()
	var out *Agent
	err := s.write(ctx, userID, func(q querier) error {
		if _, err := q.Exec(ctx, `UPDATE agents SET updated_at = updated_at WHERE id = $1 AND user_id = $2`, agentID, userID); err != nil {
			return err
		}
		cur, err := scanAgent(q.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents WHERE id = $1 AND user_id = $2`, agentID, userID))
		if err != nil {
			return err
		}
		t, err := decide(cur)
		if err != nil {
			return err
		}
		version := cur.RuntimeVersion
		if t.RuntimeVersion != "" {
			version = t.RuntimeVersion
		}
		restarts := cur.Restarts
		if t.Restart {
			restarts++
		}
		started := cur.StartedAt
		if t.Start {
			started = &now
		}
		out, err = scanAgent(q.QueryRow(ctx, `UPDATE agents SET status = $3, status_reason = $4, runtime_version = $5,
			restarts = $6, started_at = $7, updated_at = $8 WHERE id = $1 AND user_id = $2 RETURNING `+agentColumns,
			agentID, userID, t.Status, t.Reason, version, restarts, started, now))
		return err
	})
	return out, err
}

// SetInstanceToken stores an agent's instance token: its digest for lookup
// and the token sealed for its owner. With onlyIfMissing, an existing token
// is kept and ErrConflict returned (two first uses at once make one token).
func (s *Store) SetInstanceToken(ctx context.Context, userID, agentID string, digest, sealed []byte, onlyIfMissing bool) error {
	return s.write(ctx, userID, func(q querier) error {
		cond := ""
		if onlyIfMissing {
			cond = " AND token_hash IS NULL"
		}
		n, err := q.Exec(ctx, `UPDATE agents SET token_hash = $3, token_sealed = $4, token_created_at = $5, updated_at = $5
			WHERE id = $1 AND user_id = $2`+cond, agentID, userID, digest, sealed, s.now())
		if err != nil {
			return err
		}
		if n == 0 {
			if onlyIfMissing {
				if _, err := scanAgent(q.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents WHERE id = $1 AND user_id = $2`, agentID, userID)); err != nil {
					return err
				}
				return ErrConflict
			}
			return ErrNotFound
		}
		return nil
	})
}

// InstanceToken returns an agent's sealed token; ErrNotFound when the agent
// has none (or is not the user's).
func (s *Store) InstanceToken(ctx context.Context, userID, agentID string) ([]byte, error) {
	var sealed []byte
	err := s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT token_sealed FROM agents WHERE id = $1 AND user_id = $2 AND token_sealed IS NOT NULL`,
			agentID, userID).Scan(&sealed)
	})
	return sealed, err
}

// InstanceTokenOwner is who an instance token opens.
type InstanceTokenOwner struct{ AgentID, UserID, Status string }

// LookupInstanceToken finds the agent whose token has this digest, before
// any principal is known.
func (s *Store) LookupInstanceToken(ctx context.Context, digest []byte) (*InstanceTokenOwner, error) {
	var o InstanceTokenOwner
	err := s.b.system(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.b.lookups().instanceToken, digest).Scan(&o.AgentID, &o.UserID, &o.Status)
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}
