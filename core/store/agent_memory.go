package store

import (
	"context"
	"fmt"
	"time"
)

// MemoryEntry is one key of an agent's memory.
type MemoryEntry struct {
	AgentID   string
	Key       string
	Value     string
	UpdatedAt time.Time
}

// MemoryQuota bounds one agent's memory; zero fields are unlimited.
type MemoryQuota struct {
	Keys  int64
	Bytes int64 // keys and values together
}

// MemoryFullError refuses a write that would take an agent's memory over its
// quota; nothing of the write is stored.
type MemoryFullError struct {
	Keys, Bytes           int64 // after the write
	MaxKeys, MaxBytes     int64
	OverKeys, OverByBytes bool
}

func (e *MemoryFullError) Error() string {
	if e.OverKeys {
		return fmt.Sprintf("store: the agent's memory would hold %d keys (at most %d)", e.Keys, e.MaxKeys)
	}
	return fmt.Sprintf("store: the agent's memory would hold %d bytes (at most %d)", e.Bytes, e.MaxBytes)
}

// Memory returns an agent's memory ordered by key; agentID "" returns every
// agent's. An agent that is not the user's is ErrNotFound.
func (s *Store) Memory(ctx context.Context, userID, agentID string) ([]MemoryEntry, error) {
	var out []MemoryEntry
	err := s.read(ctx, userID, func(q querier) error {
		sql := `SELECT agent_id, key, value, updated_at FROM agent_memory WHERE user_id = $1`
		args := []any{userID}
		if agentID != "" {
			if err := q.QueryRow(ctx, `SELECT id FROM agents WHERE id = $1 AND user_id = $2`, agentID, userID).Scan(new(string)); err != nil {
				return err
			}
			sql += ` AND agent_id = $2`
			args = append(args, agentID)
		}
		rs, err := q.Query(ctx, sql+` ORDER BY agent_id, key`, args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (MemoryEntry, error) {
			var e MemoryEntry
			return e, r.Scan(&e.AgentID, &e.Key, &e.Value, &e.UpdatedAt)
		})
		return err
	})
	return out, err
}

// SetMemory upserts keys of an agent's memory in one transaction, within
// quota (*MemoryFullError otherwise, nothing stored). The agent's row is
// locked so concurrent writes cannot overshoot the quota together.
func (s *Store) SetMemory(ctx context.Context, userID, agentID string, values map[string]string, quota MemoryQuota) error {
	now := s.now()
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE agents SET updated_at = updated_at WHERE id = $1 AND user_id = $2`, agentID, userID)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		for k, v := range values {
			if _, err := q.Exec(ctx, `INSERT INTO agent_memory (agent_id, user_id, key, value, updated_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (agent_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				agentID, userID, k, v, now); err != nil {
				return err
			}
		}
		if quota.Keys <= 0 && quota.Bytes <= 0 {
			return nil
		}
		var keys, size int64
		if err := q.QueryRow(ctx, `SELECT count(*), CAST(COALESCE(sum(length(key) + length(value)), 0) AS BIGINT)
			FROM agent_memory WHERE agent_id = $1 AND user_id = $2`, agentID, userID).Scan(&keys, &size); err != nil {
			return err
		}
		e := &MemoryFullError{Keys: keys, Bytes: size, MaxKeys: quota.Keys, MaxBytes: quota.Bytes,
			OverKeys: quota.Keys > 0 && keys > quota.Keys, OverByBytes: quota.Bytes > 0 && size > quota.Bytes}
		if e.OverKeys || e.OverByBytes {
			return e // the transaction rolls back
		}
		return nil
	})
}

// DeleteMemoryKey removes one key; a missing key is ErrNotFound.
func (s *Store) DeleteMemoryKey(ctx context.Context, userID, agentID, key string) error {
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `DELETE FROM agent_memory WHERE agent_id = $1 AND user_id = $2 AND key = $3`, agentID, userID, key)
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
}

// ResetMemory clears an agent's memory and returns how many keys it held.
func (s *Store) ResetMemory(ctx context.Context, userID, agentID string) (int64, error) {
	var n int64
	err := s.write(ctx, userID, func(q querier) error {
		var err error
		n, err = q.Exec(ctx, `DELETE FROM agent_memory WHERE agent_id = $1 AND user_id = $2`, agentID, userID)
		return err
	})
	return n, err
}
