package store

import (
	"context"
	"errors"
	"time"
)

// UsageEvent is one gateway call's record.
type UsageEvent struct {
	ID               string
	UserID           string
	Target           string // gateway id
	Status           int    // HTTP status answered
	Duration         time.Duration
	InputTokens      int64
	OutputTokens     int64
	PriceMicroUSD    int64 // what the caller was charged
	UpstreamMicroUSD int64 // what the provider reported it cost
	PaymentMethod    string
	// AgentID and RunID attribute the call to an agent's run; "" otherwise.
	AgentID   string
	RunID     string
	CreatedAt time.Time
}

// RecordUsage appends a usage event for the caller.
func (s *Store) RecordUsage(ctx context.Context, userID string, e UsageEvent) error {
	return s.write(ctx, userID, func(q querier) error { return insertUsage(ctx, q, s, userID, e) })
}

func insertUsage(ctx context.Context, q querier, s *Store, userID string, e UsageEvent) error {
	if e.ID == "" {
		e.ID = newID("use_")
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now()
	}
	_, err := q.Exec(ctx, `INSERT INTO usage_events (id, user_id, target, status, duration_ms, input_tokens,
		output_tokens, price_micro_usd, upstream_micro_usd, payment_method, agent_id, run_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.ID, userID, e.Target, e.Status, e.Duration.Milliseconds(), e.InputTokens, e.OutputTokens,
		e.PriceMicroUSD, e.UpstreamMicroUSD, e.PaymentMethod, e.AgentID, e.RunID, e.CreatedAt.Truncate(time.Millisecond))
	return err
}

// Usage lists the caller's usage events since a time, oldest first.
func (s *Store) Usage(ctx context.Context, userID string, since time.Time) ([]UsageEvent, error) {
	var out []UsageEvent
	since = since.Truncate(time.Millisecond) // as RecordUsage stores times
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT id, user_id, target, status, duration_ms, input_tokens, output_tokens,
			price_micro_usd, upstream_micro_usd, payment_method, agent_id, run_id, created_at
			FROM usage_events WHERE user_id = $1 AND created_at >= $2 ORDER BY created_at, id`, userID, since)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (UsageEvent, error) {
			var e UsageEvent
			var ms int64
			err := r.Scan(&e.ID, &e.UserID, &e.Target, &e.Status, &ms, &e.InputTokens, &e.OutputTokens,
				&e.PriceMicroUSD, &e.UpstreamMicroUSD, &e.PaymentMethod, &e.AgentID, &e.RunID, &e.CreatedAt)
			e.Duration = time.Duration(ms) * time.Millisecond
			return e, err
		})
		return err
	})
	return out, err
}

// RecordUsageBatch appends many events, one transaction per user.
func (s *Store) RecordUsageBatch(ctx context.Context, events []UsageEvent) error {
	byUser := map[string][]UsageEvent{}
	var order []string
	for _, e := range events {
		if _, ok := byUser[e.UserID]; !ok {
			order = append(order, e.UserID)
		}
		byUser[e.UserID] = append(byUser[e.UserID], e)
	}
	var errs []error
	for _, uid := range order {
		err := s.write(ctx, uid, func(q querier) error {
			for _, e := range byUser[uid] {
				if err := insertUsage(ctx, q, s, uid, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
