package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The metrics fixture. "Now" is 2026-03-20T12:00Z; a 30-day window starts
// 2026-02-19T00:00Z.
var (
	metricsNow   = at("2026-03-20T12:00:00Z")
	metricsSince = at("2026-02-19T00:00:00Z")
)

type metricsFixture struct {
	a, b, old *store.User
}

// run records a run of agent started at start, lasting d (nil: still
// running), with two messages (user, assistant; only the user's while
// running) and toolCalls tool calls.
func seedRun(t *testing.T, s *store.Store, c *clock, userID, agentID string, start time.Time, d *time.Duration, status string, toolCalls int) {
	t.Helper()
	ctx := context.Background()
	c.set(start)
	r, err := s.StartRun(ctx, userID, agentID, "chat", "")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []store.AgentMessage{{Role: "user", Content: "hi"}}
	if d != nil {
		msgs = append(msgs, store.AgentMessage{Role: "assistant", Content: "hello"})
	}
	if err := s.AppendMessages(ctx, userID, r, msgs); err != nil {
		t.Fatal(err)
	}
	if d == nil {
		return
	}
	c.set(start.Add(*d))
	r.Status, r.ToolCalls = status, toolCalls
	if err := s.FinishRun(ctx, userID, r); err != nil {
		t.Fatal(err)
	}
}

func ms(n int) *time.Duration { d := time.Duration(n) * time.Millisecond; return &d }

