package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Heartbeat outcomes: what became of one slot of an agent's schedule.
const (
	// HeartbeatRunning: the slot's job has claimed it and is working.
	HeartbeatRunning = "running"
	// HeartbeatOK: the agent answered HEARTBEAT_OK; nothing was delivered.
	HeartbeatOK = "ok"
	// HeartbeatDelivered: the agent's reply went to its live channel.
	HeartbeatDelivered = "delivered"
	// HeartbeatSkipped: the agent was not running, or over its heartbeat budget.
	HeartbeatSkipped = "skipped"
	// HeartbeatMissed: slots that passed while no scheduler ran, coalesced
	// into the run of the latest one.
	HeartbeatMissed = "missed"
	// HeartbeatError: the run failed.
	HeartbeatError = "error"
)

// Heartbeat is an agent's heartbeat schedule.
type Heartbeat struct {
	AgentID, UserID string
	Frequency       time.Duration
	Enabled         bool
	// Prompt is the message a heartbeat sends the agent; "" takes the default.
	Prompt      string
	NextRunAt   time.Time
	LastRunAt   *time.Time
	LastOutcome string // "" before the first slot
	// MissedTotal counts the slots ever coalesced away.
	MissedTotal int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// HeartbeatSettings changes a schedule; nil fields keep the current value
// (or take the default of a new schedule).
type HeartbeatSettings struct {
	Frequency *time.Duration
	Enabled   *bool
	Prompt    *string
}

// HeartbeatRun is one logged slot.
type HeartbeatRun struct {
	AgentID    string
	SlotAt     time.Time
	Outcome    string
	Missed     int64
	Message    string
	RunID      string
	StartedAt  time.Time
	FinishedAt *time.Time
}

// DueHeartbeat is one slot a sweep hands to the job queue.
type DueHeartbeat struct {
	AgentID, UserID string
	// Slot is the scheduled time this run stands for (whole seconds).
	Slot time.Time
	// Missed counts the earlier slots coalesced into this run.
	Missed int64
}

const heartbeatColumns = `agent_id, user_id, frequency_seconds, enabled, prompt, next_run_at, last_run_at, last_outcome,
	missed_total, created_at, updated_at`

func scanHeartbeat(r row) (*Heartbeat, error) {
	var h Heartbeat
	var secs int64
	if err := r.Scan(&h.AgentID, &h.UserID, &secs, &h.Enabled, &h.Prompt, &h.NextRunAt, &h.LastRunAt, &h.LastOutcome,
		&h.MissedTotal, &h.CreatedAt, &h.UpdatedAt); err != nil {
		return nil, err
	}
	h.Frequency = time.Duration(secs) * time.Second
	return &h, nil
}

// SetHeartbeat creates or changes the schedule of one of the user's agents
// (ErrNotFound when the agent is not theirs). A new schedule, a changed
// frequency and a re-enabled schedule start over: the next slot is one
// period from now, in whole seconds. def is a new schedule's frequency.
func (s *Store) SetHeartbeat(ctx context.Context, userID, agentID string, set HeartbeatSettings, def time.Duration) (*Heartbeat, error) {
	for _, f := range []*time.Duration{set.Frequency, &def} {
		if f != nil && (*f < time.Second || *f%time.Second != 0) {
			return nil, fmt.Errorf("store: heartbeat frequency %v must be whole seconds", *f)
		}
	}
	now := s.now()
	var h *Heartbeat
	err := s.write(ctx, userID, func(q querier) error {
		var one int
		if err := q.QueryRow(ctx, `SELECT 1 FROM agents WHERE id = $1 AND user_id = $2`, agentID, userID).Scan(&one); err != nil {
			return err
		}
		cur, err := scanHeartbeat(q.QueryRow(ctx, `SELECT `+heartbeatColumns+` FROM heartbeats WHERE agent_id = $1 AND user_id = $2`,
			agentID, userID))
		fresh := errors.Is(err, ErrNotFound)
		if err != nil && !fresh {
			return err
		}
		next := *cur0(cur, &Heartbeat{Frequency: def, Enabled: true})
		restart := fresh
		if set.Frequency != nil && *set.Frequency != next.Frequency {
			next.Frequency, restart = *set.Frequency, true
		}
		if set.Enabled != nil {
			restart = restart || (*set.Enabled && !next.Enabled)
			next.Enabled = *set.Enabled
		}
		if set.Prompt != nil {
			next.Prompt = *set.Prompt
		}
		if restart {
			next.NextRunAt = now.Truncate(time.Second).Add(next.Frequency)
		}
		h, err = scanHeartbeat(q.QueryRow(ctx, `INSERT INTO heartbeats (agent_id, user_id, frequency_seconds, enabled, prompt,
				next_run_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
			ON CONFLICT (agent_id) DO UPDATE SET frequency_seconds = excluded.frequency_seconds, enabled = excluded.enabled,
				prompt = excluded.prompt, next_run_at = excluded.next_run_at, updated_at = excluded.updated_at
			RETURNING `+heartbeatColumns,
			agentID, userID, int64(next.Frequency/time.Second), next.Enabled, next.Prompt, next.NextRunAt, now))
		return err
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// cur0 returns cur, or def when cur is nil.
func cur0(cur, def *Heartbeat) *Heartbeat {
	if cur != nil {
		return cur
	}
	return def
}

// Heartbeat returns the schedule of one of the user's agents; ErrNotFound
// when it has none (or is not theirs).
func (s *Store) Heartbeat(ctx context.Context, userID, agentID string) (*Heartbeat, error) {
	var h *Heartbeat
	err := s.readOne(ctx, userID, func(q querier) error {
		var err error
		h, err = scanHeartbeat(q.QueryRow(ctx, `SELECT `+heartbeatColumns+` FROM heartbeats WHERE agent_id = $1 AND user_id = $2`,
			agentID, userID))
		return err
	})
	return h, err
}

// Heartbeats lists the user's schedules, oldest first.
func (s *Store) Heartbeats(ctx context.Context, userID string) ([]Heartbeat, error) {
	var out []Heartbeat
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT `+heartbeatColumns+` FROM heartbeats WHERE user_id = $1 ORDER BY created_at, agent_id`, userID)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (Heartbeat, error) {
			h, err := scanHeartbeat(r)
			if err != nil {
				return Heartbeat{}, err
			}
			return *h, nil
		})
		return err
	})
	return out, err
}

// DeleteHeartbeat removes an agent's schedule and its log; ErrNotFound when
// there was none. A job already queued for it finds no schedule and does
// nothing.
func (s *Store) DeleteHeartbeat(ctx context.Context, userID, agentID string) error {
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `DELETE FROM heartbeats WHERE agent_id = $1 AND user_id = $2`, agentID, userID)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err = q.Exec(ctx, `DELETE FROM heartbeat_runs WHERE agent_id = $1 AND user_id = $2`, agentID, userID)
		return err
	})
}

// HeartbeatRuns lists an agent's logged slots, newest first.
func (s *Store) HeartbeatRuns(ctx context.Context, userID, agentID string, limit int) ([]HeartbeatRun, error) {
	var out []HeartbeatRun
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT agent_id, slot_at, outcome, missed, message, run_id, started_at, finished_at
			FROM heartbeat_runs WHERE agent_id = $1 AND user_id = $2 ORDER BY slot_at DESC LIMIT $3`, agentID, userID, limit)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (HeartbeatRun, error) {
			var h HeartbeatRun
			return h, r.Scan(&h.AgentID, &h.SlotAt, &h.Outcome, &h.Missed, &h.Message, &h.RunID, &h.StartedAt, &h.FinishedAt)
		})
		return err
	})
	return out, err
}

