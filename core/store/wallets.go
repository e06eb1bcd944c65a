package store

import (
	"context"
	"sync/atomic"
	"time"
)

// Wallet is an Ethereum address bound to an account: signing in with
// Ethereum as that address signs in to that account.
type Wallet struct {
	Address   string // lower-case 0x hex
	ChainID   int64  // the chain of the sign-in that bound it
	CreatedAt time.Time
}

var nonceCount atomic.Int64

// CreateSIWENonce stores the digest of a sign-in nonce, usable once until
// expires. Nonces are shared by every node on the database.
func (s *Store) CreateSIWENonce(ctx context.Context, hash []byte, expires time.Time) error {
	now := s.now()
	return s.b.global(ctx, false, func(q querier) error {
		if nonceCount.Add(1)%purgeEvery == 0 {
			if _, err := q.Exec(ctx, `DELETE FROM siwe_nonces WHERE expires_at < $1`, now); err != nil {
				return err
			}
		}
		_, err := q.Exec(ctx, `INSERT INTO siwe_nonces (nonce_hash, expires_at) VALUES ($1, $2)`, hash, expires.UTC())
		return err
	})
}

// SIWENonceUsable reports whether the nonce is known, unused and unexpired,
// without using it: a cheap check before the costly ones.
func (s *Store) SIWENonceUsable(ctx context.Context, hash []byte) (bool, error) {
	var n int64
	err := s.b.global(ctx, true, func(q querier) error {
		return q.QueryRow(ctx, `SELECT COUNT(*) FROM siwe_nonces WHERE nonce_hash = $1 AND expires_at > $2`,
			hash, s.now()).Scan(&n)
	})
	return n == 1, err
}

// ConsumeSIWENonce uses the nonce: true for exactly one caller, however many
// present it at once, and only while it is unexpired.
func (s *Store) ConsumeSIWENonce(ctx context.Context, hash []byte) (bool, error) {
	var n int64
	err := s.b.global(ctx, false, func(q querier) error {
		var err error
		n, err = q.Exec(ctx, `DELETE FROM siwe_nonces WHERE nonce_hash = $1 AND expires_at > $2`, hash, s.now())
		return err
	})
	return n == 1, err
}

// UserByWallet returns the account the address (lower-case 0x hex) is bound
// to, before a principal exists. ErrNotFound when there is none.
func (s *Store) UserByWallet(ctx context.Context, address string) (string, error) {
	var id string
	err := s.b.system(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.b.lookups().wallet, address).Scan(&id)
	})
	return id, err
}

// PasswordlessUserByEmail returns the account with this address (case
// insensitive) if it has no password, before a principal exists: an account a
// wallet sign-in made before wallets were bound. ErrNotFound otherwise.
func (s *Store) PasswordlessUserByEmail(ctx context.Context, email string) (string, error) {
	var id string
	err := s.b.system(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.b.lookups().walletAccount, email).Scan(&id)
	})
	return id, err
}

// CreateWalletUser creates an account (nu, normally without a password) and
// binds address to it, in one transaction. ErrConflict when the address is
// bound already or the email is taken (say, by a concurrent sign-in).
func (s *Store) CreateWalletUser(ctx context.Context, nu NewUser, address string, chainID int64) (*User, error) {
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
		_, err = q.Exec(ctx, `INSERT INTO user_wallets (address, user_id, chain_id, created_at) VALUES ($1, $2, $3, $4)`,
			address, id, chainID, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// LinkWallet binds address to the caller's account; binding it again is a
// no-op. ErrConflict when it is bound to another account.
func (s *Store) LinkWallet(ctx context.Context, userID, address string, chainID int64) error {
	return s.write(ctx, userID, func(q querier) error {
		return bindOnce(ctx, q, `INSERT INTO user_wallets (address, user_id, created_at, chain_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (address) DO NOTHING`, `SELECT COUNT(*) FROM user_wallets WHERE address = $1 AND user_id = $2`,
			address, userID, s.now(), chainID)
	})
}

// Wallets lists the addresses bound to the caller's account, oldest first.
func (s *Store) Wallets(ctx context.Context, userID string) ([]Wallet, error) {
	var out []Wallet
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT address, chain_id, created_at FROM user_wallets WHERE user_id = $1
			ORDER BY created_at, address`, userID)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (Wallet, error) {
			var w Wallet
			err := r.Scan(&w.Address, &w.ChainID, &w.CreatedAt)
			return w, err
		})
		return err
	})
	return out, err
}

// bindOnce runs insert, which binds a unique key ($1) to a user ($2) and
// does nothing when the key is bound already (ON CONFLICT DO NOTHING). A key
// bound to this user again is a no-op; bound to another, ErrConflict. mine
// counts the key's rows of this user, from the same $1 and $2.
func bindOnce(ctx context.Context, q querier, insert, mine string, key, userID any, rest ...any) error {
	n, err := q.Exec(ctx, insert, append([]any{key, userID}, rest...)...)
	if err != nil || n == 1 {
		return err
	}
	var count int64
	if err := q.QueryRow(ctx, mine, key, userID).Scan(&count); err != nil {
		return err
	}
	if count == 0 {
		return ErrConflict
	}
	return nil
}