func running(t *testing.T, s *store.Store, userID, agentID string) {
	t.Helper()
	if _, err := s.TransitionAgent(context.Background(), userID, agentID, func(*store.Agent) (store.Transition, error) {
		return store.Transition{Status: store.AgentRunning, Start: true}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// seedMetrics stores the fixture's runs, messages, usage and payments:
//
//	a: agent A1 running (+ A2 provisioning); on 2026-03-18 runs 1..10 and on
//	   2026-03-20 runs 11..20, run i lasting i×100 ms with 2 tool calls, runs 5
//	   and 15 ending in error; one run still running on 2026-03-20; a run on
//	   2026-01-01 (outside the window). Usage: 03-18 generate-text 100 ms
//	   (stripe, 10000 µUSD, 100/50 tokens, upstream 2000) and skill:instant-split
//	   50 ms answered 502 (stripe, free); 03-20 generate-text 200 ms (stripe) and
//	   300 ms (mpp), each 10000 µUSD, 100/50 tokens, upstream 2000; 01-01 one
//	   outside the window. Payments: mpp/evm 10000 on 03-20, one on 01-01.
//	b: agent B1 running; on 2026-03-19 one ok run of 1000 ms with 1 tool call;
//	   usage generate-text 400 ms (credits, 5000 µUSD, 10/5 tokens, upstream
//	   1000); payment x402/evm 2000.
//	anonymous: payment x402/evm 5000 on 03-20.
//	old: a user created 2026-01-01, nothing else.
func seedMetrics(t *testing.T, s *store.Store, c *clock) metricsFixture {
	t.Helper()
	ctx := context.Background()
	var f metricsFixture
	c.set(at("2026-01-01T08:00:00Z"))
	f.old = mustUser(t, s, "old@example.com")
	c.set(at("2025-12-31T08:00:00Z"))
	f.a = mustUser(t, s, "a@example.com")
	a1 := mustAgent(t, s, f.a.ID, "A1")
	mustAgent(t, s, f.a.ID, "A2")
	running(t, s, f.a.ID, a1.ID)
	c.set(at("2026-03-01T08:00:00Z"))
	f.b = mustUser(t, s, "b@example.com")
	b1 := mustAgent(t, s, f.b.ID, "B1")
	running(t, s, f.b.ID, b1.ID)
	// a's account predates the window: only b counts as new; old is new to nobody.

	seedRun(t, s, c, f.a.ID, a1.ID, at("2026-01-01T09:00:00Z"), ms(5000), store.RunOK, 2)
	for i := 1; i <= 20; i++ {
		day := "2026-03-18"
		if i > 10 {
			day = "2026-03-20"
		}
		status := store.RunOK
		if i == 5 || i == 15 {
			status = store.RunError
		}
		seedRun(t, s, c, f.a.ID, a1.ID, at(day+"T09:00:00Z").Add(time.Duration(i)*time.Minute), ms(i*100), status, 2)
	}
	seedRun(t, s, c, f.a.ID, a1.ID, at("2026-03-20T11:00:00Z"), nil, "", 0)
	seedRun(t, s, c, f.b.ID, b1.ID, at("2026-03-19T10:00:00Z"), ms(1000), store.RunOK, 1)

	gen := func(when string, d, price int, method string) store.UsageEvent {
		return store.UsageEvent{Target: "generate-text", Status: 200, Duration: *ms(d), InputTokens: 100, OutputTokens: 50,
			PriceMicroUSD: int64(price), UpstreamMicroUSD: 2000, PaymentMethod: method, CreatedAt: at(when)}
	}
	for _, e := range []store.UsageEvent{
		gen("2026-01-01T10:00:00Z", 9999, 99999, "stripe"),
		gen("2026-03-18T10:00:00Z", 100, 10000, "stripe"),
		{Target: "skill:instant-split", Status: 502, Duration: *ms(50), PaymentMethod: "stripe", CreatedAt: at("2026-03-18T10:01:00Z")},
		gen("2026-03-20T10:00:00Z", 200, 10000, "stripe"),
		gen("2026-03-20T10:01:00Z", 300, 10000, "mpp"),
	} {
		if err := s.RecordUsage(ctx, f.a.ID, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordUsage(ctx, f.b.ID, store.UsageEvent{Target: "generate-text", Status: 200, Duration: *ms(400),
		InputTokens: 10, OutputTokens: 5, PriceMicroUSD: 5000, UpstreamMicroUSD: 1000, PaymentMethod: "credits",
		CreatedAt: at("2026-03-19T10:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	for i, p := range []store.MachinePayment{
		{UserID: f.a.ID, Protocol: "mpp", AmountMicroUSD: 10000, CreatedAt: at("2026-03-20T10:00:00Z")},
		{UserID: f.a.ID, Protocol: "mpp", AmountMicroUSD: 77777, CreatedAt: at("2026-01-01T10:00:00Z")},
		{UserID: f.b.ID, Protocol: "x402", AmountMicroUSD: 2000, CreatedAt: at("2026-03-19T10:00:00Z")},
		{Protocol: "x402", AmountMicroUSD: 5000, CreatedAt: at("2026-03-20T10:00:00Z")},
	} {
		p.Method, p.Payer, p.Network, p.Asset, p.Amount, p.Target = "evm", "0xpayer", "eip155:84532", "0xasset", "1", "generate-text"
		p.ChallengeID, p.ClaimKey, p.Reference, p.Receipt = "ch", "claim-"+string(rune('a'+i)), "0xref", "r"
		if err := s.RecordPayment(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	c.set(metricsNow)
	return f
}

func metricsStore(t *testing.T, cfg store.Config) (*store.Store, *clock) {
	c := &clock{t: metricsNow}
	cfg.Now = c.now
	return storetest.Open(t, cfg), c
}

func TestPlatformMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s, c := metricsStore(t, cfg)
		span := store.PlatformSpan{Since: metricsSince, Day: at("2026-03-20T00:00:00Z"), Week: at("2026-03-14T00:00:00Z"),
			Month: metricsSince}
		empty, err := s.PlatformMetrics(ctx, span)
		if err != nil {
			t.Fatal(err)
		}
		want := &store.PlatformMetrics{AgentsByStatus: map[string]int64{}, RunsByStatus: map[string]int64{},
			MessagesByRole: map[string]int64{}, Usage: store.UsageTotals{ByPaymentMethod: map[string]store.Tally{}}}
		if !reflect.DeepEqual(empty, want) {
			t.Errorf("PlatformMetrics(empty database) = %+v; want all zero", empty)
		}

		seedMetrics(t, s, c)
		got, err := s.PlatformMetrics(ctx, span)
		if err != nil {
			t.Fatal(err)
		}
		want = &store.PlatformMetrics{
			Users: 3, NewUsers: 1,
			AgentsByStatus: map[string]int64{"running": 2, "provisioning": 1},
			RunsByStatus:   map[string]int64{"ok": 19, "error": 2, "running": 1},
			ToolCalls:      41,
			// 100, 200, …, 1000, 1000 (b's), 1100, …, 2000: ranks 11 and 20 of 21.
			RunDurations:       store.Durations{Count: 21, Sum: 22 * time.Second, P50: time.Second, P95: 1900 * time.Millisecond, Max: 2 * time.Second},
			MessagesByRole:     map[string]int64{"user": 22, "assistant": 21},
			MessagesSinceDay:   21,
			MessagesSinceWeek:  43,
			MessagesSinceMonth: 43,
			Usage: store.UsageTotals{Events: 5, Errors: 1, InputTokens: 310, OutputTokens: 155, SpendMicroUSD: 35000,
				UpstreamMicroUSD: 7000, ByPaymentMethod: map[string]store.Tally{"stripe": {Count: 3, AmountMicroUSD: 20000},
					"mpp": {Count: 1, AmountMicroUSD: 10000}, "credits": {Count: 1, AmountMicroUSD: 5000}}},
			Payments: []store.PaymentTally{{Protocol: "mpp", Method: "evm", Tally: store.Tally{Count: 1, AmountMicroUSD: 10000}},
				{Protocol: "x402", Method: "evm", Tally: store.Tally{Count: 2, AmountMicroUSD: 7000}}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("PlatformMetrics =\n%+v\nwant\n%+v", got, want)
		}
	})
}

func TestUserMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s, c := metricsStore(t, cfg)
		f := seedMetrics(t, s, c)

		got, err := s.UserMetrics(ctx, f.a.ID, metricsSince)
		if err != nil {
			t.Fatal(err)
		}
		want := &store.UserMetrics{
			AgentsByStatus: map[string]int64{"running": 1, "provisioning": 1},
			RunsByStatus:   map[string]int64{"ok": 18, "error": 2, "running": 1},
			ToolCalls:      40,
			Messages:       41,
			Usage: store.UsageTotals{Events: 4, Errors: 1, InputTokens: 300, OutputTokens: 150, SpendMicroUSD: 30000,
				UpstreamMicroUSD: 6000, ByPaymentMethod: map[string]store.Tally{"stripe": {Count: 3, AmountMicroUSD: 20000},
					"mpp": {Count: 1, AmountMicroUSD: 10000}}},
			Payments: []store.PaymentTally{{Protocol: "mpp", Method: "evm", Tally: store.Tally{Count: 1, AmountMicroUSD: 10000}}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("UserMetrics(a) =\n%+v\nwant\n%+v", got, want)
		}

		got, err = s.UserMetrics(ctx, f.old.ID, metricsSince)
		want = &store.UserMetrics{AgentsByStatus: map[string]int64{}, RunsByStatus: map[string]int64{},
			Usage: store.UsageTotals{ByPaymentMethod: map[string]store.Tally{}}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("UserMetrics(an account with nothing) = %+v, %v; want all zero", got, err)
		}
		if _, err := s.UserMetrics(ctx, "usr_missing", metricsSince); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserMetrics(no such user) = %v; want ErrNotFound", err)
		}
	})
}

func TestDailyMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s, c := metricsStore(t, cfg)
		f := seedMetrics(t, s, c)
		got, err := s.DailyMetrics(ctx, f.a.ID, metricsSince)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.DayMetrics{
			{Day: at("2026-03-18T00:00:00Z"), Runs: 10, RunsFailed: 1, Messages: 20, Calls: 2, CallErrors: 1,
				InputTokens: 100, OutputTokens: 50, SpendMicroUSD: 10000},
			{Day: at("2026-03-20T00:00:00Z"), Runs: 11, RunsFailed: 1, Messages: 21, Calls: 2,
				InputTokens: 200, OutputTokens: 100, SpendMicroUSD: 20000},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("DailyMetrics(a) =\n%+v\nwant\n%+v", got, want)
		}
		if got, err := s.DailyMetrics(ctx, f.old.ID, metricsSince); err != nil || len(got) != 0 {
			t.Errorf("DailyMetrics(an account with nothing) = %+v, %v; want no days", got, err)
		}
		if _, err := s.DailyMetrics(ctx, "usr_missing", metricsSince); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DailyMetrics(no such user) = %v; want ErrNotFound", err)
		}
	})
}

func TestPerformanceMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s, c := metricsStore(t, cfg)
		f := seedMetrics(t, s, c)
		got, err := s.PerformanceMetrics(ctx, f.a.ID, metricsSince)
		if err != nil {
			t.Fatal(err)
		}
		want := &store.PerformanceMetrics{
			RunsByStatus: map[string]int64{"ok": 18, "error": 2, "running": 1},
			// 100 … 2000 ms: nearest ranks 10 and 19 of 20.
			RunDurations: store.Durations{Count: 20, Sum: 21 * time.Second, P50: time.Second, P95: 1900 * time.Millisecond, Max: 2 * time.Second},
			Targets: []store.TargetLatency{
				{Target: "generate-text", Durations: store.Durations{Count: 3, Sum: 600 * time.Millisecond,
					P50: 200 * time.Millisecond, P95: 300 * time.Millisecond, Max: 300 * time.Millisecond}},
				{Target: "skill:instant-split", Errors: 1, Durations: store.Durations{Count: 1, Sum: 50 * time.Millisecond,
					P50: 50 * time.Millisecond, P95: 50 * time.Millisecond, Max: 50 * time.Millisecond}},
			},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("PerformanceMetrics(a) =\n%+v\nwant\n%+v", got, want)
		}
		if m := got.RunDurations.Mean(); m != 1050*time.Millisecond {
			t.Errorf("mean run duration = %v; want 1.05s", m)
		}
		got, err = s.PerformanceMetrics(ctx, f.old.ID, metricsSince)
		want = &store.PerformanceMetrics{RunsByStatus: map[string]int64{}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("PerformanceMetrics(an account with nothing) = %+v, %v; want all zero", got, err)
		}
		if _, err := s.PerformanceMetrics(ctx, "usr_missing", metricsSince); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("PerformanceMetrics(no such user) = %v; want ErrNotFound", err)
		}
	})
}

