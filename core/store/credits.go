package store

import (
	"context"
	"crypto/rand"
	"errors"
)

// CreditMicroUSD is one credit in micro-USD: credits are dollars.
const CreditMicroUSD = 1_000_000

// ErrInsufficientCredits: a reservation would take the balance below zero.
var ErrInsufficientCredits = errors.New("store: insufficient credits")

// The ledger is append-only: the balance is the sum of a user's entries, and
// every change is a new entry. A priced call reserves its price (a negative
// entry), then either settles (returning any unspent part) or is refunded.

// AddCredits appends a positive (purchase, grant) or negative entry.
func (s *Store) AddCredits(ctx context.Context, userID string, amount int64, kind, reference string) error {
	return s.write(ctx, userID, func(q querier) error { return s.appendCredit(ctx, q, userID, amount, kind, reference) })
}

// appendCredit adds a ledger entry and moves the running balance with it.
func (s *Store) appendCredit(ctx context.Context, q querier, userID string, amount int64, kind, reference string) error {
	if err := s.insertEntry(ctx, q, userID, amount, kind, reference); err != nil {
		return err
	}
	_, err := q.Exec(ctx, `INSERT INTO credit_balances (user_id, balance) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET balance = credit_balances.balance + excluded.balance`, userID, amount)
	return err
}

func (s *Store) insertEntry(ctx context.Context, q querier, userID string, amount int64, kind, reference string) error {
	_, err := q.Exec(ctx, `INSERT INTO credit_entries (id, user_id, amount, kind, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		newID("crd_"), userID, amount, kind, reference, s.now())
	return err
}

// ReserveCredits takes amount from the balance for the call named reference,
// or fails with ErrInsufficientCredits. The running balance is decremented by
// one conditional UPDATE (balance >= amount), which the database serialises
// per user (a row lock on PostgreSQL; SQLite has a single writer), so
// concurrent reservations can never drive the balance below zero; the ledger
// entry is written in the same transaction.
func (s *Store) ReserveCredits(ctx context.Context, userID string, amount int64, reference string) error {
	if amount <= 0 {
		return errors.New("store: a reservation must be positive")
	}
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE credit_balances SET balance = balance - $2 WHERE user_id = $1 AND balance >= $2`,
			userID, amount)
		if err != nil {
			return err
		}
		if n != 1 {
			return ErrInsufficientCredits
		}
		return s.insertEntry(ctx, q, userID, -amount, "reserve", reference)
	})
}

// SettleCredits completes a reservation that cost actual (≤ reserved),
// returning the rest. Settling twice is a no-op.
func (s *Store) SettleCredits(ctx context.Context, userID, reference string, reserved, actual int64) error {
	back := reserved - actual
	if back <= 0 {
		// Spent in full (never charge more than was reserved): the reservation
		// already is the charge, and a call is settled or refunded, never both.
		return nil
	}
	return s.once(ctx, userID, back, "settle", reference)
}

// RefundCredits returns a whole reservation after a failed call. Refunding
// twice is a no-op.
func (s *Store) RefundCredits(ctx context.Context, userID, reference string, reserved int64) error {
	return s.once(ctx, userID, reserved, "refund", reference)
}

func (s *Store) once(ctx context.Context, userID string, amount int64, kind, reference string) error {
	err := s.AddCredits(ctx, userID, amount, kind, reference)
	if errors.Is(err, ErrConflict) {
		return nil
	}
	return err
}

// CreditSummary is what GET /api/credits shows.
type CreditSummary struct {
	BalanceMicroUSD int64
	ReferralCode    string
	ReferralCount   int
	Plan            string
}

// Credits returns the caller's balance summary.
func (s *Store) CreditSummary(ctx context.Context, userID string) (*CreditSummary, error) {
	var cs CreditSummary
	err := s.read(ctx, userID, func(q querier) error {
		var code *string
		if err := q.QueryRow(ctx, `SELECT referral_code, plan FROM users WHERE id = $1`, userID).Scan(&code, &cs.Plan); err != nil {
			return err
		}
		if code != nil {
			cs.ReferralCode = *code
		}
		if err := q.QueryRow(ctx, `SELECT CAST(COALESCE((SELECT balance FROM credit_balances WHERE user_id = $1), 0) AS BIGINT)`,
			userID).Scan(&cs.BalanceMicroUSD); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT count(*) FROM credit_entries WHERE user_id = $1 AND kind = 'referral' AND reference LIKE 'referred:%'`,
			userID).Scan(&cs.ReferralCount)
	})
	if err != nil {
		return nil, err
	}
	return &cs, nil
}

// ReferrerByCode finds the user who owns a referral code (case-insensitive).
func (s *Store) ReferrerByCode(ctx context.Context, code string) (string, error) {
	var id string
	err := s.b.system(ctx, func(q querier) error { return q.QueryRow(ctx, s.b.lookups().referral, code).Scan(&id) })
	return id, err
}

// ApplyReferral credits bonus to a new user and to the referrer, once each.
func (s *Store) ApplyReferral(ctx context.Context, newUserID, referrerID string, bonus int64) error {
	if newUserID == referrerID {
		return nil
	}
	err := s.write(ctx, newUserID, func(q querier) error {
		if _, err := q.Exec(ctx, `UPDATE users SET referred_by = $2 WHERE id = $1`, newUserID, referrerID); err != nil {
			return err
		}
		return s.appendCredit(ctx, q, newUserID, bonus, "referral", "referee:"+referrerID)
	})
	if err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	return s.once(ctx, referrerID, bonus, "referral", "referred:"+newUserID)
}

const referralAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func newReferralCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = referralAlphabet[int(b[i])%len(referralAlphabet)]
	}
	return string(b)
}
