package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteBackend keeps two pools on one WAL database file: one connection for
// writes (SQLite has a single writer; queueing in Go beats SQLITE_BUSY retries)
// and several for reads, which WAL lets run beside the writer.
type sqliteBackend struct {
	w, r *sql.DB
	// Prepared statements by SQL text, per pool. database/sql keeps each
	// prepared on the connections that used it, so a hot query is parsed once
	// per connection instead of once per call (parsing dominated small reads).
	wStmts, rStmts stmtCache
}

type stmtCache struct {
	db *sql.DB
	m  sync.Map // SQL text → *sql.Stmt, or a nil *sql.Stmt while being prepared
	wg sync.WaitGroup
}

// lookup returns the prepared statement for query, or nil the first time: it
// is then prepared in the background, because preparing on the pool from
// inside a transaction could wait forever for the pool's only connection.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if v, ok := c.m.Load(query); ok {
		return v.(*sql.Stmt)
	}
	if _, loaded := c.m.LoadOrStore(query, (*sql.Stmt)(nil)); !loaded {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			st, err := c.db.PrepareContext(context.Background(), query)
			if err != nil {
				c.m.Delete(query)
				return
			}
			c.m.Store(query, st)
		}()
	}
	return nil
}

func (c *stmtCache) close() {
	c.wg.Wait()
	c.m.Range(func(_, v any) bool {
		if st := v.(*sql.Stmt); st != nil {
			st.Close()
		}
		return true
	})
}

