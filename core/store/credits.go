package store

import (
	"context"
	"crypto/rand"
	"errors"
	"time"
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

// SetReferrer records who referred a new account. Nothing is paid until the
// account verifies its address (SettleReferral).
func (s *Store) SetReferrer(ctx context.Context, userID, referrerID string) error {
	if userID == referrerID {
		return nil
	}
	return s.write(ctx, userID, func(q querier) error {
		_, err := q.Exec(ctx, `UPDATE users SET referred_by = $2 WHERE id = $1`, userID, referrerID)
		return err
	})
}

// ReferralOutcome is how a referral was decided.
type ReferralOutcome string

const (
	ReferralNone      ReferralOutcome = ""          // not referred, or decided before
	ReferralPaid      ReferralOutcome = "paid"      // both sides credited
	ReferralCapped    ReferralOutcome = "capped"    // the referrer reached their monthly cap
	ReferralDuplicate ReferralOutcome = "duplicate" // the address earned a bonus before
)

// ReferralRule bounds what referrals pay.
type ReferralRule struct {
	Bonus int64 // micro-USD to each side
	// MonthlyCap is how many referrals one referrer is paid for per calendar
	// month (UTC); 0 pays none.
	MonthlyCap int
}

// SettleReferral decides, once per referred account, whether its referral
// pays: both sides get rule.Bonus unless the referrer was already paid
// rule.MonthlyCap referrals this month or the address (addressKey, a keyed
// digest of the verified address in a canonical form) earned a bonus before.
// Call it when the account has verified an address. Referrals to one referrer
// are decided one at a time (the referrer's row is locked), so concurrent
// verifications cannot overshoot the cap.
func (s *Store) SettleReferral(ctx context.Context, refereeID string, addressKey []byte, rule ReferralRule) (ReferralOutcome, error) {
	now := s.now()
	var referrer string
	err := s.write(ctx, refereeID, func(q querier) error {
		return q.QueryRow(ctx, `UPDATE users SET referral_settled_at = $2
			WHERE id = $1 AND referral_settled_at IS NULL AND referred_by IS NOT NULL RETURNING referred_by`,
			refereeID, now).Scan(&referrer)
	})
	if errors.Is(err, ErrNotFound) || (err == nil && (referrer == "" || referrer == refereeID)) {
		return ReferralNone, nil
	}
	if err != nil {
		return ReferralNone, err
	}
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	outcome := ReferralPaid
	err = s.write(ctx, referrer, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE users SET updated_at = updated_at WHERE id = $1`, referrer)
		if err != nil {
			return err
		}
		if n == 0 { // the referrer's account is gone
			outcome = ReferralNone
			return nil
		}
		var paid int
		if err := q.QueryRow(ctx, `SELECT count(*) FROM credit_entries
			WHERE user_id = $1 AND kind = 'referral' AND reference LIKE 'referred:%' AND created_at >= $2`,
			referrer, monthStart).Scan(&paid); err != nil {
			return err
		}
		if paid >= rule.MonthlyCap {
			outcome = ReferralCapped
			return nil
		}
		n, err = q.Exec(ctx, `INSERT INTO referral_claims (address_hash, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			addressKey, now)
		if err != nil {
			return err
		}
		if n == 0 {
			outcome = ReferralDuplicate
			return nil
		}
		return s.appendCredit(ctx, q, referrer, rule.Bonus, "referral", "referred:"+refereeID)
	})
	if err != nil || outcome != ReferralPaid {
		return outcome, err
	}
	// Two transactions, because each is scoped to one user: a failure here
	// leaves the referee unpaid (the caller logs it); it never pays twice.
	err = s.write(ctx, refereeID, func(q querier) error {
		return s.appendCredit(ctx, q, refereeID, rule.Bonus, "referral", "referee:"+referrer)
	})
	return outcome, err
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
