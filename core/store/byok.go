package store

import "context"

// SetBYOKKey stores the caller's sealed key for an upstream provider,
// replacing any earlier one.
func (s *Store) SetBYOKKey(ctx context.Context, userID, provider string, ciphertext []byte) error {
	return s.write(ctx, userID, func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO byok_keys (user_id, provider, ciphertext, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, provider) DO UPDATE SET ciphertext = excluded.ciphertext, created_at = excluded.created_at`,
			userID, provider, ciphertext, s.now())
		return err
	})
}

// DeleteBYOKKey removes the caller's key for a provider ("" removes all).
func (s *Store) DeleteBYOKKey(ctx context.Context, userID, provider string) error {
	return s.write(ctx, userID, func(q querier) error {
		_, err := q.Exec(ctx, `DELETE FROM byok_keys WHERE user_id = $1 AND ($2 = '' OR provider = $2)`, userID, provider)
		return err
	})
}

// CallerInfo is what the gateway needs to know about a caller for one call.
type CallerInfo struct {
	User *User
	// BYOK maps provider names to sealed keys.
	BYOK map[string][]byte
}

// CallerInfo reads the caller's account and sealed BYOK keys in one transaction.
func (s *Store) CallerInfo(ctx context.Context, userID string) (*CallerInfo, error) {
	ci := &CallerInfo{BYOK: map[string][]byte{}}
	err := s.read(ctx, userID, func(q querier) error {
		var err error
		if ci.User, err = scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, userID)); err != nil {
			return err
		}
		rs, err := q.Query(ctx, `SELECT provider, ciphertext FROM byok_keys WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var p string
			var c []byte
			if err := rs.Scan(&p, &c); err != nil {
				return err
			}
			ci.BYOK[p] = c
		}
		return rs.Err()
	})
	if err != nil {
		return nil, err
	}
	return ci, nil
}
