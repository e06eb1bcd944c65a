package agents_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

const metricsAdmin = "root@example.com"

// jsonAt walks a decoded JSON value along a dotted path ("a.b.0.c").
func jsonAt(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// expectJSON checks each path's value; numbers are compared as JSON decodes
// them (float64), absent fields as nil.
func expectJSON(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	for path, w := range want {
		if g := jsonAt(got, path); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %s = %#v; want %#v", what, path, g, w)
		}
	}
}

// clockStore opens a second store on the server's database whose clock the
// test sets, to record runs at chosen times.
type clockStore struct {
	*store.Store
	mu  sync.Mutex
	now time.Time
}

func (c *clockStore) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

func openClockStore(t *testing.T, e *env) *clockStore {
	c := &clockStore{now: time.Now()}
	cfg := store.Config{DataDir: e.Config.DataDir, DatabaseURL: e.Config.DatabaseURL,
		Now: func() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }}
	c.Store = storetest.Open(t, cfg)
	return c
}

// run records a finished run of agentID started at start, with a user and an
// assistant message and one tool call.
func (c *clockStore) run(t *testing.T, userID, agentID string, start time.Time, d time.Duration, status string) {
	t.Helper()
	ctx := context.Background()
	c.set(start)
	r, err := c.StartRun(ctx, userID, agentID, "chat", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AppendMessages(ctx, userID, r, []store.AgentMessage{{Role: "user", Content: "q"}, {Role: "assistant", Content: "a"}}); err != nil {
		t.Fatal(err)
	}
	c.set(start.Add(d))
	r.Status, r.ToolCalls = status, 1
	if err := c.FinishRun(ctx, userID, r); err != nil {
		t.Fatal(err)
	}
}

// The owner's figures, seeded two days and one day before today (UTC), so
// that a test straddling midnight still finds them in a 30-day window:
//
//	day -2: runs of 300 ms (ok), 100 ms (ok), 200 ms (error); generate-text
//	        120 ms, 10000 µUSD, 100/50 tokens, stripe
//	day -1: a run of 400 ms (ok); generate-text 80 ms, 5000 µUSD, 10/5 tokens,
//	        credits; skill:instant-split 30 ms answered 502; an mpp payment of
//	        10000 µUSD
func seedOwner(t *testing.T, e *env, c *clockStore, userID, agentID string) (dayMinus2, dayMinus1 time.Time) {
	t.Helper()
	ctx := context.Background()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	dayMinus2, dayMinus1 = today.AddDate(0, 0, -2), today.AddDate(0, 0, -1)
	c.run(t, userID, agentID, dayMinus2.Add(9*time.Hour), 300*time.Millisecond, store.RunOK)
	c.run(t, userID, agentID, dayMinus2.Add(10*time.Hour), 100*time.Millisecond, store.RunOK)
	c.run(t, userID, agentID, dayMinus2.Add(11*time.Hour), 200*time.Millisecond, store.RunError)
	c.run(t, userID, agentID, dayMinus1.Add(9*time.Hour), 400*time.Millisecond, store.RunOK)
	for _, u := range []store.UsageEvent{
		{Target: "generate-text", Status: 200, Duration: 120 * time.Millisecond, InputTokens: 100, OutputTokens: 50,
			PriceMicroUSD: 10000, UpstreamMicroUSD: 3000, PaymentMethod: "stripe", CreatedAt: dayMinus2.Add(9 * time.Hour)},
		{Target: "generate-text", Status: 200, Duration: 80 * time.Millisecond, InputTokens: 10, OutputTokens: 5,
			PriceMicroUSD: 5000, UpstreamMicroUSD: 1000, PaymentMethod: "credits", CreatedAt: dayMinus1.Add(9 * time.Hour)},
		{Target: "skill:instant-split", Status: 502, Duration: 30 * time.Millisecond, PaymentMethod: "credits",
			CreatedAt: dayMinus1.Add(10 * time.Hour)},
	} {
		if err := e.Store.RecordUsage(ctx, userID, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Store.RecordPayment(ctx, &store.MachinePayment{UserID: userID, Protocol: "mpp", Method: "evm", Payer: "0xp",
		Network: "eip155:84532", Asset: "0xa", Amount: "10000", AmountMicroUSD: 10000, Target: "generate-text",
		ChallengeID: "ch", ClaimKey: "k1", Reference: "0xr", Receipt: "r", CreatedAt: dayMinus1.Add(11 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return dayMinus2, dayMinus1
}

// seriesDay finds a date's entry of a historical series.
func seriesDay(t *testing.T, series any, day time.Time) map[string]any {
	t.Helper()
	list, _ := series.([]any)
	for _, d := range list {
		if m, _ := d.(map[string]any); m["date"] == day.Format(time.DateOnly) {
			return m
		}
	}
	t.Fatalf("no %s in the series %v", day.Format(time.DateOnly), series)
	return nil
}

func TestMetricsFromStoredData(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnvVars(t, backend, map[string]string{"ADMIN_EMAILS": metricsAdmin})
			owner, uid, _ := e.user(t, "owner@example.com", "solo")
			agentID := owner.Do("POST", "/api/agents/provision", map[string]any{"name": "M"}).Expect(t, 201, "").
				JSON["agent"].(map[string]any)["id"].(string)
			empty, emptyID, _ := e.user(t, "empty@example.com", "")
			admin, _, _ := e.user(t, metricsAdmin, "")
			c := openClockStore(t, e)
			d2, d1 := seedOwner(t, e, c, uid, agentID)

			summary := map[string]any{
				"days": 30.0, "userId": uid, "status": "ok",
				"summary.agents.total": 1.0, "summary.agents.active": 1.0, "summary.agents.inactive": 0.0,
				"summary.runs.total": 4.0, "summary.runs.ok": 3.0, "summary.runs.error": 1.0, "summary.runs.running": 0.0,
				"summary.runs.toolCalls": 4.0, "summary.toolCalls": 4.0, "summary.messages": 8.0,
				"summary.tokens.input": 110.0, "summary.tokens.output": 55.0, "summary.tokens.total": 165.0,
				"summary.usage.calls": 3.0, "summary.usage.errors": 1.0, "summary.usage.spendMicroUsd": 15000.0,
				"summary.usage.spend": "0.015", "summary.usage.byPaymentMethod.stripe.calls": 1.0,
				"summary.usage.byPaymentMethod.credits.spendMicroUsd": 5000.0, "summary.payments.count": 1.0,
				"summary.payments.amountMicroUsd": 10000.0, "summary.payments.byMethod.0.protocol": "mpp",
				// The platform's cost is for operators; without data, no figure.
				"summary.usage.upstreamCostMicroUsd": nil, "summary.revenue": nil,
			}
			r := owner.Do("GET", "/api/metrics/"+uid+"/summary", nil).Expect(t, 200, "")
			expectJSON(t, "owner's summary", r.JSON, summary)
			// An admin reads the same figures of anyone's account.
			r = admin.Do("GET", "/api/metrics/"+uid+"/summary", nil).Expect(t, 200, "")
			expectJSON(t, "admin reading the owner's summary", r.JSON, summary)

			r = owner.Do("GET", "/api/metrics/"+uid+"/performance", nil).Expect(t, 200, "")
			expectJSON(t, "performance", r.JSON, map[string]any{
				"runs.total": 4.0, "runs.ok": 3.0, "runs.error": 1.0, "runs.successRate": "75.00", "runs.errorRate": "25.00",
				// 100, 200, 300, 400 ms: nearest ranks 2 and 4.
				"runs.durationMs.count": 4.0, "runs.durationMs.mean": 250.0, "runs.durationMs.p50": 200.0,
				"runs.durationMs.p95": 400.0, "runs.durationMs.max": 400.0,
				"errorRate": "25.00", "responseTime": 250.0, "cpu": nil, "memory": nil,
				"latency.0.target": "generate-text", "latency.0.calls": 2.0, "latency.0.errors": 0.0,
				"latency.0.durationMs.p50": 80.0, "latency.0.durationMs.p95": 120.0, "latency.0.durationMs.mean": 100.0,
				"latency.1.target": "skill:instant-split", "latency.1.calls": 1.0, "latency.1.errors": 1.0,
				"latency.1.durationMs.p50": 30.0, "latency.2": nil,
			})

			r = owner.Do("GET", "/api/metrics/"+uid+"/historical", nil).Expect(t, 200, "")
			expectJSON(t, "historical", r.JSON, map[string]any{"timeRange": "30d", "days": 30.0,
				"totals.runs": 4.0, "totals.errors": 1.0, "totals.messages": 8.0, "totals.calls": 3.0, "totals.tokens": 165.0,
				"totals.spendMicroUsd": 15000.0, "averages.runs": 0.13, "averages.spendMicroUsd": 500.0})
			if series, _ := r.JSON["metrics"].([]any); len(series) != 30 {
				t.Errorf("historical series has %d days; want 30", len(series))
			}
			expectJSON(t, "day -2", seriesDay(t, r.JSON["metrics"], d2), map[string]any{"runs": 3.0, "errors": 1.0,
				"messages": 6.0, "calls": 1.0, "callErrors": 0.0, "tokens": 150.0, "spendMicroUsd": 10000.0,
				"timestamp": d2.Format(time.RFC3339)})
			expectJSON(t, "day -1", seriesDay(t, r.JSON["metrics"], d1), map[string]any{"runs": 1.0, "errors": 0.0,
				"messages": 2.0, "calls": 2.0, "callErrors": 1.0, "tokens": 15.0, "spendMicroUsd": 5000.0})
			// The seed's ?range=24h is today alone: nothing was recorded today.
			r = owner.Do("GET", "/api/metrics/"+uid+"/historical?range=24h", nil).Expect(t, 200, "")
			expectJSON(t, "range=24h", r.JSON, map[string]any{"timeRange": "24h", "days": 1.0, "totals.runs": 0.0,
				"metrics.0.runs": 0.0, "metrics.1": nil})

			// An account with nothing recorded: zeros, and no rate or duration
			// that would have to be made up.
			r = empty.Do("GET", "/api/metrics/"+emptyID+"/summary", nil).Expect(t, 200, "")
			expectJSON(t, "empty summary", r.JSON, map[string]any{"summary.runs.total": 0.0, "summary.messages": 0.0,
				"summary.usage.spendMicroUsd": 0.0, "summary.payments.count": 0.0, "summary.agents.total": 0.0})
			r = empty.Do("GET", "/api/metrics/"+emptyID+"/performance", nil).Expect(t, 200, "")
			expectJSON(t, "empty performance", r.JSON, map[string]any{"runs.total": 0.0, "runs.durationMs": nil,
				"runs.successRate": nil, "errorRate": nil, "responseTime": nil, "latency": []any{}})
			r = empty.Do("GET", "/api/metrics/"+emptyID+"/historical?days=7", nil).Expect(t, 200, "")
			expectJSON(t, "empty historical", r.JSON, map[string]any{"totals.runs": 0.0, "averages.messages": 0.0, "metrics.6.runs": 0.0})

			// Platform figures are for admins alone; one user's are for that
			// user (and admins): anyone else gets the 404 of a missing account.
			empty.Do("GET", "/api/metrics", nil).Expect(t, 403, "ADMIN_REQUIRED")
			owner.Do("GET", "/api/metrics", nil).Expect(t, 403, "ADMIN_REQUIRED")
			e.Client(t).Do("GET", "/api/metrics", nil).Expect(t, 401, "AUTH_REQUIRED")
			e.Client(t).Do("GET", "/api/metrics/"+uid+"/summary", nil).Expect(t, 401, "AUTH_REQUIRED")
			for _, v := range []string{"summary", "historical", "performance"} {
				empty.Do("GET", "/api/metrics/"+uid+"/"+v, nil).Expect(t, 404, "NOT_FOUND")
				admin.Do("GET", "/api/metrics/usr_nobody/"+v, nil).Expect(t, 404, "NOT_FOUND")
			}

			r = admin.Do("GET", "/api/metrics", nil).Expect(t, 200, "")
			expectJSON(t, "platform", r.JSON, map[string]any{"status": "ok", "metrics.days": 30.0,
				"metrics.users.total": 3.0, "metrics.users.new": 3.0,
				"metrics.agents.total": 1.0, "metrics.agents.active": 1.0, "metrics.agents.failed": 0.0, "metrics.agents.byStatus.running": 1.0,
				"metrics.runs.total": 4.0, "metrics.runs.error": 1.0, "metrics.runs.toolCalls": 4.0,
				"metrics.runs.durationMs.p50": 200.0, "metrics.runs.durationMs.p95": 400.0,
				"metrics.messages.total": 8.0, "metrics.messages.byRole.assistant": 4.0, "metrics.messages.today": 0.0,
				"metrics.messages.thisMonth": 8.0, "metrics.usage.calls": 3.0, "metrics.usage.errors": 1.0, "metrics.usage.spendMicroUsd": 15000.0,
				"metrics.usage.upstreamCostMicroUsd": 4000.0, "metrics.usage.inputTokens": 110.0,
				"metrics.payments.count": 1.0, "metrics.payments.byMethod.0.method": "evm",
				"metrics.performance.successRate": "75.00", "metrics.performance.averageResponseTime": 250.0,
				"metrics.storage": nil, "metrics.uptime": nil})
			// A one-day window holds none of it, but the agents are current.
			r = admin.Do("GET", "/api/metrics?days=1", nil).Expect(t, 200, "")
			expectJSON(t, "platform, days=1", r.JSON, map[string]any{"metrics.days": 1.0, "metrics.runs.total": 0.0,
				"metrics.usage.calls": 0.0, "metrics.performance": nil, "metrics.agents.total": 1.0})
		})
	}
}

func TestMetricsWindowIsValidated(t *testing.T) {
	e := newEnvVars(t, "sqlite", map[string]string{"ADMIN_EMAILS": metricsAdmin})
	c, uid, _ := e.user(t, "w@example.com", "")
	admin, _, _ := e.user(t, metricsAdmin, "")
	for _, q := range []struct{ query, code string }{
		{"days=0", "INVALID_DAYS"}, {"days=91", "INVALID_DAYS"}, {"days=abc", "INVALID_DAYS"}, {"days=1.5", "INVALID_DAYS"},
		{"days=", "INVALID_DAYS"}, {"days=-3", "INVALID_DAYS"}, {"days=7&days=8", "INVALID_DAYS"},
		{"range=1y", "INVALID_RANGE"}, {"range=", "INVALID_RANGE"}, {"days=7&range=7d", "INVALID_DAYS"},
	} {
		for _, path := range []string{"/api/metrics/" + uid + "/summary", "/api/metrics/" + uid + "/historical",
			"/api/metrics/" + uid + "/performance"} {
			c.Do("GET", path+"?"+q.query, nil).Expect(t, 400, q.code)
		}
		admin.Do("GET", "/api/metrics?"+q.query, nil).Expect(t, 400, q.code)
	}
	for days, want := range map[string]float64{"days=1": 1, "days=90": 90, "range=7d": 7, "range=30d": 30} {
		r := c.Do("GET", "/api/metrics/"+uid+"/historical?"+days, nil).Expect(t, 200, "")
		if got, _ := r.JSON["metrics"].([]any); float64(len(got)) != want || r.JSON["days"] != want {
			t.Errorf("historical?%s: %d days, days=%v; want %v", days, len(got), r.JSON["days"], want)
		}
		since, _ := time.Parse(time.RFC3339, fmt.Sprint(r.JSON["since"]))
		if wantSince := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1-int(want)); !since.Equal(wantSince) &&
			!since.Equal(wantSince.AddDate(0, 0, -1)) { // the request may have been served just before midnight
			t.Errorf("historical?%s: since %v; want %v (midnight UTC, %v days back)", days, since, wantSince, want-1)
		}
	}
}
