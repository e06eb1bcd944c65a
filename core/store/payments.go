package store

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"
)

// MachinePayment is one accepted machine payment (MPP or x402) and its receipt.
type MachinePayment struct {
	ID string
	// UserID is the paying account, "" for an anonymous payer.
	UserID   string
	Protocol string // "mpp" or "x402"
	Method   string // "evm"
	Payer    string // 0x address
	Network  string // CAIP-2, e.g. eip155:84532
	Asset    string // token address
	// Amount is in the asset's base units; AmountMicroUSD the call's price.
	Amount         string
	AmountMicroUSD int64
	Target         string
	ChallengeID    string
	// ClaimKey is the single-use key of the authorization that paid.
	ClaimKey  string
	Reference string // settlement reference (transaction hash)
	Receipt   string // the receipt header value sent to the payer
	CreatedAt time.Time
}

const paymentColumns = `id, COALESCE(user_id, ''), protocol, method, payer, network, asset, amount, amount_micro_usd,
	target, challenge_id, claim_key, reference, receipt, created_at`

// purgeEvery is how many claims pass between sweeps of expired claims and replays.
const purgeEvery = 256

var claimCount atomic.Int64

// ClaimPayment records key (a payment authorization) as used until expires.
// It reports false when the key is already claimed: a replay. Claims are
// shared by every node on the database.
func (s *Store) ClaimPayment(ctx context.Context, key string, expires time.Time) (bool, error) {
	now := s.now()
	if claimCount.Add(1)%purgeEvery == 0 {
		s.purgePayments(ctx, now)
	}
	err := s.b.global(ctx, false, func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO payment_claims (key, expires_at) VALUES ($1, $2)`, key, expires.UTC())
		return err
	})
	if errors.Is(err, ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// ReleasePayment forgets a claim whose payment was never settled, so that the
// same authorization may be presented again.
func (s *Store) ReleasePayment(ctx context.Context, key string) error {
	return s.b.global(ctx, false, func(q querier) error {
		_, err := q.Exec(ctx, `DELETE FROM payment_claims WHERE key = $1`, key)
		return err
	})
}

// purgePayments drops claims whose authorizations can no longer be used and
// kept answers past their lifetime.
func (s *Store) purgePayments(ctx context.Context, now time.Time) {
	err := s.b.global(ctx, false, func(q querier) error {
		if _, err := q.Exec(ctx, `DELETE FROM payment_claims WHERE expires_at < $1`, now); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM payment_replays WHERE expires_at < $1`, now)
		return err
	})
	if err != nil {
		s.log.Warn("purge expired payment claims", "err", err)
	}
}

// RecordPayment stores an accepted payment: in the payer's tenant when they
// have an account, otherwise outside any tenant.
func (s *Store) RecordPayment(ctx context.Context, p *MachinePayment) error {
	if p.ID == "" {
		p.ID = newID("pay_")
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now()
	}
	ins := func(q querier) error {
		var uid any
		if p.UserID != "" {
			uid = p.UserID
		}
		_, err := q.Exec(ctx, `INSERT INTO payments (id, user_id, protocol, method, payer, network, asset, amount,
			amount_micro_usd, target, challenge_id, claim_key, reference, receipt, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			p.ID, uid, p.Protocol, p.Method, p.Payer, p.Network, p.Asset, p.Amount, p.AmountMicroUSD,
			p.Target, p.ChallengeID, p.ClaimKey, p.Reference, p.Receipt, p.CreatedAt)
		return err
	}
	if p.UserID != "" {
		return s.write(ctx, p.UserID, ins)
	}
	return s.b.global(ctx, false, ins)
}

// Payments lists the caller's machine payments, newest first.
func (s *Store) Payments(ctx context.Context, userID string, limit int) ([]MachinePayment, error) {
	var out []MachinePayment
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT `+paymentColumns+` FROM payments WHERE user_id = $1
			ORDER BY created_at DESC, id LIMIT $2`, userID, pageSize(limit))
		if err != nil {
			return err
		}
		out, err = scanAll(rs, scanPayment)
		return err
	})
	return out, err
}

// AllPayments lists every machine payment, anonymous ones included, newest
// first: the operators' view. Callers must check the principal is an admin.
func (s *Store) AllPayments(ctx context.Context, limit int) ([]MachinePayment, error) {
	var out []MachinePayment
	err := s.b.system(ctx, func(q querier) error {
		rs, err := q.Query(ctx, s.b.lookups().allPayments, pageSize(limit))
		if err != nil {
			return err
		}
		out, err = scanAll(rs, scanPayment)
		return err
	})
	return out, err
}