// HeartbeatClaim is what ClaimHeartbeat found.
type HeartbeatClaim struct {
	// Claimed is false when the slot was claimed before (a retried or
	// duplicated job), or the schedule is gone or disabled.
	Claimed bool
	Prompt  string
}

// ClaimHeartbeat marks one slot of an agent's schedule as running, once: the
// first job for a slot claims it, any later one (a retry after a crash, a
// duplicate) finds it taken, so the agent runs at most once per slot. A
// deleted or disabled schedule claims nothing.
func (s *Store) ClaimHeartbeat(ctx context.Context, userID, agentID string, slot time.Time) (*HeartbeatClaim, error) {
	c := &HeartbeatClaim{}
	err := s.write(ctx, userID, func(q querier) error {
		var enabled bool
		err := q.QueryRow(ctx, `SELECT enabled, prompt FROM heartbeats WHERE agent_id = $1 AND user_id = $2`, agentID, userID).
			Scan(&enabled, &c.Prompt)
		if errors.Is(err, ErrNotFound) || (err == nil && !enabled) {
			return nil
		}
		if err != nil {
			return err
		}
		n, err := q.Exec(ctx, `INSERT INTO heartbeat_runs (agent_id, user_id, slot_at, outcome, started_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, agentID, userID, slot.UTC(), HeartbeatRunning, s.now())
		c.Claimed = n == 1
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// FinishHeartbeat records a claimed slot's outcome, on the log and as the
// schedule's last outcome.
func (s *Store) FinishHeartbeat(ctx context.Context, userID, agentID string, slot time.Time, outcome, message, runID string) error {
	now := s.now()
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE heartbeat_runs SET outcome = $4, message = $5, run_id = $6, finished_at = $7
			WHERE agent_id = $1 AND user_id = $2 AND slot_at = $3`, agentID, userID, slot.UTC(), outcome, message, runID, now)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err = q.Exec(ctx, `UPDATE heartbeats SET last_run_at = $3, last_outcome = $4 WHERE agent_id = $1 AND user_id = $2`,
			agentID, userID, now, outcome)
		return err
	})
}

