package store

import "context"

// UserByFID returns the account the Farcaster id is bound to, before a
// principal exists. ErrNotFound when there is none.
func (s *Store) UserByFID(ctx context.Context, fid int64) (string, error) {
	var id string
	err := s.b.system(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.b.lookups().farcaster, fid).Scan(&id)
	})
	return id, err
}

// CreateFarcasterUser creates an account (nu, without a password) and binds
// fid to it, in one transaction. ErrConflict when the FID is bound already or
// the email is taken (say, by a concurrent sign-in).
func (s *Store) CreateFarcasterUser(ctx context.Context, nu NewUser, fid int64) (*User, error) {
	id := newID("usr_")
	now := s.now()
	var u *User
	err := s.write(ctx, id, func(q querier) error {
		var err error
		u, err = scanUser(q.QueryRow(ctx, `INSERT INTO users (id, email, name, password_hash, role, referral_code, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'user', $5, $6, $6) RETURNING `+userColumns,
			id, nu.Email, nu.Name, nu.PasswordHash, newReferralCode(), now))
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `INSERT INTO user_farcaster (fid, user_id, created_at) VALUES ($1, $2, $3)`, fid, id, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// LinkFID binds fid to the caller's account; binding it again is a no-op.
// ErrConflict when it is bound to another account: one FID signs in to one
// account.
func (s *Store) LinkFID(ctx context.Context, userID string, fid int64) error {
	return s.write(ctx, userID, func(q querier) error {
		return bindOnce(ctx, q, `INSERT INTO user_farcaster (fid, user_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (fid) DO NOTHING`, `SELECT COUNT(*) FROM user_farcaster WHERE fid = $1 AND user_id = $2`,
			fid, userID, s.now())
	})
}

// FIDs lists the Farcaster ids bound to the caller's account, smallest first.
func (s *Store) FIDs(ctx context.Context, userID string) ([]int64, error) {
	var out []int64
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT fid FROM user_farcaster WHERE user_id = $1 ORDER BY fid`, userID)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (int64, error) {
			var fid int64
			err := r.Scan(&fid)
			return fid, err
		})
		return err
	})
	return out, err
}
