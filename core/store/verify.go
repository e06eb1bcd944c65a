package store

import (
	"context"
	"errors"
	"time"
)

// AuthState is what authentication re-derives about a user instead of trusting
// a token's claims: the current address, whether it is verified, the stored
// role and the credential generation.
type AuthState struct {
	Email         string
	Role          string
	EmailVerified bool
	Gen           int64
}

// AuthState returns the caller's authentication state. ErrNotFound when the
// user no longer exists.
func (s *Store) AuthState(ctx context.Context, userID string) (*AuthState, error) {
	var st AuthState
	err := s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT email, role, email_verified_at IS NOT NULL, credential_gen FROM users WHERE id = $1`,
			userID).Scan(&st.Email, &st.Role, &st.EmailVerified, &st.Gen)
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// SignOutEverywhere moves the caller to a new credential generation (every JWT
// issued before is refused) and ends all of their sessions. API keys stay.
func (s *Store) SignOutEverywhere(ctx context.Context, userID string) error {
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE users SET credential_gen = credential_gen + 1, updated_at = $2 WHERE id = $1`, userID, s.now())
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err = q.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		return err
	})
}

// CreateEmailVerification stores the digest of a token that proves, until
// expires, that its holder reads mail sent to email.
func (s *Store) CreateEmailVerification(ctx context.Context, userID, email string, tokenHash []byte, expires time.Time) error {
	return s.write(ctx, userID, func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO email_verifications (token_hash, user_id, email, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, tokenHash, userID, email, s.now(), expires)
		return err
	})
}

// SetPendingEmail records the address the caller wants to move to; it takes
// effect only when verified (VerifyEmail). Asking for the current address
// cancels a pending change.
func (s *Store) SetPendingEmail(ctx context.Context, userID, email string) (*User, error) {
	var u *User
	err := s.write(ctx, userID, func(q querier) error {
		var err error
		u, err = scanUser(q.QueryRow(ctx, `UPDATE users SET
			pending_email = CASE WHEN lower(email) = lower($2) THEN NULL ELSE $2 END, updated_at = $3
			WHERE id = $1 RETURNING `+userColumns, userID, email, s.now()))
		return err
	})
	return u, err
}

// Verified is the outcome of a verification.
type Verified struct {
	UserID string
	Email  string
	// Changed: the token confirmed a pending change of address, which is now
	// the account's address (and the credential generation moved on).
	Changed bool
}

// VerifyEmail consumes a verification token. The token's address becomes
// verified if it is the account's address, or becomes the account's (verified)
// address if it is the pending one. A token that is unknown, used, expired or
// sent to an address the account no longer has or wants is ErrTokenInvalid; a
// pending address another account took meanwhile is ErrConflict (and the
// token stays usable).
func (s *Store) VerifyEmail(ctx context.Context, tokenHash []byte) (*Verified, error) {
	var (
		v       Verified
		expires time.Time
		usedAt  *time.Time
	)
	err := s.b.system(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.b.lookups().emailVerification, tokenHash).Scan(&v.UserID, &v.Email, &expires, &usedAt)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if usedAt != nil || !now.Before(expires) {
		return nil, ErrTokenInvalid
	}
	err = s.write(ctx, v.UserID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE email_verifications SET used_at = $3
			WHERE token_hash = $2 AND user_id = $1 AND used_at IS NULL AND expires_at > $3`, v.UserID, tokenHash, now)
		if err != nil {
			return err
		}
		if n != 1 {
			return ErrTokenInvalid
		}
		var current, pending string
		if err := q.QueryRow(ctx, `SELECT email, COALESCE(pending_email, '') FROM users WHERE id = $1`, v.UserID).
			Scan(&current, &pending); err != nil {
			return err
		}
		switch v.Email {
		case current:
			_, err = q.Exec(ctx, `UPDATE users SET email_verified_at = COALESCE(email_verified_at, $2), updated_at = $2
				WHERE id = $1`, v.UserID, now)
			return err
		case pending:
			v.Changed = true
			_, err = q.Exec(ctx, `UPDATE users SET email = pending_email, pending_email = NULL, email_verified_at = $2,
				credential_gen = credential_gen + 1, updated_at = $2 WHERE id = $1`, v.UserID, now)
			return err
		}
		return ErrTokenInvalid
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}
