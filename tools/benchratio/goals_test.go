package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkGatewayEcho/baseline-2         	   15793	    217664 ns/op	       192.0 p50-µs	       658.0 p99-µs
BenchmarkGatewayEcho/http-grpc-floor-2  	   15793	    317664 ns/op	       290.0 p50-µs	       958.0 p99-µs
BenchmarkGatewayEcho/gateway-2          	    4725	    760788 ns/op	       257.4 p50-µs	      2641 p99-µs
BenchmarkTenantRead/baseline-2          	    1000	    100000 ns/op
BenchmarkTenantRead/tenant-scoped-2     	    1000	    120000 ns/op
BenchmarkSkillCall/warm-raw-2           	    1000	    100000 ns/op	       60.0 p50-µs
BenchmarkSkillCall/gateway-2            	    1000	    100000 ns/op	      100.0 p50-µs
`

func TestGoalsAreJudgedOnTheRunsFigures(t *testing.T) {
	groups, order := parse(strings.NewReader(sample))
	if len(order) != 3 {
		t.Fatalf("groups %v", order)
	}
	var out strings.Builder
	printGoals(&out, groups)
	for _, want := range []string{
		"p50 added ≤ +100µs over the raw gRPC call", "+65 µs  met",
		"p99 added ≤ +1ms over the raw gRPC call", "+1983 µs  MISSED",
		"bare net/http handler's gRPC call)", "-33 µs  met",
		"1.5× a warm raw wazero call", "1.67×  MISSED",
		"1.3× an unscoped one", "1.20×  met",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("goals lack %q:\n%s", want, out.String())
		}
	}
	// A goal whose benchmarks did not run is not printed.
	groups, _ = parse(strings.NewReader("BenchmarkTenantRead/baseline-2 1 100 ns/op\n"))
	out.Reset()
	printGoals(&out, groups)
	if out.Len() != 0 {
		t.Errorf("goals printed without their benchmarks: %s", out.String())
	}
}
