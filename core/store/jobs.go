package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// The job queue (River, github.com/riverqueue/river) keeps its jobs in this
// database, in tables its own migrations create: they run right after ours,
// on the same connection rights (the owner on PostgreSQL), so that every node
// finds them at startup. RATIONALE.md, "Heartbeats run on River".

// migrateRiverPostgres applies River's migrations as the owner (url) and
// lets the serving role use River's tables: the queue runs on the serving
// pool, so that jobs are enqueued in the same transactions as our rows.
// River's tables hold no user data and have no row-level security.
func migrateRiverPostgres(ctx context.Context, url string, conn *pgx.Conn, log *slog.Logger) error {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("migrate River: %w", err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("migrate River: %w", err)
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("migrate River: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrate River: %w", err)
	}
	for _, v := range res.Versions {
		log.Info("applied migration", "backend", "postgres", "migration", fmt.Sprintf("river %03d_%s", v.Version, v.Name))
	}
	// Granted on every start, so that tables a River upgrade adds are covered.
	_, err = conn.Exec(ctx, `DO $$ DECLARE r record; BEGIN
		FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'river\_%' LOOP
			EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO `+AppRole+`', r.tablename);
		END LOOP;
		FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() AND sequencename LIKE 'river\_%' LOOP
			EXECUTE format('GRANT USAGE, SELECT, UPDATE ON SEQUENCE %I TO `+AppRole+`', r.sequencename);
		END LOOP;
	END $$`)
	if err != nil {
		return fmt.Errorf("migrate River: grant to %s: %w", AppRole, err)
	}
	return nil
}

// migrateRiverSQLite applies River's migrations to the SQLite file.
func migrateRiverSQLite(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	m, err := rivermigrate.New(riversqlite.New(db), &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("migrate River: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrate River: %w", err)
	}
	for _, v := range res.Versions {
		log.Info("applied migration", "backend", "sqlite", "migration", fmt.Sprintf("river %03d_%s", v.Version, v.Name))
	}
	return nil
}

// QueuedJobs counts the background jobs waiting to run (available,
// scheduled or to be retried), by queue.
func (s *Store) QueuedJobs(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.b.system(ctx, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT queue, count(*) FROM river_job
			WHERE state IN ('available', 'scheduled', 'retryable', 'pending') GROUP BY queue`)
		if err != nil {
			return err
		}
		_, err = scanAll(rs, func(r rows) (struct{}, error) {
			var name string
			var n int64
			err := r.Scan(&name, &n)
			out[name] = n
			return struct{}{}, err
		})
		return err
	})
	return out, err
}
