package store

import (
	"context"
	"time"
)

// APIKey is a key's stored metadata; the key itself is never stored, only its
// SHA-256 digest and a short display prefix.
type APIKey struct {
	ID        string
	UserID    string
	Name      string
	Prefix    string
	CreatedAt time.Time
	LastUsed  *time.Time
}

const apiKeyColumns = `id, user_id, name, key_prefix, created_at, last_used_at`

func scanAPIKey(r row) (APIKey, error) {
	var k APIKey
	err := r.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.CreatedAt, &k.LastUsed)
	return k, err
}

// CreateAPIKey stores a key for the caller.
func (s *Store) CreateAPIKey(ctx context.Context, userID, name string, keyHash []byte, prefix string) (*APIKey, error) {
	k := &APIKey{ID: newID("key_"), UserID: userID, Name: name, Prefix: prefix, CreatedAt: s.now()}
	err := s.write(ctx, userID, func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO api_keys (id, user_id, name, key_hash, key_prefix, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			k.ID, userID, name, keyHash, prefix, k.CreatedAt)
		return err
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// APIKeys lists the caller's keys, newest first.
func (s *Store) APIKeys(ctx context.Context, userID string) ([]APIKey, error) {
	var out []APIKey
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id`, userID)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (APIKey, error) { return scanAPIKey(r) })
		return err
	})
	return out, err
}

// APIKey returns one of the caller's keys; another user's key is ErrNotFound.
func (s *Store) APIKey(ctx context.Context, userID, id string) (*APIKey, error) {
	var k APIKey
	err := s.readOne(ctx, userID, func(q querier) error {
		var err error
		k, err = scanAPIKey(q.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $2 AND user_id = $1`, userID, id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// DeleteAPIKey removes one of the caller's keys; another user's key is ErrNotFound.
func (s *Store) DeleteAPIKey(ctx context.Context, userID, id string) error {
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `DELETE FROM api_keys WHERE id = $2 AND user_id = $1`, userID, id)
		if err == nil && n == 0 {
			err = ErrNotFound
		}
		return err
	})
}

// KeyOwner is who an API key authenticates.
type KeyOwner struct {
	KeyID  string
	UserID string
	Email  string
	Role   string
	// EmailVerified and Gen are the owner's, as of the lookup.
	EmailVerified bool
	Gen           int64
	LastUsed      *time.Time
}

// APIKeyByHash finds a key by its digest before a principal exists.
func (s *Store) APIKeyByHash(ctx context.Context, keyHash []byte) (*KeyOwner, error) {
	var o KeyOwner
	err := s.b.system(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.b.lookups().apiKey, keyHash).Scan(&o.KeyID, &o.UserID, &o.Email, &o.Role, &o.EmailVerified, &o.Gen, &o.LastUsed)
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// TouchAPIKey records when a key was last used.
func (s *Store) TouchAPIKey(ctx context.Context, userID, keyID string, at time.Time) error {
	return s.write(ctx, userID, func(q querier) error {
		_, err := q.Exec(ctx, `UPDATE api_keys SET last_used_at = $3 WHERE id = $2 AND user_id = $1`, userID, keyID, at)
		return err
	})
}
