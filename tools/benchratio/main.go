// Command benchratio reads `go test -bench` output on stdin and prints, for every
// benchmark that has a sub-benchmark named "baseline", each sibling's time per
// operation as a ratio to that baseline, measured in the same run. Sibling
// metrics other than ns/op (e.g. p50-µs, p99-µs) are printed beside it.
// Then it prints the performance goals (goals.go) each beside its figure,
// met or MISSED, for the benchmarks the input holds.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

type result struct {
	nsop    float64
	metrics []metric
}

type metric struct {
	value float64
	unit  string
}

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(.*)$`)

func main() {
	groups, order := parse(os.Stdin)
	printRatios(groups, order)
	printGoals(os.Stdout, groups)
}

// parse reads benchmark lines into groups (a benchmark's sub-benchmarks by
// name), in the order the groups first appear. A sub-benchmark measured more
// than once (-count) keeps its last run.
func parse(in io.Reader) (map[string]map[string]result, []string) {
	groups := map[string]map[string]result{}
	var order []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		i := strings.LastIndex(m[1], "/")
		if i < 0 {
			continue
		}
		group, sub := m[1][:i], m[1][i+1:]
		ns, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		if groups[group] == nil {
			groups[group] = map[string]result{}
			order = append(order, group)
		}
		var extra []metric
		fields := strings.Fields(m[3])
		for j := 0; j+1 < len(fields); j += 2 {
			if strings.HasSuffix(fields[j+1], "/op") || fields[j+1] == "MB/s" {
				continue
			}
			if v, err := strconv.ParseFloat(fields[j], 64); err == nil {
				extra = append(extra, metric{v, fields[j+1]})
			}
		}
		groups[group][sub] = result{nsop: ns, metrics: extra}
	}
	return groups, order
}

func printRatios(groups map[string]map[string]result, order []string) {
	printed := false
	for _, g := range order {
		base, ok := groups[g]["baseline"]
		if !ok || base.nsop == 0 {
			continue
		}
		if !printed {
			fmt.Println("\nRatios against the baseline measured in the same run (lower is better):")
			printed = true
		}
		fmt.Printf("%s\n  %-28s %12.0f ns/op   1.00x %s\n", g, "baseline", base.nsop, render(base.metrics, nil))
		subs := make([]string, 0, len(groups[g]))
		for s := range groups[g] {
			if s != "baseline" {
				subs = append(subs, s)
			}
		}
		sort.Strings(subs)
		for _, s := range subs {
			r := groups[g][s]
			fmt.Printf("  %-28s %12.0f ns/op %6.2fx %s\n", s, r.nsop, r.nsop/base.nsop, render(r.metrics, base.metrics))
		}
	}
	if !printed {
		fmt.Println("benchratio: no benchmark with a \"baseline\" sub-benchmark in the input")
	}
}

// render prints metrics, each with its difference from the baseline's metric
// of the same unit (e.g. the latency a layer adds at p50).
func render(ms, base []metric) string {
	var parts []string
	for _, m := range ms {
		s := fmt.Sprintf("%.1f %s", m.value, m.unit)
		for _, b := range base {
			if b.unit == m.unit {
				s += fmt.Sprintf(" (%+.1f)", m.value-b.value)
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "  ")
}
