package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// AppRole is the PostgreSQL role the application serves as: it owns no table,
// is not a superuser and cannot bypass row-level security. Migrations create it.
const AppRole = "agentbot_app"

type pgBackend struct {
	pool *pgxpool.Pool
}

// openPostgres opens the serving pool and checks that row-level security binds
// it. A privileged login (superuser, BYPASSRLS or table owner) is pinned to
// AppRole with SET ROLE on every connection, and the check is repeated.
func openPostgres(ctx context.Context, url string, log *slog.Logger) (*pgBackend, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	priv, err := privilegedRole(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if priv != "" {
		pool.Close()
		log.Warn("DATABASE_URL connects as a privileged role; serving as "+AppRole+" via SET ROLE. "+
			"In production, connect as a dedicated login role that is a member of "+AppRole+".",
			"reason", priv)
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, "SET ROLE "+AppRole)
			return err
		}
		if pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
		}
		if priv, err = privilegedRole(ctx, pool); err != nil || priv != "" {
			pool.Close()
			if err == nil {
				err = fmt.Errorf("serving role is still privileged after SET ROLE %s: %s", AppRole, priv)
			}
			return nil, err
		}
	}
	return &pgBackend{pool: pool}, nil
}

// privilegedRole explains why the pool's current role would escape row-level
// security, or returns "" when it would not: it is a superuser or has
// BYPASSRLS, owns a table, or is a member of a role that owns a table or is a
// superuser or has BYPASSRLS (a member inherits an owner's exemption, or can
// SET ROLE to it).
func privilegedRole(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	var (
		role, viaOwner, viaPriv string
		super, bypass           bool
		owned                   int
	)
	err := pool.QueryRow(ctx, `SELECT current_user, r.rolsuper, r.rolbypassrls,
		(SELECT count(*) FROM pg_tables t WHERE t.schemaname = 'public' AND t.tableowner = current_user),
		COALESCE((SELECT string_agg(DISTINCT t.tableowner, ', ') FROM pg_tables t
			WHERE t.schemaname = 'public' AND t.tableowner <> current_user
			AND pg_has_role(current_user, t.tableowner, 'MEMBER')), ''),
		COALESCE((SELECT string_agg(m.rolname, ', ') FROM pg_roles m
			WHERE m.rolname <> current_user AND (m.rolsuper OR m.rolbypassrls)
			AND pg_has_role(current_user, m.oid, 'MEMBER')), '')
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&role, &super, &bypass, &owned, &viaOwner, &viaPriv)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	switch {
	case super:
		return fmt.Sprintf("role %q is a superuser", role), nil
	case bypass:
		return fmt.Sprintf("role %q has BYPASSRLS", role), nil
	case owned > 0:
		return fmt.Sprintf("role %q owns %d tables", role, owned), nil
	case viaOwner != "":
		return fmt.Sprintf("role %q is a member of the table owner %s", role, viaOwner), nil
	case viaPriv != "":
		return fmt.Sprintf("role %q is a member of the privileged role %s", role, viaPriv), nil
	}
	return "", nil
}

func (b *pgBackend) name() string { return "postgres" }

func (b *pgBackend) ping(ctx context.Context) error { return b.pool.Ping(ctx) }

func (b *pgBackend) close() error { b.pool.Close(); return nil }

func (b *pgBackend) tenant(ctx context.Context, userID string, readOnly bool, fn func(q querier) error) error {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return pgErr(err)
	}
	// A connection released inside a transaction (say, ctx was cancelled before
	// ROLLBACK) is destroyed by the pool, never reused.
	defer conn.Release()
	begin := "BEGIN"
	if readOnly {
		begin = "BEGIN READ ONLY"
	}
	// BEGIN and set_config travel in one round trip. set_config with
	// is_local=true lasts until the end of this transaction, so a pooled
	// connection never carries one tenant's id into the next.
	batch := &pgx.Batch{}
	batch.Queue(begin)
	batch.Queue(`SELECT set_config('app.user_id', $1, true)`, userID)
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		return pgErr(err)
	}
	if err := fn(pgQuerier{conn}); err != nil {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	tag, err := conn.Exec(ctx, "COMMIT")
	if err != nil {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		return pgErr(err)
	}
	if tag.String() == "ROLLBACK" { // the transaction had failed
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// tenantOne sends set_config and fn's one statement as one pipelined batch:
// one round trip instead of three (BEGIN with set_config, the statement,
// COMMIT). Statements sent together before a Sync run in one implicit
// transaction, so the transaction-local settings (the tenant, read-only)
// cover the statement and end with it, as in tenant; the pooled connection
// carries nothing on. TestReadOneIsScopedAndLeavesNothing proves each part.
func (b *pgBackend) tenantOne(ctx context.Context, userID string, fn func(q querier) error) error {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return pgErr(err)
	}
	defer conn.Release()
	q := &pipeQuerier{conn: conn, userID: userID}
	err = fn(q)
	if q.br != nil {
		if cerr := q.br.Close(); err == nil {
			err = pgErr(cerr)
		}
	}
	return err
}

// errOneStatement: a tenantOne function made a second statement.
var errOneStatement = errors.New("store: a one-statement read made a second statement")

// pipeQuerier is the querier of tenantOne: its one statement travels with
// the tenant's set_config.
type pipeQuerier struct {
	conn   *pgxpool.Conn
	userID string
	br     pgx.BatchResults
}

func (q *pipeQuerier) send(ctx context.Context, sql string, args []any) error {
	if q.br != nil {
		return errOneStatement
	}
	batch := &pgx.Batch{}
	// Read-only, like tenant's BEGIN READ ONLY: a transaction may always
	// be made read-only, and this one ends with the statement.
	batch.Queue(`SELECT set_config('app.user_id', $1, true), set_config('transaction_read_only', 'on', true)`, q.userID)
	batch.Queue(sql, args...)
	q.br = q.conn.SendBatch(ctx, batch)
	_, err := q.br.Exec()
	return pgErr(err)
}

func (q *pipeQuerier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if err := q.send(ctx, sql, args); err != nil {
		return 0, err
	}
	tag, err := q.br.Exec()
	if err != nil {
		return 0, pgErr(err)
	}
	return tag.RowsAffected(), nil
}

func (q *pipeQuerier) QueryRow(ctx context.Context, sql string, args ...any) row {
	if err := q.send(ctx, sql, args); err != nil {
		return errRow{err}
	}
	return pgRow{q.br.QueryRow()}
}

func (q *pipeQuerier) Query(ctx context.Context, sql string, args ...any) (rows, error) {
	if err := q.send(ctx, sql, args); err != nil {
		return nil, err
	}
	rs, err := q.br.Query()
	if err != nil {
		return nil, pgErr(err)
	}
	return pgRows{rs}, nil
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (b *pgBackend) global(ctx context.Context, readOnly bool, fn func(q querier) error) error {
	mode := pgx.ReadWrite
	if readOnly {
		mode = pgx.ReadOnly
	}
	return pgErr(pgx.BeginTxFunc(ctx, b.pool, pgx.TxOptions{AccessMode: mode}, func(tx pgx.Tx) error {
		return fn(pgQuerier{tx})
	}))
}

func (b *pgBackend) system(ctx context.Context, fn func(q querier) error) error {
	// The lookups are single statements; no transaction is needed.
	return fn(pgQuerier{b.pool})
}

var pgLookups = lookupSQL{
	userByEmail:       `SELECT id, email, role, password_hash FROM agentbot_lookup_user_by_email($1)`,
	session:           `SELECT id, user_id, email, role, email_verified, credential_gen, expires_at FROM agentbot_lookup_session($1)`,
	apiKey:            `SELECT id, user_id, email, role, email_verified, credential_gen, last_used_at FROM agentbot_lookup_api_key($1)`,
	emailVerification: `SELECT user_id, email, expires_at, used_at FROM agentbot_lookup_email_verification($1)`,
	passwordReset:     `SELECT user_id, expires_at, used_at FROM agentbot_lookup_password_reset($1)`,
	referral:          `SELECT id FROM agentbot_lookup_referral($1)`,
	stripeCustomer:    `SELECT id FROM agentbot_lookup_stripe_customer($1)`,
	allPayments:       `SELECT ` + paymentColumns + ` FROM agentbot_list_payments($1)`,
	instanceToken:     `SELECT agent_id, user_id, status FROM agentbot_lookup_instance_token($1)`,
	wallet:            `SELECT user_id FROM agentbot_lookup_wallet($1)`,
	walletAccount:     `SELECT id FROM agentbot_lookup_wallet_account($1)`,
	farcaster:         `SELECT user_id FROM agentbot_lookup_farcaster($1)`,
}

func (b *pgBackend) lookups() *lookupSQL { return &pgLookups }

var pgMetrics = metricsSQL{
	runMs: `CAST(floor(extract(epoch FROM finished_at) * 1000) - floor(extract(epoch FROM started_at) * 1000) AS BIGINT)`,
	dayOf: `CAST(floor(extract(epoch FROM %s) / 86400) AS BIGINT)`,
	// Migration 0013_metrics: aggregates across tenants, for admins only.
	platform: `SELECT figure, dim, n, total FROM agentbot_platform_metrics($1, $2, $3, $4)`,
}

func (b *pgBackend) metrics() *metricsSQL { return &pgMetrics }

type pgConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type pgQuerier struct{ c pgConn }

func (q pgQuerier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.c.Exec(ctx, sql, args...)
	if err != nil {
		return 0, pgErr(err)
	}
	return tag.RowsAffected(), nil
}

func (q pgQuerier) QueryRow(ctx context.Context, sql string, args ...any) row {
	return pgRow{q.c.QueryRow(ctx, sql, args...)}
}

func (q pgQuerier) Query(ctx context.Context, sql string, args ...any) (rows, error) {
	rs, err := q.c.Query(ctx, sql, args...)
	if err != nil {
		return nil, pgErr(err)
	}
	return pgRows{rs}, nil
}

type pgRow struct{ r pgx.Row }

func (r pgRow) Scan(dest ...any) error { return pgErr(r.r.Scan(dest...)) }

type pgRows struct{ r pgx.Rows }

func (r pgRows) Next() bool             { return r.r.Next() }
func (r pgRows) Scan(dest ...any) error { return pgErr(r.r.Scan(dest...)) }
func (r pgRows) Err() error             { return pgErr(r.r.Err()) }
func (r pgRows) Close()                 { r.r.Close() }

func pgErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}