// Nearest-rank percentiles on small and tied sets.
func TestRunPercentilesNearestRank(t *testing.T) {
	for _, tc := range []struct {
		durations     []int
		p50, p95, max int
	}{
		{[]int{700}, 700, 700, 700},
		{[]int{300, 100}, 100, 300, 300},
		{[]int{100, 100, 100, 900}, 100, 900, 900},
		{[]int{500, 100, 300}, 300, 500, 500},
	} {
		s, c := metricsStore(t, storetest.SQLite(t))
		u := mustUser(t, s, "p@example.com")
		a := mustAgent(t, s, u.ID, "p")
		running(t, s, u.ID, a.ID)
		for i, d := range tc.durations {
			seedRun(t, s, c, u.ID, a.ID, metricsNow.Add(-time.Duration(i+1)*time.Hour), ms(d), store.RunOK, 0)
		}
		got, err := s.PerformanceMetrics(context.Background(), u.ID, metricsSince)
		if err != nil {
			t.Fatal(err)
		}
		d := got.RunDurations
		if d.P50 != *ms(tc.p50) || d.P95 != *ms(tc.p95) || d.Max != *ms(tc.max) {
			t.Errorf("durations %v: p50, p95, max = %v, %v, %v; want %dms, %dms, %dms", tc.durations, d.P50, d.P95, d.Max,
				tc.p50, tc.p95, tc.max)
		}
	}
}

// On PostgreSQL the serving role reads no one's runs, usage or payments
// outside a tenant, and only the tenant's inside one; the platform figures
// cross tenants only through the SECURITY DEFINER function.
func TestPostgresMetricsCrossTenantsOnlyThroughTheFunction(t *testing.T) {
	pg := storetest.Postgres(t)
	cfg := pg.Config()
	s, c := metricsStore(t, cfg)
	f := seedMetrics(t, s, c)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.Serving)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func(tenant, table string) int {
		var n int
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true)`, tenant); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for table, forB := range map[string]int{"agent_runs": 1, "agent_messages": 2, "usage_events": 1, "payments": 1, "agents": 1} {
		if n := count("", table); n != 0 {
			t.Errorf("with no tenant, the serving role sees %d rows of %s; want 0", n, table)
		}
		if n := count(f.b.ID, table); n != forB {
			t.Errorf("as b, the serving role sees %d rows of %s; want b's %d", n, table, forB)
		}
	}
	var runs int64
	if err := conn.QueryRow(ctx, `SELECT COALESCE(sum(n), 0)::bigint FROM agentbot_platform_metrics($1, $1, $1, $1) WHERE figure = 'runs'`,
		metricsSince).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != 22 {
		t.Errorf("agentbot_platform_metrics counts %d runs in the window; want every tenant's 22", runs)
	}
	// The function is not anyone's to call: PUBLIC has no EXECUTE.
	var public bool
	if err := conn.QueryRow(ctx, `SELECT has_function_privilege('public',
		'agentbot_platform_metrics(timestamptz, timestamptz, timestamptz, timestamptz)', 'EXECUTE')`).Scan(&public); err != nil {
		t.Fatal(err)
	}
	if public {
		t.Error("PUBLIC may execute agentbot_platform_metrics; want only " + store.AppRole)
	}
}
