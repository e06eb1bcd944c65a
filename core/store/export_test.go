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
