// Package store owns persistence and per-user isolation. It speaks to SQLite
// (modernc.org/sqlite, the embedded default) or PostgreSQL (jackc/pgx/v5) behind
// one API. Every read or write of a user-owned row runs in a tenant transaction
// opened here: on PostgreSQL it sets app.user_id so that row-level security
// applies, on SQLite the queries carry the same user_id predicate. A missing
// principal is an error, never a bypass.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Errors callers map to HTTP statuses.
var (
	// ErrNotFound: the row does not exist or belongs to another user; the two are
	// indistinguishable by design.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a uniqueness rule was violated.
	ErrConflict = errors.New("store: conflict")
	// ErrNoPrincipal: a tenant-scoped operation was called without a user id.
	ErrNoPrincipal = errors.New("store: no principal for a tenant-scoped operation")
)

// Config selects and tunes the backend.
type Config struct {
	// DatabaseURL selects PostgreSQL when set (postgres:// or postgresql://).
	DatabaseURL string
	// MigrateURL is the owner connection used for migrations; DatabaseURL when empty.
	MigrateURL string
	// DataDir holds the SQLite file when DatabaseURL is empty.
	DataDir string
	// Migrate applies pending migrations at open.
	Migrate bool
	Log     *slog.Logger
	// Now is the clock; time.Now when nil. Tests move it.
	Now func() time.Time
}

// Store is the application's persistence. Safe for concurrent use.
type Store struct {
	b   backend
	log *slog.Logger
	now func() time.Time
}

// Open connects to the configured backend and, if cfg.Migrate, applies pending
// migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	var (
		b   backend
		err error
	)
	if cfg.DatabaseURL != "" {
		if !strings.HasPrefix(cfg.DatabaseURL, "postgres://") && !strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
			return nil, fmt.Errorf("DATABASE_URL must start with postgres:// or postgresql://")
		}
		if cfg.Migrate {
			mu := cfg.MigrateURL
			if mu == "" {
				mu = cfg.DatabaseURL
			}
			if err := migratePostgres(ctx, mu, log); err != nil {
				return nil, err
			}
		}
		b, err = openPostgres(ctx, cfg.DatabaseURL, log)
	} else {
		b, err = openSQLite(ctx, cfg.DataDir, cfg.Migrate, log)
	}
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Store{b: b, log: log, now: func() time.Time { return now().UTC() }}, nil
}

// Backend names the backend in use: "postgres" or "sqlite".
func (s *Store) Backend() string { return s.b.name() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.b.ping(ctx) }

// Close releases the connections.
func (s *Store) Close() error { return s.b.close() }

// read runs fn in a read-only transaction scoped to userID.
func (s *Store) read(ctx context.Context, userID string, fn func(q querier) error) error {
	if userID == "" {
		return ErrNoPrincipal
	}
	return s.b.tenant(ctx, userID, true, fn)
}

// readOne runs fn, a read of exactly one statement, scoped to userID: on
// PostgreSQL in one round trip (see pgBackend.tenantOne); a second
// statement is an error.
func (s *Store) readOne(ctx context.Context, userID string, fn func(q querier) error) error {
	if userID == "" {
		return ErrNoPrincipal
	}
	return s.b.tenantOne(ctx, userID, fn)
}

// write runs fn in a read-write transaction scoped to userID.
func (s *Store) write(ctx context.Context, userID string, fn func(q querier) error) error {
	if userID == "" {
		return ErrNoPrincipal
	}
	return s.b.tenant(ctx, userID, false, fn)
}
