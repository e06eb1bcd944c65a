package agents

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/money"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/store"
)

// The metrics endpoints report what the store holds — runs, transcript
// messages, usage events and payments — over a window of whole UTC days, and
// nothing else: a figure with no data behind it is zero or absent, never an
// estimate (the seed's CPU, memory, storage, revenue and fan figures have no
// data here and are left out).

// Window bounds.
const (
	defaultMetricsDays = 30
	maxMetricsDays     = 90
)

// metricsQuery are the metrics routes' parameters.
var metricsQuery = []route.Param{{Name: "days", Doc: "1 to 90 (default 30)"}, {Name: "range", Doc: "24h, 7d or 30d"}}

func (s *Service) metricsRoutes() []route.Route {
	const get = http.MethodGet
	return []route.Route{
		{Method: get, Path: "/api/metrics", Handler: s.platformMetrics, Access: route.Admin,
			Query:    metricsQuery,
			Response: metricsAnswer{}, Errors: []api.Code{api.CodeInvalidDays, api.CodeInvalidRange},
			Summary: "platform figures over `?days=1..90` [30] (the last N whole UTC days, today's included) from stored data only → `{metrics{days, since, until, users{total, new}, agents{total, active, inactive, failed, byStatus} (current), runs{total, ok, error, running, toolCalls, durationMs{count, mean, p50, p95, max}}, messages{today, thisWeek, thisMonth (1, 7, 30 UTC days), total, byRole}, usage{calls, errors, inputTokens, outputTokens, spendMicroUsd, upstreamCostMicroUsd, byPaymentMethod}, payments{count, amountMicroUsd, byMethod[{protocol, method, count, amountMicroUsd}]} (anonymous payers too), performance{successRate, errorRate, averageResponseTime, …} (only with finished runs)}, timestamp, status}`"},
		{Method: get, Path: "/api/metrics/:userId/historical", Handler: s.historicalMetrics, Access: route.User,
			Query:    metricsQuery,
			Response: historicalMetricsAnswer{}, Errors: []api.Code{api.CodeInvalidDays, api.CodeInvalidRange, api.CodeNotFound},
			Summary: "one account's figures per UTC day over `?days=1..90` [30] or the seed's `?range=24h|7d|30d` → `{userId, timeRange, days, since, until, metrics[{timestamp, date, runs, errors, messages, calls, callErrors, inputTokens, outputTokens, tokens, spendMicroUsd}] (every day, zeros included), totals, averages (per day)}`; your own id, or any as an admin; another user's id → 404"},
		{Method: get, Path: "/api/metrics/:userId/performance", Handler: s.performanceMetrics, Access: route.User,
			Query:    metricsQuery,
			Response: performanceMetricsAnswer{}, Errors: []api.Code{api.CodeInvalidDays, api.CodeInvalidRange, api.CodeNotFound},
			Summary: "run outcomes and durations of stored runs (nearest-rank p50/p95) and each gateway id's call latency, over `?days=` → `{runs{total, ok, error, running, successRate, errorRate, durationMs{count, mean, p50, p95, max}}, errorRate, responseTime, latency[{target, calls, errors, durationMs}]}` (rates and durations only when there are finished runs); owner or admin, else 404"},
		{Method: get, Path: "/api/metrics/:userId/summary", Handler: s.summaryMetrics, Access: route.User,
			Query:    metricsQuery,
			Response: summaryMetricsAnswer{}, Errors: []api.Code{api.CodeInvalidDays, api.CodeInvalidRange, api.CodeNotFound},
			Summary: "totals over `?days=` → `{summary{agents{total, active, inactive, failed, byStatus}, skills{installed}, runs{…, toolCalls}, messages, toolCalls, tokens{input, output, total}, usage{calls, errors, spendMicroUsd, spend, byPaymentMethod}, payments{count, amountMicroUsd, byMethod}}}`; owner or admin, else 404"},
	}
}

