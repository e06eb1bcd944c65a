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
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteBackend keeps two pools on one WAL database file: one connection for
// writes (SQLite has a single writer; queueing in Go beats SQLITE_BUSY retries)
// and several for reads, which WAL lets run beside the writer.
type sqliteBackend struct {
	w, r *sql.DB
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
	b := &sqliteBackend{w: w, r: r}
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

func (b *sqliteBackend) close() error { return errors.Join(b.r.Close(), b.w.Close()) }

func (b *sqliteBackend) tenant(ctx context.Context, _ string, readOnly bool, fn func(q querier) error) error {
	db := b.w
	if readOnly {
		db = b.r
	}
	return sqliteTx(ctx, db, fn)
}

func (b *sqliteBackend) system(ctx context.Context, fn func(q querier) error) error {
	return sqliteTx(ctx, b.r, fn)
}

func sqliteTx(ctx context.Context, db *sql.DB, fn func(q querier) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return sqliteErr(err)
	}
	if err := fn(sqliteQuerier{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return sqliteErr(tx.Commit())
}

var sqliteLookups = lookupSQL{
	userByEmail: `SELECT id, email, role, password_hash FROM users WHERE lower(email) = lower($1)`,
	session: `SELECT s.id, s.user_id, u.email, u.role, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`,
	apiKey: `SELECT k.id, k.user_id, u.email, u.role, k.last_used_at
		FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1`,
	passwordReset: `SELECT user_id, expires_at, used_at FROM password_resets WHERE token_hash = $1`,
}

func (b *sqliteBackend) lookups() *lookupSQL { return &sqliteLookups }

// sqliteQuerier adapts *sql.Tx: times travel as unix milliseconds, errors are
// normalised.
type sqliteQuerier struct{ tx *sql.Tx }

func (q sqliteQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.tx.ExecContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return 0, sqliteErr(err)
	}
	n, err := res.RowsAffected()
	return n, sqliteErr(err)
}

func (q sqliteQuerier) QueryRow(ctx context.Context, query string, args ...any) row {
	return sqliteRow{q.tx.QueryRowContext(ctx, query, sqliteArgs(args)...)}
}

func (q sqliteQuerier) Query(ctx context.Context, query string, args ...any) (rows, error) {
	rs, err := q.tx.QueryContext(ctx, query, sqliteArgs(args)...)
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