func openSQLite(ctx context.Context, dir string, migrate bool, log *slog.Logger) (*sqliteBackend, error) {
	if dir == "" {
		dir = "data"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %q: %w", dir, err)
	}
	path := filepath.Join(dir, "agentbot.db")
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_time_format", "sqlite")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn+"&"+url.Values{"_pragma": {"query_only(1)"}}.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	b := &sqliteBackend{w: w, r: r, wStmts: stmtCache{db: w}, rStmts: stmtCache{db: r}}
	if err := w.PingContext(ctx); err != nil {
		b.close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	if migrate {
		if err := migrateSQLite(ctx, w, log); err != nil {
			b.close()
			return nil, err
		}
	}
	return b, nil
}

func (b *sqliteBackend) name() string { return "sqlite" }

func (b *sqliteBackend) ping(ctx context.Context) error { return b.r.PingContext(ctx) }

func (b *sqliteBackend) close() error {
	b.rStmts.close()
	b.wStmts.close()
	return errors.Join(b.r.Close(), b.w.Close())
}

func (b *sqliteBackend) tenant(ctx context.Context, _ string, readOnly bool, fn func(q querier) error) error {
	if readOnly {
		return sqliteTx(ctx, b.r, &b.rStmts, fn)
	}
	return sqliteTx(ctx, b.w, &b.wStmts, fn)
}

func (b *sqliteBackend) tenantOne(ctx context.Context, userID string, fn func(q querier) error) error {
	return b.tenant(ctx, userID, true, fn)
}

func (b *sqliteBackend) global(ctx context.Context, readOnly bool, fn func(q querier) error) error {
	return b.tenant(ctx, "", readOnly, fn)
}

func (b *sqliteBackend) system(ctx context.Context, fn func(q querier) error) error {
	return sqliteTx(ctx, b.r, &b.rStmts, fn)
}

func sqliteTx(ctx context.Context, db *sql.DB, stmts *stmtCache, fn func(q querier) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return sqliteErr(err)
	}
	if err := fn(sqliteQuerier{tx: tx, stmts: stmts}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return sqliteErr(tx.Commit())
}

var sqliteLookups = lookupSQL{
	userByEmail: `SELECT id, email, role, password_hash FROM users WHERE lower(email) = lower($1)`,
	session: `SELECT s.id, s.user_id, u.email, u.role, u.email_verified_at IS NOT NULL, u.credential_gen, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`,
	apiKey: `SELECT k.id, k.user_id, u.email, u.role, u.email_verified_at IS NOT NULL, u.credential_gen, k.last_used_at
		FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1`,
	emailVerification: `SELECT user_id, email, expires_at, used_at FROM email_verifications WHERE token_hash = $1`,
	passwordReset:     `SELECT user_id, expires_at, used_at FROM password_resets WHERE token_hash = $1`,
	referral:          `SELECT id FROM users WHERE referral_code = upper($1)`,
	stripeCustomer:    `SELECT id FROM users WHERE stripe_customer_id = $1`,
	allPayments:       `SELECT ` + paymentColumns + ` FROM payments ORDER BY created_at DESC, id LIMIT $1`,
	instanceToken:     `SELECT id, user_id, status FROM agents WHERE token_hash = $1`,
	wallet:            `SELECT user_id FROM user_wallets WHERE address = $1`,
	walletAccount:     `SELECT id FROM users WHERE lower(email) = lower($1) AND password_hash = ''`,
	farcaster:         `SELECT user_id FROM user_farcaster WHERE fid = $1`,
}

func (b *sqliteBackend) lookups() *lookupSQL { return &sqliteLookups }

// Times are unix milliseconds here.
var sqliteMetrics = metricsSQL{
	runMs: `(finished_at - started_at)`,
	dayOf: `(%s / 86400000)`,
	// The body of PostgreSQL's agentbot_platform_metrics (migration
	// 0013_metrics), run directly on the tables.
	platform: `WITH d AS (
		SELECT r.finished_at - r.started_at AS ms FROM agent_runs r WHERE r.started_at >= $1 AND r.finished_at IS NOT NULL
	), ranked AS (
		SELECT d.ms, row_number() OVER (ORDER BY d.ms) AS rn, count(*) OVER () AS cnt FROM d
	)
	SELECT 'users', '', count(*), count(*) FILTER (WHERE u.created_at >= $1) FROM users u
	UNION ALL
	SELECT 'agents', a.status, count(*), 0 FROM agents a GROUP BY a.status
	UNION ALL
	SELECT 'runs', r.status, count(*), COALESCE(sum(r.tool_calls), 0) FROM agent_runs r WHERE r.started_at >= $1 GROUP BY r.status
	UNION ALL
	SELECT 'run_ms', 'p50', ranked.ms, ranked.cnt FROM ranked WHERE ranked.rn = (ranked.cnt + 1) / 2
	UNION ALL
	SELECT 'run_ms', 'p95', ranked.ms, ranked.cnt FROM ranked WHERE ranked.rn = (95 * ranked.cnt + 99) / 100
	UNION ALL
	SELECT 'run_ms', 'max', ranked.ms, ranked.cnt FROM ranked WHERE ranked.rn = ranked.cnt
	UNION ALL
	SELECT 'run_ms', 'sum', COALESCE(sum(d.ms), 0), count(*) FROM d
	UNION ALL
	SELECT 'messages', m.role, count(*), 0 FROM agent_messages m WHERE m.created_at >= $1 GROUP BY m.role
	UNION ALL
	SELECT 'messages_at', 'day', count(*), 0 FROM agent_messages m WHERE m.created_at >= $2
	UNION ALL
	SELECT 'messages_at', 'week', count(*), 0 FROM agent_messages m WHERE m.created_at >= $3
	UNION ALL
	SELECT 'messages_at', 'month', count(*), 0 FROM agent_messages m WHERE m.created_at >= $4
	UNION ALL
	SELECT 'usage', e.payment_method, count(*), COALESCE(sum(e.price_micro_usd), 0)
		FROM usage_events e WHERE e.created_at >= $1 GROUP BY e.payment_method
	UNION ALL
	SELECT 'usage_sum', 'tokens', COALESCE(sum(e.input_tokens), 0), COALESCE(sum(e.output_tokens), 0)
		FROM usage_events e WHERE e.created_at >= $1
	UNION ALL
	SELECT 'usage_sum', 'cost', count(*) FILTER (WHERE e.status >= 400), COALESCE(sum(e.upstream_micro_usd), 0)
		FROM usage_events e WHERE e.created_at >= $1
	UNION ALL
	SELECT 'payments', p.protocol || ':' || p.method, count(*), COALESCE(sum(p.amount_micro_usd), 0)
		FROM payments p WHERE p.created_at >= $1 GROUP BY p.protocol, p.method`,
}

func (b *sqliteBackend) metrics() *metricsSQL { return &sqliteMetrics }

// sqliteQuerier adapts *sql.Tx: times travel as unix milliseconds, errors are
// normalised.
type sqliteQuerier struct {
	tx    *sql.Tx
	stmts *stmtCache
}

// on returns the transaction's view of query's prepared statement, or nil
// when it is not prepared yet (the caller then runs the SQL text directly).
func (q sqliteQuerier) on(ctx context.Context, query string) *sql.Stmt {
	if st := q.stmts.lookup(query); st != nil {
		return q.tx.StmtContext(ctx, st)
	}
	return nil
}

func (q sqliteQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var (
		res sql.Result
		err error
	)
	if st := q.on(ctx, query); st != nil {
		res, err = st.ExecContext(ctx, sqliteArgs(args)...)
	} else {
		res, err = q.tx.ExecContext(ctx, query, sqliteArgs(args)...)
	}
	if err != nil {
		return 0, sqliteErr(err)
	}
	n, err := res.RowsAffected()
	return n, sqliteErr(err)
}

func (q sqliteQuerier) QueryRow(ctx context.Context, query string, args ...any) row {
	if st := q.on(ctx, query); st != nil {
		return sqliteRow{st.QueryRowContext(ctx, sqliteArgs(args)...)}
	}
	return sqliteRow{q.tx.QueryRowContext(ctx, query, sqliteArgs(args)...)}
}

func (q sqliteQuerier) Query(ctx context.Context, query string, args ...any) (rows, error) {
	var (
		rs  *sql.Rows
		err error
	)
	if st := q.on(ctx, query); st != nil {
		rs, err = st.QueryContext(ctx, sqliteArgs(args)...)
	} else {
		rs, err = q.tx.QueryContext(ctx, query, sqliteArgs(args)...)
	}
	if err != nil {
		return nil, sqliteErr(err)
	}
	return sqliteRows{rs}, nil
}

type sqliteRow struct{ r *sql.Row }

func (r sqliteRow) Scan(dest ...any) error {
	d, fix := sqliteDests(dest)
	if err := r.r.Scan(d...); err != nil {
		return sqliteErr(err)
	}
	fix()
	return nil
}

type sqliteRows struct{ r *sql.Rows }

func (r sqliteRows) Next() bool { return r.r.Next() }
func (r sqliteRows) Err() error { return sqliteErr(r.r.Err()) }
func (r sqliteRows) Close()     { _ = r.r.Close() }
func (r sqliteRows) Scan(dest ...any) error {
	d, fix := sqliteDests(dest)
	if err := r.r.Scan(d...); err != nil {
		return sqliteErr(err)
	}
	fix()
	return nil
}

func sqliteArgs(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = v.UnixMilli()
		case *time.Time:
			if v == nil {
				args[i] = nil
			} else {
				args[i] = v.UnixMilli()
			}
		}
	}
	return args
}

// sqliteDests swaps *time.Time and **time.Time destinations for integer ones and
// returns a func that converts them back after Scan.
func sqliteDests(dest []any) ([]any, func()) {
	var fixes []func()
	out := dest
	for i, d := range dest {
		switch p := d.(type) {
		case *time.Time:
			if fixes == nil {
				out = append([]any(nil), dest...)
			}
			var ms int64
			out[i] = &ms
			fixes = append(fixes, func() { *p = time.UnixMilli(ms).UTC() })
		case **time.Time:
			if fixes == nil {
				out = append([]any(nil), dest...)
			}
			var ms sql.NullInt64
			out[i] = &ms
			fixes = append(fixes, func() {
				if ms.Valid {
					t := time.UnixMilli(ms.Int64).UTC()
					*p = &t
				} else {
					*p = nil
				}
			})
		}
	}
	return out, func() {
		for _, f := range fixes {
			f()
		}
	}
}

func sqliteErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
	}
	return err
}