// HeartbeatSpend is what an agent's heartbeat runs started since then cost,
// in micro-USD.
func (s *Store) HeartbeatSpend(ctx context.Context, userID, agentID, trigger string, since time.Time) (int64, error) {
	var total int64
	err := s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT COALESCE(SUM(cost_micro_usd), 0) FROM agent_runs
			WHERE agent_id = $1 AND user_id = $2 AND trigger = $3 AND started_at >= $4`, agentID, userID, trigger, since).Scan(&total)
	})
	return total, err
}

// SweepHeartbeats claims up to limit schedules due at now, in one
// transaction with enqueue: each is advanced to its first slot after now,
// and the slots it skips over (a scheduler that was down) are logged as one
// 'missed' row and coalesced into one run of the latest due slot. enqueue
// receives that transaction (a pgx.Tx on PostgreSQL, a *sql.Tx on SQLite) to
// insert the jobs in; if it fails nothing is claimed. Concurrent sweeps
// (several nodes) claim disjoint schedules. It returns the slots enqueued.
func (s *Store) SweepHeartbeats(ctx context.Context, now time.Time, limit int,
	enqueue func(ctx context.Context, tx any, due []DueHeartbeat) error) ([]DueHeartbeat, error) {
	now = now.UTC()
	var due []DueHeartbeat
	switch b := s.b.(type) {
	case *pgBackend:
		err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
			rs, err := pgQuerier{tx}.Query(ctx, `SELECT agent_id, user_id, slot_at, missed FROM agentbot_sweep_heartbeats($1, $2)`, now, limit)
			if err != nil {
				return err
			}
			if due, err = scanAll(rs, scanDue); err != nil || len(due) == 0 {
				return err
			}
			return enqueue(ctx, tx, due)
		})
		return due, pgErr(err)
	case *sqliteBackend:
		tx, err := b.w.BeginTx(ctx, nil)
		if err != nil {
			return nil, sqliteErr(err)
		}
		defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
		if due, err = sweepSQLite(ctx, sqliteQuerier{tx: tx, stmts: &b.wStmts}, now, limit); err != nil || len(due) == 0 {
			if err == nil {
				err = tx.Commit()
			}
			return due, sqliteErr(err)
		}
		if err := enqueue(ctx, tx, due); err != nil {
			return nil, err
		}
		return due, sqliteErr(tx.Commit())
	}
	return nil, fmt.Errorf("store: no heartbeat sweep on %s", s.b.name())
}

func scanDue(r rows) (DueHeartbeat, error) {
	var d DueHeartbeat
	err := r.Scan(&d.AgentID, &d.UserID, &d.Slot, &d.Missed)
	d.Slot = d.Slot.UTC()
	return d, err
}

// sweepSQLite is agentbot_sweep_heartbeats of the PostgreSQL migration: the
// write transaction is the lock (SQLite has one writer).
func sweepSQLite(ctx context.Context, q querier, now time.Time, limit int) ([]DueHeartbeat, error) {
	rs, err := q.Query(ctx, `SELECT agent_id, user_id, next_run_at, frequency_seconds FROM heartbeats
		WHERE enabled AND next_run_at <= $1 ORDER BY next_run_at, agent_id LIMIT $2`, now, limit)
	if err != nil {
		return nil, err
	}
	type row struct {
		d    DueHeartbeat
		next time.Time
		freq time.Duration
	}
	found, err := scanAll(rs, func(r rows) (row, error) {
		var x row
		var secs int64
		err := r.Scan(&x.d.AgentID, &x.d.UserID, &x.next, &secs)
		x.freq = time.Duration(secs) * time.Second
		return x, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]DueHeartbeat, 0, len(found))
	for _, x := range found {
		k := int64(now.Sub(x.next) / x.freq)
		x.d.Slot, x.d.Missed = x.next.Add(time.Duration(k)*x.freq), k
		upd := `UPDATE heartbeats SET next_run_at = $2, missed_total = missed_total + $3 WHERE agent_id = $1`
		if k > 0 {
			upd = `UPDATE heartbeats SET next_run_at = $2, missed_total = missed_total + $3, last_outcome = 'missed' WHERE agent_id = $1`
		}
		if _, err := q.Exec(ctx, upd, x.d.AgentID, x.next.Add(time.Duration(k+1)*x.freq), k); err != nil {
			return nil, err
		}
		if k > 0 {
			if _, err := q.Exec(ctx, `INSERT INTO heartbeat_runs (agent_id, user_id, slot_at, outcome, missed, message, started_at, finished_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING`, x.d.AgentID, x.d.UserID, x.next, HeartbeatMissed, k,
				fmt.Sprintf("%d slot(s) passed while no scheduler ran; coalesced into one run", k), now); err != nil {
				return nil, err
			}
		}
		out = append(out, x.d)
	}
	return out, nil
}

// JobPools are the connections a job queue shares with the store, so that
// jobs can be enqueued in the store's own transactions (SweepHeartbeats):
// on PostgreSQL the serving pool (Postgres), on SQLite the one-connection
// writer (SQLite). The other is nil.
func (s *Store) JobPools() (postgres *pgxpool.Pool, sqlite *sql.DB) {
	switch b := s.b.(type) {
	case *pgBackend:
		return b.pool, nil
	case *sqliteBackend:
		return nil, b.w
	}
	return nil, nil
}