// metricsWindow is the span the figures cover: the last Days whole UTC days,
// today's included (Since is midnight UTC Days-1 days ago).
type metricsWindow struct {
	Days         int
	Range        string // as named: the seed's range, or "<days>d"
	Since, Until time.Time
}

func windowOf(days int, now time.Time) metricsWindow {
	today := now.UTC().Truncate(24 * time.Hour)
	return metricsWindow{Days: days, Range: strconv.Itoa(days) + "d", Since: today.AddDate(0, 0, 1-days), Until: now.UTC()}
}

// seedRanges are the windows the seed's historical endpoint takes as ?range=.
var seedRanges = map[string]int{"24h": 1, "7d": 7, "30d": 30}

// parseWindow reads ?days= (1..90, default 30) or ?range=24h|7d|30d; giving
// both is refused rather than one silently winning.
func parseWindow(r *http.Request, now time.Time) (metricsWindow, error) {
	q := r.URL.Query()
	days := defaultMetricsDays
	_, hasDays := q["days"]
	_, hasRange := q["range"]
	if hasDays && hasRange {
		return metricsWindow{}, api.BadRequest(api.CodeInvalidDays, "Give days or range, not both")
	}
	if hasDays {
		n, err := strconv.Atoi(q.Get("days"))
		if err != nil || n < 1 || n > maxMetricsDays || len(q["days"]) > 1 {
			return metricsWindow{}, api.CodeInvalidDays.Err()
		}
		days = n
	}
	if hasRange {
		rg := q.Get("range")
		n, ok := seedRanges[rg]
		if !ok || len(q["range"]) > 1 {
			return metricsWindow{}, api.CodeInvalidRange.Err()
		}
		w := windowOf(n, now)
		w.Range = rg
		return w, nil
	}
	return windowOf(days, now), nil
}

// metricsSubject resolves :userId to the account whose figures are asked
// for: the caller's own, or anyone's for an admin. Another user's id is 404,
// like every other resource of theirs. An admin's read of another account
// runs in that account's tenant; this check is what allows it.
func metricsSubject(r *http.Request, ps httprouter.Params) (string, error) {
	p := principal(r)
	id := ps.ByName("userId")
	if id == p.UserID || (p.Admin && id != "" && len(id) <= 64 && !strings.ContainsAny(id, "/?#")) {
		return id, nil
	}
	return "", userNotFound()
}

func userNotFound() error { return api.NotFound("User not found") }

// metricsErr maps the store's answer about an account.
func metricsErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return userNotFound()
	}
	return err
}

func (w metricsWindow) fields(v map[string]any) map[string]any {
	v["days"], v["since"], v["until"] = w.Days, w.Since, w.Until
	return v
}

func (s *Service) platformMetrics(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	now := s.now()
	win, err := parseWindow(r, now)
	if err != nil {
		return err
	}
	// today, thisWeek and thisMonth are windows of 1, 7 and 30 UTC days.
	m, err := s.Store.PlatformMetrics(r.Context(), store.PlatformSpan{Since: win.Since, Day: windowOf(1, now).Since,
		Week: windowOf(7, now).Since, Month: windowOf(30, now).Since})
	if err != nil {
		return err
	}
	var messages int64
	for _, n := range m.MessagesByRole {
		messages += n
	}
	v := win.fields(map[string]any{
		"users":  map[string]any{"total": m.Users, "new": m.NewUsers},
		"agents": agentsView(m.AgentsByStatus),
		"runs":   withToolCalls(runsView(m.RunsByStatus, m.RunDurations), m.ToolCalls),
		"messages": map[string]any{"today": m.MessagesSinceDay, "thisWeek": m.MessagesSinceWeek,
			"thisMonth": m.MessagesSinceMonth, "total": messages, "byRole": m.MessagesByRole},
		"toolCalls": m.ToolCalls,
		"usage":     usageView(m.Usage, true),
		"payments":  paymentsView(m.Payments),
	})
	if perf := performanceView(m.RunsByStatus, m.RunDurations); perf != nil {
		v["performance"] = perf
	}
	api.OK(w, map[string]any{"metrics": v, "timestamp": now, "status": "ok"})
	return nil
}

