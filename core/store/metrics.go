package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Metrics are computed from what the store holds (usage_events, agent_runs,
// agent_messages, payments, agents): a figure with no rows behind it is zero,
// never an estimate. Durations are whole milliseconds, both ends truncated to
// the millisecond first (SQLite stores milliseconds; PostgreSQL is made to
// agree). Percentiles are nearest-rank: the value at rank ceil(p·n) of the n
// values in ascending order, so every percentile is a value that occurred.

// metricsSQL is what differs between the engines for metrics.
type metricsSQL struct {
	// runMs is an agent_runs row's duration in whole milliseconds.
	runMs string
	// dayOf formats a timestamp column as its UTC day number since the epoch.
	dayOf string
	// platform takes (since, day, week, month) and returns the rows
	// (figure, dim, n, total) that migration 0013_metrics documents.
	platform string
}

// Durations summarises the durations of a set of finished things.
type Durations struct {
	Count         int64
	Sum           time.Duration
	P50, P95, Max time.Duration
}

// Mean is the average duration, zero when there are none.
func (d Durations) Mean() time.Duration {
	if d.Count == 0 {
		return 0
	}
	return d.Sum / time.Duration(d.Count)
}

// rankP50, rankP95 are the nearest ranks (1-based) of the median and the 95th
// percentile of n values: ceil(n/2) and ceil(95n/100).
func rankP50(n int64) int64 { return (n + 1) / 2 }
func rankP95(n int64) int64 { return (95*n + 99) / 100 }

// pick files one ranked value (rank rn of n) into d.
func (d *Durations) pick(n, rn, ms int64) {
	v := time.Duration(ms) * time.Millisecond
	if rn == rankP50(n) {
		d.P50 = v
	}
	if rn == rankP95(n) {
		d.P95 = v
	}
	if rn == n {
		d.Max = v
	}
}

// Tally is a count and an amount in micro-USD.
type Tally struct {
	Count, AmountMicroUSD int64
}

// PaymentTally counts machine payments of one protocol and method.
type PaymentTally struct {
	Protocol, Method string
	Tally
}

// UsageTotals sum usage events (every paid or free gateway call, the agent
// loop's model and skill calls included).
type UsageTotals struct {
	Events, Errors            int64 // Errors: answered with a status ≥ 400
	InputTokens, OutputTokens int64
	SpendMicroUSD             int64 // what callers were charged
	UpstreamMicroUSD          int64 // what providers reported it cost
	ByPaymentMethod           map[string]Tally
}

// PlatformSpan says from when the platform figures count: the window's
// figures from Since, and messages also from Day, Week and Month.
type PlatformSpan struct {
	Since, Day, Week, Month time.Time
}

// PlatformMetrics are figures across every account.
type PlatformMetrics struct {
	Users, NewUsers int64
	// AgentsByStatus counts agents by their current state.
	AgentsByStatus map[string]int64
	// RunsByStatus counts runs started in the window by outcome (ok, error,
	// running); ToolCalls sums their tool calls.
	RunsByStatus map[string]int64
	ToolCalls    int64
	// RunDurations are those of the window's finished runs.
	RunDurations Durations
	// MessagesByRole counts the window's transcript messages.
	MessagesByRole                                          map[string]int64
	MessagesSinceDay, MessagesSinceWeek, MessagesSinceMonth int64
	Usage                                                   UsageTotals
	Payments                                                []PaymentTally // by protocol and method, anonymous payers included
}

// PlatformMetrics computes figures across every account: the operators'
// view. Callers must check the principal is an admin. On PostgreSQL it goes
// through a SECURITY DEFINER function that returns aggregates only.
func (s *Store) PlatformMetrics(ctx context.Context, span PlatformSpan) (*PlatformMetrics, error) {
	m := &PlatformMetrics{AgentsByStatus: map[string]int64{}, RunsByStatus: map[string]int64{},
		MessagesByRole: map[string]int64{}, Usage: UsageTotals{ByPaymentMethod: map[string]Tally{}}}
	err := s.b.system(ctx, func(q querier) error {
		rs, err := q.Query(ctx, s.b.metrics().platform, span.Since.UTC(), span.Day.UTC(), span.Week.UTC(), span.Month.UTC())
		if err != nil {
			return err
		}
		type fig struct {
			figure, dim string
			n, total    int64
		}
		figs, err := scanAll(rs, func(r rows) (fig, error) {
			var f fig
			return f, r.Scan(&f.figure, &f.dim, &f.n, &f.total)
		})
		if err != nil {
			return err
		}
		for _, f := range figs {
			switch f.figure {
			case "users":
				m.Users, m.NewUsers = f.n, f.total
			case "agents":
				m.AgentsByStatus[f.dim] = f.n
			case "runs":
				m.RunsByStatus[f.dim] = f.n
				m.ToolCalls += f.total
			case "run_ms":
				switch f.dim {
				case "p50":
					m.RunDurations.P50 = time.Duration(f.n) * time.Millisecond
				case "p95":
					m.RunDurations.P95 = time.Duration(f.n) * time.Millisecond
				case "max":
					m.RunDurations.Max = time.Duration(f.n) * time.Millisecond
				case "sum":
					m.RunDurations.Sum, m.RunDurations.Count = time.Duration(f.n)*time.Millisecond, f.total
				}
			case "messages":
				m.MessagesByRole[f.dim] = f.n
			case "messages_at":
				switch f.dim {
				case "day":
					m.MessagesSinceDay = f.n
				case "week":
					m.MessagesSinceWeek = f.n
				case "month":
					m.MessagesSinceMonth = f.n
				}
			case "usage":
				m.Usage.ByPaymentMethod[f.dim] = Tally{Count: f.n, AmountMicroUSD: f.total}
				m.Usage.Events += f.n
				m.Usage.SpendMicroUSD += f.total
			case "usage_sum":
				switch f.dim {
				case "tokens":
					m.Usage.InputTokens, m.Usage.OutputTokens = f.n, f.total
				case "cost":
					m.Usage.Errors, m.Usage.UpstreamMicroUSD = f.n, f.total
				}
			case "payments":
				protocol, method, _ := strings.Cut(f.dim, ":")
				m.Payments = append(m.Payments, PaymentTally{Protocol: protocol, Method: method,
					Tally: Tally{Count: f.n, AmountMicroUSD: f.total}})
			default:
				return fmt.Errorf("store: platform metrics: unknown figure %q", f.figure)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortPayments(m.Payments)
	return m, nil
}

func sortPayments(ps []PaymentTally) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Protocol != ps[j].Protocol {
			return ps[i].Protocol < ps[j].Protocol
		}
		return ps[i].Method < ps[j].Method
	})
}

// UserMetrics are one account's totals over a window.
type UserMetrics struct {
	// AgentsByStatus counts the account's agents by current state;
	// SkillsInstalled its installs across them. Both are current, not windowed.
	AgentsByStatus  map[string]int64
	SkillsInstalled int64
	// RunsByStatus counts runs started in the window by outcome; ToolCalls
	// sums their tool calls.
	RunsByStatus map[string]int64
	ToolCalls    int64
	Messages     int64
	Usage        UsageTotals
	Payments     []PaymentTally
}

// userExists fails with ErrNotFound unless userID's account exists (under
// row-level security, it is the tenant's own row).
func userExists(ctx context.Context, q querier, userID string) error {
	return q.QueryRow(ctx, `SELECT id FROM users WHERE id = $1`, userID).Scan(new(string))
}

// UserMetrics computes an account's totals since a time, in its tenant.
// ErrNotFound when the account does not exist.
func (s *Store) UserMetrics(ctx context.Context, userID string, since time.Time) (*UserMetrics, error) {
	m := &UserMetrics{AgentsByStatus: map[string]int64{}, RunsByStatus: map[string]int64{},
		Usage: UsageTotals{ByPaymentMethod: map[string]Tally{}}}
	since = since.UTC().Truncate(time.Millisecond)
	err := s.read(ctx, userID, func(q querier) error {
		if err := userExists(ctx, q, userID); err != nil {
			return err
		}
		if err := countBy(ctx, q, m.AgentsByStatus, `SELECT status, count(*) FROM agents WHERE user_id = $1 GROUP BY status`,
			userID); err != nil {
			return err
		}
		if err := q.QueryRow(ctx, `SELECT count(*) FROM agent_skills WHERE user_id = $1`, userID).Scan(&m.SkillsInstalled); err != nil {
			return err
		}
		rs, err := q.Query(ctx, `SELECT status, count(*), CAST(COALESCE(sum(tool_calls), 0) AS BIGINT) FROM agent_runs
			WHERE user_id = $1 AND started_at >= $2 GROUP BY status`, userID, since)
		if err != nil {
			return err
		}
		type runFig struct {
			status     string
			n, toolsum int64
		}
		figs, err := scanAll(rs, func(r rows) (runFig, error) {
			var f runFig
			return f, r.Scan(&f.status, &f.n, &f.toolsum)
		})
		if err != nil {
			return err
		}
		for _, f := range figs {
			m.RunsByStatus[f.status] = f.n
			m.ToolCalls += f.toolsum
		}
		if err := q.QueryRow(ctx, `SELECT count(*) FROM agent_messages WHERE user_id = $1 AND created_at >= $2`,
			userID, since).Scan(&m.Messages); err != nil {
			return err
		}
		if err := userUsage(ctx, q, userID, since, &m.Usage); err != nil {
			return err
		}
		rs, err = q.Query(ctx, `SELECT protocol, method, count(*), CAST(COALESCE(sum(amount_micro_usd), 0) AS BIGINT)
			FROM payments WHERE user_id = $1 AND created_at >= $2 GROUP BY protocol, method`, userID, since)
		if err != nil {
			return err
		}
		m.Payments, err = scanAll(rs, func(r rows) (PaymentTally, error) {
			var p PaymentTally
			return p, r.Scan(&p.Protocol, &p.Method, &p.Count, &p.AmountMicroUSD)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	sortPayments(m.Payments)
	return m, nil
}

func userUsage(ctx context.Context, q querier, userID string, since time.Time, u *UsageTotals) error {
	rs, err := q.Query(ctx, `SELECT payment_method, count(*), CAST(COALESCE(sum(price_micro_usd), 0) AS BIGINT),
		CAST(COALESCE(sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(sum(input_tokens), 0) AS BIGINT), CAST(COALESCE(sum(output_tokens), 0) AS BIGINT),
		CAST(COALESCE(sum(upstream_micro_usd), 0) AS BIGINT)
		FROM usage_events WHERE user_id = $1 AND created_at >= $2 GROUP BY payment_method`, userID, since)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var (
			method                            string
			n, spend, errs, in, out, upstream int64
		)
		if err := rs.Scan(&method, &n, &spend, &errs, &in, &out, &upstream); err != nil {
			return err
		}
		u.ByPaymentMethod[method] = Tally{Count: n, AmountMicroUSD: spend}
		u.Events += n
		u.SpendMicroUSD += spend
		u.Errors += errs
		u.InputTokens += in
		u.OutputTokens += out
		u.UpstreamMicroUSD += upstream
	}
	return rs.Err()
}

// countBy fills into with (key, count) rows.
func countBy(ctx context.Context, q querier, into map[string]int64, sql string, args ...any) error {
	rs, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var (
			k string
			n int64
		)
		if err := rs.Scan(&k, &n); err != nil {
			return err
		}
		into[k] = n
	}
	return rs.Err()
}

// DayMetrics are one UTC day's figures of an account.
type DayMetrics struct {
	Day                       time.Time // midnight UTC
	Runs, RunsFailed          int64     // runs started that day; those that ended in error
	Messages                  int64
	Calls, CallErrors         int64 // usage events; those answered with a status ≥ 400
	InputTokens, OutputTokens int64
	SpendMicroUSD             int64
}

// DailyMetrics returns an account's figures per UTC day since a time, oldest
// first, for the days that have any (the caller fills the empty days with
// zeros). ErrNotFound when the account does not exist.
func (s *Store) DailyMetrics(ctx context.Context, userID string, since time.Time) ([]DayMetrics, error) {
	days := map[int64]*DayMetrics{}
	at := func(d int64) *DayMetrics {
		if m, ok := days[d]; ok {
			return m
		}
		m := &DayMetrics{Day: time.Unix(d*86400, 0).UTC()}
		days[d] = m
		return m
	}
	since = since.UTC().Truncate(time.Millisecond)
	dayOf := func(col string) string { return fmt.Sprintf(s.b.metrics().dayOf, col) }
	err := s.read(ctx, userID, func(q querier) error {
		if err := userExists(ctx, q, userID); err != nil {
			return err
		}
		rs, err := q.Query(ctx, `SELECT `+dayOf("started_at")+`, count(*),
			CAST(COALESCE(sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END), 0) AS BIGINT)
			FROM agent_runs WHERE user_id = $1 AND started_at >= $2 GROUP BY 1`, userID, since)
		if err != nil {
			return err
		}
		if err := eachRow(rs, func(r rows) error {
			var d, n, failed int64
			if err := r.Scan(&d, &n, &failed); err != nil {
				return err
			}
			m := at(d)
			m.Runs, m.RunsFailed = n, failed
			return nil
		}); err != nil {
			return err
		}
		rs, err = q.Query(ctx, `SELECT `+dayOf("created_at")+`, count(*) FROM agent_messages
			WHERE user_id = $1 AND created_at >= $2 GROUP BY 1`, userID, since)
		if err != nil {
			return err
		}
		if err := eachRow(rs, func(r rows) error {
			var d, n int64
			if err := r.Scan(&d, &n); err != nil {
				return err
			}
			at(d).Messages = n
			return nil
		}); err != nil {
			return err
		}
		rs, err = q.Query(ctx, `SELECT `+dayOf("created_at")+`, count(*),
			CAST(COALESCE(sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0) AS BIGINT),
			CAST(COALESCE(sum(input_tokens), 0) AS BIGINT), CAST(COALESCE(sum(output_tokens), 0) AS BIGINT),
			CAST(COALESCE(sum(price_micro_usd), 0) AS BIGINT)
			FROM usage_events WHERE user_id = $1 AND created_at >= $2 GROUP BY 1`, userID, since)
		if err != nil {
			return err
		}
		return eachRow(rs, func(r rows) error {
			var d, n, errs, in, out, spend int64
			if err := r.Scan(&d, &n, &errs, &in, &out, &spend); err != nil {
				return err
			}
			m := at(d)
			m.Calls, m.CallErrors, m.InputTokens, m.OutputTokens, m.SpendMicroUSD = n, errs, in, out, spend
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := make([]DayMetrics, 0, len(days))
	for _, m := range days {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day.Before(out[j].Day) })
	return out, nil
}

// eachRow calls fn for every row, closing them.
func eachRow(rs rows, fn func(r rows) error) error {
	defer rs.Close()
	for rs.Next() {
		if err := fn(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// TargetLatency is how long one gateway id's calls took (model calls,
// skill calls, …), from the usage events' recorded durations.
type TargetLatency struct {
	Target string
	Errors int64 // calls answered with a status ≥ 400
	Durations
}

// PerformanceMetrics are an account's run outcomes and durations, and the
// latency of its calls per gateway id, over a window.
type PerformanceMetrics struct {
	// RunsByStatus counts runs started in the window by outcome.
	RunsByStatus map[string]int64
	// RunDurations are those of the window's finished runs.
	RunDurations Durations
	// Targets are ordered by id.
	Targets []TargetLatency
}

// rankedSQL keeps, of the rows (k, ms) of inner, those at the nearest ranks
// of the median, the 95th percentile and the maximum per key, as (k, n, sum,
// rank, ms): one statement, so that the count, the sum and the ranks see the
// same rows.
const rankedSQL = `WITH r AS (SELECT k, ms, row_number() OVER (PARTITION BY k ORDER BY ms) AS rn,
	count(*) OVER (PARTITION BY k) AS cnt, CAST(sum(ms) OVER (PARTITION BY k) AS BIGINT) AS total FROM (%s) d)
	SELECT k, cnt, total, rn, ms FROM r WHERE rn = (cnt + 1) / 2 OR rn = (95 * cnt + 99) / 100 OR rn = cnt`

// PerformanceMetrics computes an account's performance figures since a
// time. ErrNotFound when the account does not exist.
func (s *Store) PerformanceMetrics(ctx context.Context, userID string, since time.Time) (*PerformanceMetrics, error) {
	m := &PerformanceMetrics{RunsByStatus: map[string]int64{}}
	since = since.UTC().Truncate(time.Millisecond)
	runs := `SELECT '' AS k, ` + s.b.metrics().runMs + ` AS ms FROM agent_runs
		WHERE user_id = $1 AND started_at >= $2 AND finished_at IS NOT NULL`
	calls := `SELECT target AS k, duration_ms AS ms FROM usage_events WHERE user_id = $1 AND created_at >= $2`
	err := s.read(ctx, userID, func(q querier) error {
		if err := userExists(ctx, q, userID); err != nil {
			return err
		}
		if err := countBy(ctx, q, m.RunsByStatus, `SELECT status, count(*) FROM agent_runs
			WHERE user_id = $1 AND started_at >= $2 GROUP BY status`, userID, since); err != nil {
			return err
		}
		runD, err := durationsBy(ctx, q, runs, userID, since)
		if err != nil {
			return err
		}
		if d := runD[""]; d != nil {
			m.RunDurations = *d
		}
		byKey, err := durationsBy(ctx, q, calls, userID, since)
		if err != nil {
			return err
		}
		errs := map[string]int64{}
		if err := countBy(ctx, q, errs, `SELECT target, count(*) FROM usage_events
			WHERE user_id = $1 AND created_at >= $2 AND status >= 400 GROUP BY target`, userID, since); err != nil {
			return err
		}
		for k, d := range byKey {
			m.Targets = append(m.Targets, TargetLatency{Target: k, Errors: errs[k], Durations: *d})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(m.Targets, func(i, j int) bool { return m.Targets[i].Target < m.Targets[j].Target })
	return m, nil
}

// durationsBy summarises the rows (k, ms) of inner per key.
func durationsBy(ctx context.Context, q querier, inner string, args ...any) (map[string]*Durations, error) {
	byKey := map[string]*Durations{}
	rs, err := q.Query(ctx, fmt.Sprintf(rankedSQL, inner), args...)
	if err != nil {
		return nil, err
	}
	err = eachRow(rs, func(r rows) error {
		var (
			k              string
			n, sum, rn, ms int64
		)
		if err := r.Scan(&k, &n, &sum, &rn, &ms); err != nil {
			return err
		}
		d := byKey[k]
		if d == nil {
			d = &Durations{Count: n, Sum: time.Duration(sum) * time.Millisecond}
			byKey[k] = d
		}
		d.pick(n, rn, ms)
		return nil
	})
	return byKey, err
}
