package store

import (
	"context"
)

// backend is what a database engine provides to the store. Queries are written
// once, with $n placeholders, and run on both engines; the few pre-principal
// lookups differ (PostgreSQL goes through SECURITY DEFINER functions) and come
// from lookups().
type backend interface {
	name() string
	// tenant runs fn in a transaction whose rows are scoped to userID.
	tenant(ctx context.Context, userID string, readOnly bool, fn func(q querier) error) error
	// tenantOne runs fn, which makes exactly one statement, scoped to
	// userID in as few round trips as the backend allows.
	tenantOne(ctx context.Context, userID string, fn func(q querier) error) error
	// system runs fn outside any tenant, for the lookups in lookupSQL only.
	system(ctx context.Context, fn func(q querier) error) error
	// global runs fn in a transaction outside any tenant, for tables that
	// belong to no user (the skills catalogue).
	global(ctx context.Context, readOnly bool, fn func(q querier) error) error
	lookups() *lookupSQL
	metrics() *metricsSQL
	ping(ctx context.Context) error
	close() error
}

// querier is a transaction. Errors are normalised: no rows → ErrNotFound,
// unique violations → ErrConflict (wrapped).
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (rowsAffected int64, err error)
	QueryRow(ctx context.Context, sql string, args ...any) row
	Query(ctx context.Context, sql string, args ...any) (rows, error)
}

type row interface {
	Scan(dest ...any) error
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// lookupSQL holds the queries that run before a principal is known. Each takes
// one argument and returns at most one row, with the columns documented.
type lookupSQL struct {
	userByEmail string // email → id, email, role, password_hash
	session     string // token hash → id, user_id, email, role, email_verified, credential_gen, expires_at
	apiKey      string // key hash → id, user_id, email, role, email_verified, credential_gen, last_used_at
	// token hash → user_id, email, expires_at, used_at
	emailVerification string
	passwordReset     string // token hash → user_id, expires_at, used_at
	referral          string // referral code → id
	stripeCustomer    string // Stripe customer id → id
	allPayments       string // limit → payments rows (paymentColumns order), newest first
	instanceToken     string // token hash → agent id, user id, status
	wallet            string // lower-case 0x address → user_id
	walletAccount     string // email → id, of a passwordless account only
	farcaster         string // FID → user_id
}

// scanAll collects rows with scan, closing them.
func scanAll[T any](rs rows, scan func(r rows) (T, error)) ([]T, error) {
	defer rs.Close()
	var out []T
	for rs.Next() {
		v, err := scan(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rs.Err()
}
