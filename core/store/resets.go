package store

import (
	"context"
	"errors"
	"time"
)

// ErrTokenInvalid: a password reset token is unknown, used or expired.
var ErrTokenInvalid = errors.New("store: token invalid, used or expired")

// CreatePasswordReset stores a reset token digest for userID.
func (s *Store) CreatePasswordReset(ctx context.Context, userID string, tokenHash []byte, expires time.Time) error {
	return s.write(ctx, userID, func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			tokenHash, userID, s.now(), expires)
		return err
	})
}

// CheckPasswordReset tells whether a reset token is usable now (known, unused,
// unexpired) without consuming it: ErrTokenInvalid when it is not. Callers
// check before the costly password hash, so unknown tokens cost a lookup only.
func (s *Store) CheckPasswordReset(ctx context.Context, tokenHash []byte) error {
	var (
		userID  string
		expires time.Time
		usedAt  *time.Time
	)
	err := s.b.system(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.b.lookups().passwordReset, tokenHash).Scan(&userID, &expires, &usedAt)
	})
	if errors.Is(err, ErrNotFound) {
		return ErrTokenInvalid
	}
	if err != nil {
		return err
	}
	if usedAt != nil || !s.now().Before(expires) {
		return ErrTokenInvalid
	}
	return nil
}

// ResetPassword consumes a reset token and sets the password in one
// transaction: the token works once (also under concurrent use), never after
// expiry, every session of the user is revoked and every JWT refused (a new
// credential generation). It returns the user's id.
func (s *Store) ResetPassword(ctx context.Context, tokenHash []byte, passwordHash string) (string, error) {
	var (
		userID   string
		expires  time.Time
		usedAt   *time.Time
		notFound = ErrTokenInvalid
	)
	err := s.b.system(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.b.lookups().passwordReset, tokenHash).Scan(&userID, &expires, &usedAt)
	})
	if errors.Is(err, ErrNotFound) {
		return "", notFound
	}
	if err != nil {
		return "", err
	}
	now := s.now()
	if usedAt != nil || !now.Before(expires) {
		return "", ErrTokenInvalid
	}
	err = s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE password_resets SET used_at = $3
			WHERE token_hash = $2 AND user_id = $1 AND used_at IS NULL AND expires_at > $3`, userID, tokenHash, now)
		if err != nil {
			return err
		}
		if n != 1 {
			return ErrTokenInvalid
		}
		if _, err := q.Exec(ctx, `UPDATE users SET password_hash = $2, credential_gen = credential_gen + 1, updated_at = $3
			WHERE id = $1`, userID, passwordHash, now); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return "", err
	}
	return userID, nil
}
