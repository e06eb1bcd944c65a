package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// BillingAccount is what GET /api/billing shows of the caller's account.
type BillingAccount struct {
	Plan               string
	SubscriptionStatus string
	StripeCustomerID   string // "" before the first checkout
	// StorageStatus is the status of the storage upgrade subscription, "" when
	// there is none.
	StorageStatus   string
	BYOKProviders   []string // providers with a stored key, sorted
	BalanceMicroUSD int64
	// Calls and SpendMicroUSD total the usage events in [From, To).
	Calls         int64
	SpendMicroUSD int64
}

// BillingAccount reads the caller's plan, Stripe customer, BYOK providers,
// credit balance and the totals of usage in [from, to), in one transaction.
func (s *Store) BillingAccount(ctx context.Context, userID string, from, to time.Time) (*BillingAccount, error) {
	var a BillingAccount
	err := s.read(ctx, userID, func(q querier) error {
		var cust *string
		if err := q.QueryRow(ctx, `SELECT plan, subscription_status, stripe_customer_id FROM users WHERE id = $1`, userID).
			Scan(&a.Plan, &a.SubscriptionStatus, &cust); err != nil {
			return err
		}
		if cust != nil {
			a.StripeCustomerID = *cust
		}
		err := q.QueryRow(ctx, `SELECT status FROM stripe_subscriptions WHERE user_id = $1 AND kind = 'storage'
			ORDER BY event_at DESC, id DESC LIMIT 1`, userID).Scan(&a.StorageStatus)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		rs, err := q.Query(ctx, `SELECT provider FROM byok_keys WHERE user_id = $1 ORDER BY provider`, userID)
		if err != nil {
			return err
		}
		if a.BYOKProviders, err = scanAll(rs, func(r rows) (string, error) {
			var p string
			return p, r.Scan(&p)
		}); err != nil {
			return err
		}
		if err := q.QueryRow(ctx, `SELECT CAST(COALESCE((SELECT balance FROM credit_balances WHERE user_id = $1), 0) AS BIGINT)`,
			userID).Scan(&a.BalanceMicroUSD); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT count(*), CAST(COALESCE(SUM(price_micro_usd), 0) AS BIGINT) FROM usage_events
			WHERE user_id = $1 AND created_at >= $2 AND created_at < $3`,
			userID, from.Truncate(time.Millisecond), to.Truncate(time.Millisecond)).Scan(&a.Calls, &a.SpendMicroUSD)
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// UsageTotal is the usage of one gateway id on one UTC day.
type UsageTotal struct {
	Day           string // YYYY-MM-DD, UTC
	Target        string
	Calls         int64
	SpendMicroUSD int64
}

// UsageByDay totals the caller's usage in [from, to) per UTC day and gateway
// id, ordered by day then id. The rows are summed as they stream, so a long
// period costs memory per (day, id), not per call.
func (s *Store) UsageByDay(ctx context.Context, userID string, from, to time.Time) ([]UsageTotal, error) {
	var out []UsageTotal
	err := s.read(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT target, created_at, price_micro_usd FROM usage_events
			WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id`,
			userID, from.Truncate(time.Millisecond), to.Truncate(time.Millisecond))
		if err != nil {
			return err
		}
		defer rs.Close()
		index := map[[2]string]int{}
		for rs.Next() {
			var (
				target string
				at     time.Time
				price  int64
			)
			if err := rs.Scan(&target, &at, &price); err != nil {
				return err
			}
			k := [2]string{at.UTC().Format(time.DateOnly), target}
			i, ok := index[k]
			if !ok {
				i = len(out)
				index[k] = i
				out = append(out, UsageTotal{Day: k[0], Target: target})
			}
			out[i].Calls++
			out[i].SpendMicroUSD += price
		}
		return rs.Err()
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b UsageTotal) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.Target, b.Target))
	})
	return out, nil
}

// BillingContact is what creating a Stripe customer needs to know.
type BillingContact struct {
	Email, Name      string
	StripeCustomerID string // "" when none is stored yet
}

