package main

import (
	"fmt"
	"io"
)

// A goal is one of the performance goals of RATIONALE.md ("Performance"),
// judged on two sub-benchmarks of one benchmark measured in the same run.
type goal struct {
	name    string
	group   string // the benchmark
	sub     string // the sub-benchmark judged
	against string // the sub-benchmark it is measured against
	unit    string // "ns/op" or a reported metric such as "p50-µs"
	// added: the difference must stay at most limit (in unit); otherwise the
	// ratio sub/against must stay at most limit.
	added bool
	limit float64
}

var goals = []goal{
	{name: "gateway → echo: p50 added ≤ +100µs over the raw gRPC call", group: "BenchmarkGatewayEcho",
		sub: "gateway", against: "baseline", unit: "p50-µs", added: true, limit: 100},
	{name: "gateway → echo: p99 added ≤ +1ms over the raw gRPC call", group: "BenchmarkGatewayEcho",
		sub: "gateway", against: "baseline", unit: "p99-µs", added: true, limit: 1000},
	{name: "  of which the gateway's own (p50 over a bare net/http handler's gRPC call)", group: "BenchmarkGatewayEcho",
		sub: "gateway", against: "http-grpc-floor", unit: "p50-µs", added: true, limit: 100},
	{name: "skill through the gateway: p50 ≤ 1.5× a warm raw wazero call", group: "BenchmarkSkillCall",
		sub: "gateway", against: "warm-raw", unit: "p50-µs", limit: 1.5},
	{name: "a runaway guest stopped for ≤ 1.5× a CPU-bound loop with no check (budget)", group: "BenchmarkSkillIsolation",
		sub: "interrupt-budget", against: "close-on-context-done-off", unit: "ns/op", limit: 1.5},
	{name: "  wazero's close-on-context-done, for comparison", group: "BenchmarkSkillIsolation",
		sub: "close-on-context-done-on", against: "close-on-context-done-off", unit: "ns/op", limit: 1.5},
	{name: "tenant-scoped read ≤ 1.3× an unscoped one", group: "BenchmarkTenantRead",
		sub: "tenant-scoped", against: "baseline", unit: "ns/op", limit: 1.3},
}

// value is a sub-benchmark's figure in unit.
func (r result) value(unit string) (float64, bool) {
	if unit == "ns/op" {
		return r.nsop, true
	}
	for _, m := range r.metrics {
		if m.unit == unit {
			return m.value, true
		}
	}
	return 0, false
}

// judge returns a goal's figure, as printed, and whether it is met; ok is
// false when the input lacks either sub-benchmark.
func (g goal) judge(groups map[string]map[string]result) (figure string, met, ok bool) {
	subs := groups[g.group]
	a, aok := subs[g.sub].value(g.unit)
	b, bok := subs[g.against].value(g.unit)
	if _, present := subs[g.sub]; !present || !aok || !bok || b == 0 {
		return "", false, false
	}
	if _, present := subs[g.against]; !present {
		return "", false, false
	}
	if g.added {
		return fmt.Sprintf("%+.0f %s", a-b, trimUnit(g.unit)), a-b <= g.limit, true
	}
	return fmt.Sprintf("%.2f×", a/b), a/b <= g.limit, true
}

func trimUnit(u string) string {
	switch u {
	case "p50-µs", "p99-µs":
		return "µs"
	}
	return u
}

// printGoals prints each goal whose benchmarks the input holds, beside its
// figure.
func printGoals(w io.Writer, groups map[string]map[string]result) {
	printed := false
	for _, g := range goals {
		figure, met, ok := g.judge(groups)
		if !ok {
			continue
		}
		if !printed {
			fmt.Fprintf(w, "\nGoals (RATIONALE.md, \"Performance\"), each against a baseline of the same run:\n")
			printed = true
		}
		verdict := "met"
		if !met {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "  %-78s %12s  %s\n", g.name, figure, verdict)
	}
}