func (s *Service) summaryMetrics(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	uid, err := metricsSubject(r, ps)
	if err != nil {
		return err
	}
	win, err := parseWindow(r, s.now())
	if err != nil {
		return err
	}
	m, err := s.Store.UserMetrics(r.Context(), uid, win.Since)
	if err != nil {
		return metricsErr(err)
	}
	u := m.Usage
	summary := map[string]any{
		"agents":    agentsView(m.AgentsByStatus),
		"skills":    map[string]any{"installed": m.SkillsInstalled},
		"runs":      withToolCalls(runsView(m.RunsByStatus, store.Durations{}), m.ToolCalls),
		"messages":  m.Messages,
		"toolCalls": m.ToolCalls,
		"tokens":    map[string]any{"input": u.InputTokens, "output": u.OutputTokens, "total": u.InputTokens + u.OutputTokens},
		"usage":     usageView(u, false),
		"payments":  paymentsView(m.Payments),
	}
	api.OK(w, win.fields(map[string]any{"userId": uid, "summary": summary, "status": "ok"}))
	return nil
}

func (s *Service) historicalMetrics(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	uid, err := metricsSubject(r, ps)
	if err != nil {
		return err
	}
	win, err := parseWindow(r, s.now())
	if err != nil {
		return err
	}
	days, err := s.Store.DailyMetrics(r.Context(), uid, win.Since)
	if err != nil {
		return metricsErr(err)
	}
	byDay := make(map[int64]store.DayMetrics, len(days))
	for _, d := range days {
		byDay[d.Day.Unix()] = d
	}
	series := make([]map[string]any, 0, win.Days)
	var total store.DayMetrics
	for i := range win.Days {
		day := win.Since.AddDate(0, 0, i)
		d := byDay[day.Unix()]
		d.Day = day
		series = append(series, dayView(d))
		total.Runs += d.Runs
		total.RunsFailed += d.RunsFailed
		total.Messages += d.Messages
		total.Calls += d.Calls
		total.CallErrors += d.CallErrors
		total.InputTokens += d.InputTokens
		total.OutputTokens += d.OutputTokens
		total.SpendMicroUSD += d.SpendMicroUSD
	}
	totals := dayView(total)
	delete(totals, "timestamp")
	delete(totals, "date")
	avg := func(n int64) float64 {
		v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(n)/float64(win.Days), 'f', 2, 64), 64)
		return v
	}
	averages := map[string]any{"runs": avg(total.Runs), "errors": avg(total.RunsFailed), "messages": avg(total.Messages),
		"calls": avg(total.Calls), "tokens": avg(total.InputTokens + total.OutputTokens), "spendMicroUsd": avg(total.SpendMicroUSD)}
	api.OK(w, win.fields(map[string]any{"userId": uid, "timeRange": win.Range, "metrics": series, "totals": totals,
		"averages": averages, "status": "ok"}))
	return nil
}

func (s *Service) performanceMetrics(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	uid, err := metricsSubject(r, ps)
	if err != nil {
		return err
	}
	win, err := parseWindow(r, s.now())
	if err != nil {
		return err
	}
	m, err := s.Store.PerformanceMetrics(r.Context(), uid, win.Since)
	if err != nil {
		return metricsErr(err)
	}
	runs := runsView(m.RunsByStatus, m.RunDurations)
	latency := make([]map[string]any, 0, len(m.Targets))
	for _, t := range m.Targets {
		latency = append(latency, map[string]any{"target": t.Target, "calls": t.Count, "errors": t.Errors,
			"durationMs": durationsView(t.Durations)})
	}
	v := win.fields(map[string]any{"userId": uid, "runs": runs, "latency": latency, "status": "ok"})
	// The seed's flat figures, when there is something to report.
	if perf := performanceView(m.RunsByStatus, m.RunDurations); perf != nil {
		runs["successRate"], runs["errorRate"] = perf["successRate"], perf["errorRate"]
		v["errorRate"], v["responseTime"] = perf["errorRate"], perf["averageResponseTime"]
	}
	api.OK(w, v)
	return nil
}