// BillingContact returns the caller's email, name and Stripe customer id.
func (s *Store) BillingContact(ctx context.Context, userID string) (*BillingContact, error) {
	var c BillingContact
	err := s.readOne(ctx, userID, func(q querier) error {
		var cust *string
		err := q.QueryRow(ctx, `SELECT email, name, stripe_customer_id FROM users WHERE id = $1`, userID).Scan(&c.Email, &c.Name, &cust)
		if cust != nil {
			c.StripeCustomerID = *cust
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// SetStripeCustomer records the caller's Stripe customer unless one is stored
// already, and returns the one that is stored: of two concurrent first
// checkouts, both use the customer that won.
func (s *Store) SetStripeCustomer(ctx context.Context, userID, customerID string) (string, error) {
	var stored string
	err := s.write(ctx, userID, func(q querier) error {
		if _, err := q.Exec(ctx, `UPDATE users SET stripe_customer_id = $2, updated_at = $3
			WHERE id = $1 AND stripe_customer_id IS NULL`, userID, customerID, s.now()); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT stripe_customer_id FROM users WHERE id = $1`, userID).Scan(&stored)
	})
	return stored, err
}

// UserByStripeCustomer finds the user behind a Stripe customer, before a
// principal exists (webhooks). ErrNotFound when there is none.
func (s *Store) UserByStripeCustomer(ctx context.Context, customerID string) (string, error) {
	var id string
	err := s.b.system(ctx, func(q querier) error {
		return q.QueryRow(ctx, s.b.lookups().stripeCustomer, customerID).Scan(&id)
	})
	return id, err
}

// Subscription is the last applied state of one Stripe subscription.
type Subscription struct {
	ID     string
	Kind   string // "plan" or "storage"
	Plan   string // for kind "plan"; "" when not known
	Status string // Stripe's status: active, past_due, canceled, …
	// EventAt is the creation time of the event that carried this state.
	EventAt time.Time
}

// StripeEvent is a verified webhook event reduced to its effect on one user.
type StripeEvent struct {
	ID      string
	Type    string
	Created time.Time // the event's creation time at Stripe
	UserID  string
	// Subscription is the state the event reports, or nil. Its EventAt is
	// ignored: Created is the event's time. A Kind of "" applies only to a
	// subscription already stored (an invoice that names no known price).
	Subscription *Subscription
	// Credit is a purchase of credits, or nil.
	Credit *CreditPurchase
}

// CreditPurchase credits a paid Checkout Session once.
type CreditPurchase struct {
	AmountMicroUSD int64
	// Reference names the payment (the Checkout Session id); one purchase per
	// reference is ever credited, whichever events report it.
	Reference string
}

// StripePolicy decides what an event's subscription state means; billing
// owns the rules, the store applies them atomically.
type StripePolicy interface {
	// Supersedes reports whether next, from an event created at at, replaces
	// cur, the last applied state.
	Supersedes(cur Subscription, next Subscription, at time.Time) bool
	// Account derives the user's plan and subscription status from all their
	// plan subscriptions; ok false leaves the account as it is.
	Account(subs []Subscription) (plan, status string, ok bool)
}

// StripeOutcome is what applying an event did.
type StripeOutcome int

const (
	// StripeApplied: the event was recorded and its effect applied.
	StripeApplied StripeOutcome = iota
	// StripeDuplicate: the event id was applied before; nothing changed.
	StripeDuplicate
	// StripeUnknownUser: no such user; nothing was recorded.
	StripeUnknownUser
	// StripeStale: recorded, but its subscription state was older than the
	// state already applied, so it changed nothing.
	StripeStale
	// StripeForeign: the subscription belongs to another user; nothing was recorded.
	StripeForeign
	// StripeUnmatched: recorded, but the event's subscription is of an unknown
	// kind and not one already known, so it changed nothing.
	StripeUnmatched
)

func (o StripeOutcome) String() string {
	switch o {
	case StripeApplied:
		return "applied"
	case StripeDuplicate:
		return "duplicate"
	case StripeUnknownUser:
		return "unknown_user"
	case StripeStale:
		return "stale"
	case StripeForeign:
		return "foreign_subscription"
	case StripeUnmatched:
		return "unmatched"
	}
	return "unknown"
}

// StripeResult reports an applied event.
type StripeResult struct {
	Outcome StripeOutcome
	// AccountChanged: the user's plan or subscription status changed.
	AccountChanged bool
	// Credited is the amount credited by this event.
	Credited int64
}

var (
	errStripeDuplicate = errors.New("store: stripe event applied before")
	errStripeForeign   = errors.New("store: stripe subscription of another user")
	errStripeUnmatched = errors.New("store: stripe subscription of unknown kind")
)

// ApplyStripeEvent applies e exactly once: in one transaction for e.UserID it
// locks the user's row (serialising every webhook effect per user), records the
// event id (a second delivery conflicts and changes nothing), moves the
// subscription's state if policy says the event supersedes it, re-derives the
// user's plan and status from all their subscriptions, and credits a purchase
// unless its reference was credited before.
func (s *Store) ApplyStripeEvent(ctx context.Context, e StripeEvent, policy StripePolicy) (StripeResult, error) {
	var res StripeResult
	err := s.write(ctx, e.UserID, func(q querier) error {
		res = StripeResult{}
		now := s.now()
		n, err := q.Exec(ctx, `UPDATE users SET updated_at = updated_at WHERE id = $1`, e.UserID)
		if err != nil {
			return err
		}
		if n == 0 {
			res.Outcome = StripeUnknownUser
			return nil
		}
		if _, err := q.Exec(ctx, `INSERT INTO stripe_events (id, user_id, type, created_at, received_at) VALUES ($1, $2, $3, $4, $5)`,
			e.ID, e.UserID, e.Type, e.Created, now); err != nil {
			if errors.Is(err, ErrConflict) {
				return errStripeDuplicate
			}
			return err
		}
		if e.Subscription != nil {
			moved, err := s.applySubscription(ctx, q, e, policy, now)
			switch {
			case errors.Is(err, errStripeUnmatched):
				res.Outcome = StripeUnmatched
			case err != nil:
				return err
			case !moved:
				res.Outcome = StripeStale
			default:
				if res.AccountChanged, err = s.deriveAccount(ctx, q, e.UserID, policy, now); err != nil {
					return err
				}
			}
		}
		if c := e.Credit; c != nil && c.AmountMicroUSD > 0 {
			var seen int
			if err := q.QueryRow(ctx, `SELECT count(*) FROM credit_entries WHERE user_id = $1 AND kind = 'purchase' AND reference = $2`,
				e.UserID, c.Reference).Scan(&seen); err != nil {
				return err
			}
			if seen == 0 {
				if err := s.appendCredit(ctx, q, e.UserID, c.AmountMicroUSD, "purchase", c.Reference); err != nil {
					return err
				}
				res.Credited = c.AmountMicroUSD
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errStripeDuplicate):
		return StripeResult{Outcome: StripeDuplicate}, nil
	case errors.Is(err, errStripeForeign):
		return StripeResult{Outcome: StripeForeign}, nil
	}
	return res, err
}

// applySubscription stores the event's subscription state if it supersedes
// the stored one, and reports whether it did.
func (s *Store) applySubscription(ctx context.Context, q querier, e StripeEvent, policy StripePolicy, now time.Time) (bool, error) {
	next := *e.Subscription
	next.EventAt = e.Created
	var cur Subscription
	err := q.QueryRow(ctx, `SELECT id, kind, plan, status, event_at FROM stripe_subscriptions WHERE id = $1 AND user_id = $2`,
		next.ID, e.UserID).Scan(&cur.ID, &cur.Kind, &cur.Plan, &cur.Status, &cur.EventAt)
	switch {
	case errors.Is(err, ErrNotFound) && next.Kind == "":
		return false, errStripeUnmatched
	case errors.Is(err, ErrNotFound):
		_, err := q.Exec(ctx, `INSERT INTO stripe_subscriptions (id, user_id, kind, plan, status, event_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, next.ID, e.UserID, next.Kind, next.Plan, next.Status, next.EventAt, now)
		if errors.Is(err, ErrConflict) {
			return false, errStripeForeign
		}
		return err == nil, err
	case err != nil:
		return false, err
	}
	if !policy.Supersedes(cur, next, e.Created) {
		return false, nil
	}
	if next.Plan == "" { // an event that does not name the plan keeps the known one
		next.Plan = cur.Plan
	}
	_, err = q.Exec(ctx, `UPDATE stripe_subscriptions SET plan = $3, status = $4, event_at = $5, updated_at = $6
		WHERE id = $1 AND user_id = $2`, next.ID, e.UserID, next.Plan, next.Status, next.EventAt, now)
	return err == nil, err
}

// deriveAccount sets the user's plan and status from their plan subscriptions.
func (s *Store) deriveAccount(ctx context.Context, q querier, userID string, policy StripePolicy, now time.Time) (bool, error) {
	rs, err := q.Query(ctx, `SELECT id, kind, plan, status, event_at FROM stripe_subscriptions
		WHERE user_id = $1 AND kind = 'plan' ORDER BY event_at, id`, userID)
	if err != nil {
		return false, err
	}
	subs, err := scanAll(rs, func(r rows) (Subscription, error) {
		var sub Subscription
		return sub, r.Scan(&sub.ID, &sub.Kind, &sub.Plan, &sub.Status, &sub.EventAt)
	})
	if err != nil {
		return false, err
	}
	plan, status, ok := policy.Account(subs)
	if !ok {
		return false, nil
	}
	n, err := q.Exec(ctx, `UPDATE users SET plan = $2, subscription_status = $3, updated_at = $4
		WHERE id = $1 AND (plan <> $2 OR subscription_status <> $3)`, userID, plan, status, now)
	return n > 0, err
}

// Subscriptions lists the caller's Stripe subscriptions as last applied.
func (s *Store) Subscriptions(ctx context.Context, userID string) ([]Subscription, error) {
	var out []Subscription
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT id, kind, plan, status, event_at FROM stripe_subscriptions
			WHERE user_id = $1 ORDER BY event_at, id`, userID)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (Subscription, error) {
			var sub Subscription
			return sub, r.Scan(&sub.ID, &sub.Kind, &sub.Plan, &sub.Status, &sub.EventAt)
		})
		return err
	})
	return out, err
}
