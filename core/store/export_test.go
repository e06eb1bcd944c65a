package store

import (
	"context"
	"time"
)

// Now exposes the store's clock to tests.
func (s *Store) Now() time.Time { return s.now() }

// RawQueryRowForTest runs a query on the serving pool outside any tenant.
func (s *Store) RawQueryRowForTest(ctx context.Context, sql string, args ...any) row {
	var r row
	_ = s.b.system(ctx, func(q querier) error { r = q.QueryRow(ctx, sql, args...); return nil })
	return r
}

// ReadOneAPIKeys lists a user's keys through readOne.
func ReadOneAPIKeys(s *Store, ctx context.Context, userID string) ([]APIKey, error) {
	var out []APIKey
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (APIKey, error) { return scanAPIKey(r) })
		return err
	})
	return out, err
}

// ReadOneSetting is "<tenant> <read-only>" as a readOne statement sees them.
func ReadOneSetting(s *Store, ctx context.Context, userID string) string {
	var v string
	_ = s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT coalesce(current_setting('app.user_id', true), '') || ' ' || current_setting('transaction_read_only')`).Scan(&v)
	})
	return v
}

// UnscopedSetting is the same outside any tenant.
func UnscopedSetting(s *Store, ctx context.Context) string {
	var v string
	_ = s.RawQueryRowForTest(ctx, `SELECT coalesce(current_setting('app.user_id', true), '') || ' ' || current_setting('transaction_read_only')`).Scan(&v)
	return v
}

// ReadOneWrite tries a write through readOne.
func ReadOneWrite(s *Store, ctx context.Context, userID string) error {
	return s.readOne(ctx, userID, func(q querier) error {
		_, err := q.Exec(ctx, `UPDATE users SET name = 'x' WHERE id = $1`, userID)
		return err
	})
}

// ReadOneTwice makes two statements through readOne.
func ReadOneTwice(s *Store, ctx context.Context, userID string) error {
	return s.readOne(ctx, userID, func(q querier) error {
		var n int
		if err := q.QueryRow(ctx, `SELECT 1`).Scan(&n); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT 2`).Scan(&n)
	})
}
