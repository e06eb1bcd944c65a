package store

import (
	"context"
	"time"
)

// Session is a signed-in browser session. The token itself is never stored,
// only its SHA-256 digest.
type Session struct {
	ID     string
	UserID string
	Email  string
	Role   string
	// EmailVerified and Gen are the user's, as of the lookup.
	EmailVerified bool
	Gen           int64
	ExpiresAt     time.Time
}

// CreateSession stores a session for userID under the token's digest.
func (s *Store) CreateSession(ctx context.Context, userID string, tokenHash []byte, expires time.Time) (*Session, error) {
	sess := &Session{ID: newID("ses_"), UserID: userID, ExpiresAt: expires}
	err := s.write(ctx, userID, func(q querier) error {
		if err := q.QueryRow(ctx, `SELECT email, role, email_verified_at IS NOT NULL, credential_gen FROM users WHERE id = $1`,
			userID).Scan(&sess.Email, &sess.Role, &sess.EmailVerified, &sess.Gen); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			sess.ID, userID, tokenHash, s.now(), expires)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// SessionByHash finds an unexpired session by its token digest. ErrNotFound
// when there is none or it has expired.
func (s *Store) SessionByHash(ctx context.Context, tokenHash []byte) (*Session, error) {
	var sess Session
	err := s.b.system(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.b.lookups().session, tokenHash).Scan(&sess.ID, &sess.UserID, &sess.Email, &sess.Role, &sess.EmailVerified, &sess.Gen, &sess.ExpiresAt)
	})
	if err != nil {
		return nil, err
	}
	if !s.now().Before(sess.ExpiresAt) {
		return nil, ErrNotFound
	}
	return &sess, nil
}

// ExtendSession moves a session's expiry (sliding expiry).
func (s *Store) ExtendSession(ctx context.Context, userID, sessionID string, expires time.Time) error {
	return s.write(ctx, userID, func(q querier) error {
		_, err := q.Exec(ctx, `UPDATE sessions SET expires_at = $3 WHERE id = $2 AND user_id = $1`, userID, sessionID, expires)
		return err
	})
}

// DeleteSession ends one of the caller's sessions.
func (s *Store) DeleteSession(ctx context.Context, userID, sessionID string) error {
	return s.write(ctx, userID, func(q querier) error {
		_, err := q.Exec(ctx, `DELETE FROM sessions WHERE id = $2 AND user_id = $1`, userID, sessionID)
		return err
	})
}