func pageSize(limit int) int {
	if limit <= 0 || limit > 500 {
		return 100
	}
	return limit
}

func scanPayment(r rows) (MachinePayment, error) {
	var p MachinePayment
	err := r.Scan(&p.ID, &p.UserID, &p.Protocol, &p.Method, &p.Payer, &p.Network, &p.Asset, &p.Amount,
		&p.AmountMicroUSD, &p.Target, &p.ChallengeID, &p.ClaimKey, &p.Reference, &p.Receipt, &p.CreatedAt)
	return p, err
}

// Replay is an answer kept for an Idempotency-Key.
type Replay struct {
	Status int
	Header string // JSON object of the response headers worth replaying
	Body   []byte
}

// Replay outcomes of BeginReplay.
var (
	// ErrReplayInProgress: the first request with this key has not finished.
	ErrReplayInProgress = errors.New("store: idempotent request in progress")
	// ErrReplayMismatch: the key was used for a different request.
	ErrReplayMismatch = errors.New("store: idempotency key reused for another request")
)

// BeginReplay starts an idempotent request under key. It returns the kept
// answer when the same request already completed (nil when this request is
// the first and must run, then Finish or Abandon the key).
func (s *Store) BeginReplay(ctx context.Context, key string, requestHash []byte, ttl time.Duration) (*Replay, error) {
	now := s.now()
	err := s.b.global(ctx, false, func(q querier) error {
		// A key past its lifetime may be reused.
		if _, err := q.Exec(ctx, `DELETE FROM payment_replays WHERE key = $1 AND expires_at < $2`, key, now); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO payment_replays (key, request_hash, status, header, body, expires_at)
			VALUES ($1, $2, 0, '', $3, $4)`, key, requestHash, []byte{}, now.Add(ttl))
		return err
	})
	if !errors.Is(err, ErrConflict) {
		return nil, err
	}
	var r Replay
	var hash []byte
	err = s.b.global(ctx, true, func(q querier) error {
		return q.QueryRow(ctx, `SELECT request_hash, status, header, body FROM payment_replays WHERE key = $1`, key).
			Scan(&hash, &r.Status, &r.Header, &r.Body)
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrReplayInProgress // abandoned in between; the client retries
	case err != nil:
		return nil, err
	case !bytes.Equal(hash, requestHash):
		return nil, ErrReplayMismatch
	case r.Status == 0:
		return nil, ErrReplayInProgress
	}
	return &r, nil
}

// FinishReplay keeps the answer of an idempotent request.
func (s *Store) FinishReplay(ctx context.Context, key string, r Replay) error {
	return s.b.global(ctx, false, func(q querier) error {
		_, err := q.Exec(ctx, `UPDATE payment_replays SET status = $2, header = $3, body = $4 WHERE key = $1`,
			key, r.Status, r.Header, r.Body)
		return err
	})
}

// AbandonReplay forgets an idempotent request that produced nothing worth
// keeping (it failed before any payment), so that the key may be retried.
func (s *Store) AbandonReplay(ctx context.Context, key string) error {
	return s.b.global(ctx, false, func(q querier) error {
		_, err := q.Exec(ctx, `DELETE FROM payment_replays WHERE key = $1`, key)
		return err
	})
}

// CreditEntry is one entry of the credit ledger.
type CreditEntry struct {
	ID        string
	Amount    int64 // micro-USD; negative for spends
	Kind      string
	Reference string
	CreatedAt time.Time
}

// CreditEntries lists the caller's ledger entries of the given kinds (all
// kinds when none), newest first.
func (s *Store) CreditEntries(ctx context.Context, userID string, limit int, kinds ...string) ([]CreditEntry, error) {
	var out []CreditEntry
	err := s.read(ctx, userID, func(q querier) error {
		args := []any{userID, pageSize(limit)}
		filter := ""
		for i, k := range kinds {
			if i == 0 {
				filter = " AND kind IN ("
			} else {
				filter += ", "
			}
			args = append(args, k)
			filter += "$" + strconv.Itoa(len(args))
		}
		if filter != "" {
			filter += ")"
		}
		rs, err := q.Query(ctx, `SELECT id, amount, kind, reference, created_at FROM credit_entries
			WHERE user_id = $1`+filter+` ORDER BY created_at DESC, id LIMIT $2`, args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (CreditEntry, error) {
			var e CreditEntry
			err := r.Scan(&e.ID, &e.Amount, &e.Kind, &e.Reference, &e.CreatedAt)
			return e, err
		})
		return err
	})
	return out, err
}
