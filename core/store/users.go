package store

import (
	"context"
	"encoding/json"
	"time"
)

// User is an account.
type User struct {
	ID                 string
	Email              string
	Name               string
	Role               string // "user" or "admin"
	Plan               string // "" when the user has no plan
	SubscriptionStatus string
	Notifications      json.RawMessage
	TwoFactorEnabled   bool
	// EmailVerified: the owner proved they read mail sent to Email.
	EmailVerified bool
	// PendingEmail is a new address waiting for its verification ("" if none).
	PendingEmail string
	// Gen is the credential generation; JWTs of an older one are refused.
	Gen       int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewUser is what registration stores.
type NewUser struct {
	Email        string
	Name         string
	PasswordHash string
	Role         string
}

const userColumns = `id, email, name, role, plan, subscription_status, notifications, two_factor_enabled,
	email_verified_at IS NOT NULL, COALESCE(pending_email, ''), credential_gen, created_at, updated_at`

func scanUser(r row) (*User, error) {
	var (
		u     User
		notif string
	)
	if err := r.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Plan, &u.SubscriptionStatus, &notif,
		&u.TwoFactorEnabled, &u.EmailVerified, &u.PendingEmail, &u.Gen, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return nil, err
	}
	u.Notifications = json.RawMessage(notif)
	return &u, nil
}

// CreateUser stores a new account. A second account with the same email (case
// insensitive) is ErrConflict, also under concurrent registrations.
func (s *Store) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	id := newID("usr_")
	now := s.now()
	role := nu.Role
	if role == "" {
		role = "user"
	}
	var u *User
	err := s.write(ctx, id, func(q querier) error {
		var err error
		u, err = scanUser(q.QueryRow(ctx, `INSERT INTO users (id, email, name, password_hash, role, referral_code, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING `+userColumns,
			id, nu.Email, nu.Name, nu.PasswordHash, role, newReferralCode(), now))
		return err
	})
	return u, err
}

// User returns the caller's own account.
func (s *Store) User(ctx context.Context, userID string) (*User, error) {
	var u *User
	err := s.readOne(ctx, userID, func(q querier) error {
		var err error
		u, err = scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, userID))
		return err
	})
	return u, err
}

// UserUpdate holds the profile fields to change; nil fields are kept. The
// email address changes only through verification (SetPendingEmail, VerifyEmail).
type UserUpdate struct {
	Name          *string
	Notifications json.RawMessage
}

// UpdateUser changes the caller's profile.
func (s *Store) UpdateUser(ctx context.Context, userID string, up UserUpdate) (*User, error) {
	var u *User
	err := s.write(ctx, userID, func(q querier) error {
		var notif *string
		if up.Notifications != nil {
			n := string(up.Notifications)
			notif = &n
		}
		var err error
		u, err = scanUser(q.QueryRow(ctx, `UPDATE users SET
			name = COALESCE($2, name),
			notifications = COALESCE($3, notifications),
			updated_at = $4
			WHERE id = $1 RETURNING `+userColumns,
			userID, up.Name, notif, s.now()))
		return err
	})
	return u, err
}

// Credential is what sign-in needs to know about an account.
type Credential struct {
	UserID       string
	Email        string
	Role         string
	PasswordHash string
}

// CredentialByEmail finds an account by email (case insensitive) before a
// principal exists. ErrNotFound when there is none.
func (s *Store) CredentialByEmail(ctx context.Context, email string) (*Credential, error) {
	var c Credential
	err := s.b.system(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.b.lookups().userByEmail, email).Scan(&c.UserID, &c.Email, &c.Role, &c.PasswordHash)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// PasswordHash returns the caller's stored password hash.
func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	var h string
	err := s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&h)
	})
	return h, err
}

// SetPassword replaces the caller's password hash, moves to a new credential
// generation (every JWT issued before is refused) and revokes every session but
// keepSessionID ("" revokes all).
func (s *Store) SetPassword(ctx context.Context, userID, hash, keepSessionID string) error {
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE users SET password_hash = $2, credential_gen = credential_gen + 1, updated_at = $3
			WHERE id = $1`, userID, hash, s.now())
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err = q.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, userID, keepSessionID)
		return err
	})
}

// Credits returns the caller's credit balance (the running balance, which
// always equals the sum of the ledger; see LedgerSum).
func (s *Store) Credits(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT CAST(COALESCE((SELECT balance FROM credit_balances WHERE user_id = $1), 0) AS BIGINT)`,
			userID).Scan(&n)
	})
	return n, err
}

// LedgerSum is the sum of the caller's ledger entries: the balance's truth.
func (s *Store) LedgerSum(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM credit_entries WHERE user_id = $1`, userID).Scan(&n)
	})
	return n, err
}

// SetSubscription records the caller's plan and subscription status (as
// billing learns them).
func (s *Store) SetSubscription(ctx context.Context, userID, plan, status string) error {
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE users SET plan = $2, subscription_status = $3, updated_at = $4 WHERE id = $1`,
			userID, plan, status, s.now())
		if err == nil && n == 0 {
			err = ErrNotFound
		}
		return err
	})
}