// agentsView counts agents in the seed's terms: active (running), failed
// (error) and inactive (the rest), with the exact states alongside.
func agentsView(byStatus map[string]int64) map[string]any {
	var total int64
	for _, n := range byStatus {
		total += n
	}
	active, failed := byStatus[store.AgentRunning], byStatus[store.AgentError]
	return map[string]any{"total": total, "active": active, "failed": failed, "inactive": total - active - failed,
		"byStatus": byStatus}
}

// runsView counts runs by outcome; durationMs is present when some finished.
func runsView(byStatus map[string]int64, d store.Durations) map[string]any {
	ok, failed, running := byStatus[store.RunOK], byStatus[store.RunError], byStatus[store.RunRunning]
	v := map[string]any{"total": ok + failed + running, "ok": ok, "error": failed, "running": running}
	if d.Count > 0 {
		v["durationMs"] = durationsView(d)
	}
	return v
}

func withToolCalls(runs map[string]any, n int64) map[string]any {
	runs["toolCalls"] = n
	return runs
}

func durationsView(d store.Durations) map[string]any {
	return map[string]any{"count": d.Count, "mean": d.Mean().Milliseconds(), "p50": d.P50.Milliseconds(),
		"p95": d.P95.Milliseconds(), "max": d.Max.Milliseconds()}
}

// performanceView is the seed's performance block, nil without finished runs
// (a rate of nothing is not 0% or 100%): rates as percentage strings with two
// decimals, the average run duration in milliseconds.
func performanceView(byStatus map[string]int64, d store.Durations) map[string]any {
	ok, failed := byStatus[store.RunOK], byStatus[store.RunError]
	if ok+failed == 0 {
		return nil
	}
	rate := func(n int64) string { return strconv.FormatFloat(float64(n)*100/float64(ok+failed), 'f', 2, 64) }
	return map[string]any{"successRate": rate(ok), "errorRate": rate(failed), "averageResponseTime": d.Mean().Milliseconds(),
		"p50ResponseTime": d.P50.Milliseconds(), "p95ResponseTime": d.P95.Milliseconds()}
}

// usageView sums usage events; upstream cost (what providers charged the
// platform) is for operators only.
func usageView(u store.UsageTotals, operator bool) map[string]any {
	by := make(map[string]any, len(u.ByPaymentMethod))
	for m, t := range u.ByPaymentMethod {
		by[m] = map[string]any{"calls": t.Count, "spendMicroUsd": t.AmountMicroUSD}
	}
	v := map[string]any{"calls": u.Events, "errors": u.Errors, "inputTokens": u.InputTokens, "outputTokens": u.OutputTokens,
		"spendMicroUsd": u.SpendMicroUSD, "spend": money.FormatUSD(u.SpendMicroUSD), "byPaymentMethod": by}
	if operator {
		v["upstreamCostMicroUsd"] = u.UpstreamMicroUSD
	}
	return v
}

func paymentsView(ps []store.PaymentTally) map[string]any {
	var count, amount int64
	by := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		count += p.Count
		amount += p.AmountMicroUSD
		by = append(by, map[string]any{"protocol": p.Protocol, "method": p.Method, "count": p.Count, "amountMicroUsd": p.AmountMicroUSD})
	}
	return map[string]any{"count": count, "amountMicroUsd": amount, "amount": money.FormatUSD(amount), "byMethod": by}
}

func dayView(d store.DayMetrics) map[string]any {
	return map[string]any{"timestamp": d.Day, "date": d.Day.Format(time.DateOnly), "runs": d.Runs, "errors": d.RunsFailed,
		"messages": d.Messages, "calls": d.Calls, "callErrors": d.CallErrors, "inputTokens": d.InputTokens,
		"outputTokens": d.OutputTokens, "tokens": d.InputTokens + d.OutputTokens, "spendMicroUsd": d.SpendMicroUSD}
}
