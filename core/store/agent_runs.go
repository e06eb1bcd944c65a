package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Run statuses.
const (
	RunRunning = "running"
	RunOK      = "ok"
	RunError   = "error"
)

// AgentRun is one run of an agent's loop.
type AgentRun struct {
	ID, AgentID, UserID string
	Trigger, Topic      string // chat, agent, websocket, heartbeat; the conversation's topic
	Status              string
	ErrorCode           string
	ErrorMessage        string
	RoundTrips          int
	ToolCalls           int
	InputTokens         int64
	OutputTokens        int64
	CostMicroUSD        int64
	StartedAt           time.Time
	FinishedAt          *time.Time
}

// NotRunningError refuses a run of an agent that is not running.
type NotRunningError struct{ Status string }

func (e *NotRunningError) Error() string { return fmt.Sprintf("store: the agent is %s", e.Status) }

// StartRun records the start of a run of a running agent: an agent in any
// other state is a *NotRunningError, decided in the same statement so that a
// stop cannot slip between the check and the run.
func (s *Store) StartRun(ctx context.Context, userID, agentID, trigger, topic string) (*AgentRun, error) {
	now := s.now()
	run := &AgentRun{ID: newSortableID("run_", now), AgentID: agentID, UserID: userID, Trigger: trigger, Topic: topic,
		Status: RunRunning, StartedAt: now}
	err := s.write(ctx, userID, func(q querier) error {
		var status string
		if err := q.QueryRow(ctx, `SELECT status FROM agents WHERE id = $1 AND user_id = $2`, agentID, userID).Scan(&status); err != nil {
			return err
		}
		n, err := q.Exec(ctx, `INSERT INTO agent_runs (id, agent_id, user_id, trigger, topic, status, started_at)
			SELECT $1, $2, $3, $4, $5, $6, $7 FROM agents WHERE id = $2 AND user_id = $3 AND status = $8`,
			run.ID, agentID, userID, trigger, topic, RunRunning, run.StartedAt, AgentRunning)
		if err != nil {
			return err
		}
		if n == 0 {
			return &NotRunningError{Status: status}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// FinishRun records a run's outcome and totals.
func (s *Store) FinishRun(ctx context.Context, userID string, r *AgentRun) error {
	now := s.now()
	r.FinishedAt = &now
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE agent_runs SET status = $3, error_code = $4, error_message = $5, round_trips = $6,
			tool_calls = $7, input_tokens = $8, output_tokens = $9, cost_micro_usd = $10, finished_at = $11
			WHERE id = $1 AND user_id = $2`, r.ID, userID, r.Status, r.ErrorCode, r.ErrorMessage, r.RoundTrips,
			r.ToolCalls, r.InputTokens, r.OutputTokens, r.CostMicroUSD, now)
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
}

// Runs lists an agent's runs, newest first (agentID "": all the user's).
func (s *Store) Runs(ctx context.Context, userID, agentID string, limit int) ([]AgentRun, error) {
	var out []AgentRun
	err := s.readOne(ctx, userID, func(q querier) error {
		sql := `SELECT id, agent_id, user_id, trigger, topic, status, error_code, error_message, round_trips, tool_calls,
			input_tokens, output_tokens, cost_micro_usd, started_at, finished_at FROM agent_runs WHERE user_id = $1`
		args := []any{userID}
		if agentID != "" {
			sql += ` AND agent_id = $3`
			args = append(args, limit, agentID)
		} else {
			args = append(args, limit)
		}
		rs, err := q.Query(ctx, sql+` ORDER BY started_at DESC, id DESC LIMIT $2`, args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (AgentRun, error) {
			var a AgentRun
			return a, r.Scan(&a.ID, &a.AgentID, &a.UserID, &a.Trigger, &a.Topic, &a.Status, &a.ErrorCode, &a.ErrorMessage,
				&a.RoundTrips, &a.ToolCalls, &a.InputTokens, &a.OutputTokens, &a.CostMicroUSD, &a.StartedAt, &a.FinishedAt)
		})
		return err
	})
	return out, err
}

// AgentMessage is one message of an agent's transcript.
type AgentMessage struct {
	Seq        int64
	ID         string
	AgentID    string
	RunID      string
	Role       string // user, assistant, tool
	Content    string
	ToolCalls  json.RawMessage // assistant: [{id, name, arguments}]
	ToolCallID string          // tool: the call answered
	ToolName   string
	IsError    bool
	Topic      string
	Platform   string
	CreatedAt  time.Time
}

// AppendMessages stores messages of a run in one transaction, in order: an
// assistant message and the results of all its tool calls land together or
// not at all.
func (s *Store) AppendMessages(ctx context.Context, userID string, run *AgentRun, msgs []AgentMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	now := s.now()
	return s.write(ctx, userID, func(q querier) error {
		for i := range msgs {
			m := &msgs[i]
			if m.ID == "" {
				m.ID = newID("msg_")
			}
			if m.Platform == "" {
				m.Platform = "api"
			}
			m.AgentID, m.RunID, m.Topic, m.CreatedAt = run.AgentID, run.ID, run.Topic, now
			var calls *string
			if len(m.ToolCalls) > 0 {
				c := string(m.ToolCalls)
				calls = &c
			}
			if err := q.QueryRow(ctx, `INSERT INTO agent_messages (id, agent_id, user_id, run_id, role, content, tool_calls,
				tool_call_id, tool_name, is_error, topic, platform, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq`,
				m.ID, run.AgentID, userID, run.ID, m.Role, m.Content, calls, m.ToolCallID, m.ToolName, m.IsError,
				run.Topic, m.Platform, now).Scan(&m.Seq); err != nil {
				return err
			}
		}
		return nil
	})
}

// MessagePage selects a page of a transcript: the newest Limit messages
// before the cursor Before (0: from the newest), optionally of one agent and
// one topic.
type MessagePage struct {
	AgentID string
	Topic   string
	Before  int64
	Limit   int
}

// AgentMessages returns a page of the user's transcript in chronological
// order, with the total number of messages the selection holds (all pages).
func (s *Store) AgentMessages(ctx context.Context, userID string, p MessagePage) ([]AgentMessage, int64, error) {
	var out []AgentMessage
	var total int64
	err := s.read(ctx, userID, func(q querier) error {
		where := ` WHERE user_id = $1`
		args := []any{userID}
		if p.AgentID != "" {
			args = append(args, p.AgentID)
			where += fmt.Sprintf(` AND agent_id = $%d`, len(args))
		}
		if p.Topic != "" {
			args = append(args, p.Topic)
			where += fmt.Sprintf(` AND topic = $%d`, len(args))
		}
		if err := q.QueryRow(ctx, `SELECT count(*) FROM agent_messages`+where, args...).Scan(&total); err != nil {
			return err
		}
		if p.Before > 0 {
			args = append(args, p.Before)
			where += fmt.Sprintf(` AND seq < $%d`, len(args))
		}
		args = append(args, p.Limit)
		rs, err := q.Query(ctx, `SELECT seq, id, agent_id, run_id, role, content, tool_calls, tool_call_id, tool_name,
			is_error, topic, platform, created_at FROM agent_messages`+where+fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args)), args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (AgentMessage, error) {
			var m AgentMessage
			var calls *string
			err := r.Scan(&m.Seq, &m.ID, &m.AgentID, &m.RunID, &m.Role, &m.Content, &calls, &m.ToolCallID, &m.ToolName,
				&m.IsError, &m.Topic, &m.Platform, &m.CreatedAt)
			if calls != nil {
				m.ToolCalls = json.RawMessage(*calls)
			}
			return m, err
		})
		return err
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, total, err
}

// AgentStats are an agent's figures from its recorded runs, messages and
// usage.
type AgentStats struct {
	Runs, RunsOK, RunsError, RunsRunning int64
	Messages                             int64
	ToolCalls                            int64
	InputTokens, OutputTokens            int64
	CostMicroUSD                         int64
	// AvgDuration is the mean duration of finished runs; zero when none.
	AvgDuration time.Duration
	LastRunAt   *time.Time
	// Calls and SpendMicroUSD are the usage records attributed to the agent.
	Calls, SpendMicroUSD int64
}

// AgentStats computes an agent's figures since a time (zero: all time).
func (s *Store) AgentStats(ctx context.Context, userID, agentID string, since time.Time) (*AgentStats, error) {
	var st AgentStats
	err := s.read(ctx, userID, func(q querier) error {
		if err := q.QueryRow(ctx, `SELECT id FROM agents WHERE id = $1 AND user_id = $2`, agentID, userID).Scan(new(string)); err != nil {
			return err
		}
		rs, err := q.Query(ctx, `SELECT status, tool_calls, input_tokens, output_tokens, cost_micro_usd, started_at, finished_at
			FROM agent_runs WHERE agent_id = $1 AND user_id = $2 AND started_at >= $3`, agentID, userID, since)
		if err != nil {
			return err
		}
		var total time.Duration
		var finished int64
		runs, err := scanAll(rs, func(r rows) (AgentRun, error) {
			var a AgentRun
			return a, r.Scan(&a.Status, &a.ToolCalls, &a.InputTokens, &a.OutputTokens, &a.CostMicroUSD, &a.StartedAt, &a.FinishedAt)
		})
		if err != nil {
			return err
		}
		for _, a := range runs {
			st.Runs++
			switch a.Status {
			case RunOK:
				st.RunsOK++
			case RunError:
				st.RunsError++
			default:
				st.RunsRunning++
			}
			st.ToolCalls += int64(a.ToolCalls)
			st.InputTokens += a.InputTokens
			st.OutputTokens += a.OutputTokens
			st.CostMicroUSD += a.CostMicroUSD
			if a.FinishedAt != nil {
				finished++
				total += a.FinishedAt.Sub(a.StartedAt)
			}
			if st.LastRunAt == nil || a.StartedAt.After(*st.LastRunAt) {
				t := a.StartedAt
				st.LastRunAt = &t
			}
		}
		if finished > 0 {
			st.AvgDuration = total / time.Duration(finished)
		}
		if err := q.QueryRow(ctx, `SELECT count(*) FROM agent_messages WHERE agent_id = $1 AND user_id = $2 AND created_at >= $3`,
			agentID, userID, since).Scan(&st.Messages); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT count(*), CAST(COALESCE(sum(price_micro_usd), 0) AS BIGINT) FROM usage_events
			WHERE user_id = $1 AND agent_id = $2 AND created_at >= $3`, userID, agentID, since.Truncate(time.Millisecond)).Scan(&st.Calls, &st.SpendMicroUSD)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return &st, err
}

// TopicSummary is one conversation topic of an agent's transcript.
type TopicSummary struct {
	Topic              string
	Messages           int64
	First, LastMessage time.Time
}

// Topics lists an agent's conversation topics, most recently active first
// (at most 100).
func (s *Store) Topics(ctx context.Context, userID, agentID string) ([]TopicSummary, error) {
	var out []TopicSummary
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT topic, count(*), min(created_at), max(created_at) FROM agent_messages
			WHERE user_id = $1 AND agent_id = $2 GROUP BY topic ORDER BY max(created_at) DESC, topic LIMIT 100`, userID, agentID)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (TopicSummary, error) {
			var t TopicSummary
			return t, r.Scan(&t.Topic, &t.Messages, &t.First, &t.LastMessage)
		})
		return err
	})
	return out, err
}
