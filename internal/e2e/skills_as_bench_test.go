package e2e

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/agentbot/gateway/skills"
)

// BenchmarkSkillGuests compares one skill written twice, examples/skill-hello
// (Go, ≈ 3.4 MB) and examples/skill-hello-as (AssemblyScript, ≈ 32 KB), on the
// platform's runtime (skills.Runtime.Call, no HTTP), the call
// {"action":"hello","name":"Ada"}:
//
//	baseline   the Go guest on a warm instance of the caller's pool (Go's default isolation)
//	go-fresh   the Go guest on a fresh instance per call (instantiate with _initialize, run, close)
//	as-fresh   the AssemblyScript guest on a fresh instance per call (its default isolation)
//	as-pooled  the AssemblyScript guest on a warm instance
//
// Reported per call: mean (ns/op), p50 and p99 in microseconds, and the
// module's size (wasm-bytes). `make bench` prints each as a ratio to the
// baseline: as-fresh's is the AssemblyScript fresh call against the pooled Go
// call.
func BenchmarkSkillGuests(b *testing.B) {
	goWasm, asWasm := skillWasm(b, helloDir), helloAS(b)
	in := []byte(`{"action":"hello","name":"Ada"}`)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		wasm  []byte
		fresh bool
	}{{"baseline", goWasm, false}, {"go-fresh", goWasm, true}, {"as-fresh", asWasm, true}, {"as-pooled", asWasm, false}} {
		b.Run(tc.name, func(b *testing.B) {
			r, err := skills.New(ctx, skills.Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close(ctx)
			m, err := r.Compile(ctx, tc.wasm)
			if err != nil {
				b.Fatal(err)
			}
			req := skills.Request{UserID: "bench", Fresh: tc.fresh, Input: in}
			call := func() error {
				out, f, err := r.Call(ctx, m, req)
				if err == nil && (f != nil || !strings.Contains(string(out), "Hello, Ada!")) {
					b.Fatalf("call = %s, %v", out, f)
				}
				return err
			}
			if err := call(); err != nil { // the pooled cases start warm
				b.Fatal(err)
			}
			measureLatency(b, call)
			b.ReportMetric(float64(len(tc.wasm)), "wasm-bytes") // after the loop, which resets metrics
		})
	}
}

// BenchmarkSkillGuestsGateway is BenchmarkSkillGuests through the whole
// gateway: POST /api/v1/gateway {"plugin":"skill:…"} with an API key, each
// skill published with its example's manifest and its isolation:
//
//	baseline   the Go hello, pooled
//	as-fresh   the AssemblyScript hello, fresh (decided at publish)
func BenchmarkSkillGuestsGateway(b *testing.B) {
	goWasm, asWasm := skillWasm(b, helloDir), helloAS(b)
	se, c := asApp(b, nil)
	publish(b, c, goWasm, manifest("hello-go", "1.0.0", map[string]any{"capabilities": []string{"kv"}})).Expect(b, 201, "")
	if iso := publish(b, c, asWasm, manifest("hello-as", "1.0.0", map[string]any{"capabilities": []string{"kv"}})).
		Expect(b, 201, "").JSON["skill"].(map[string]any)["isolation"]; iso != "fresh" {
		b.Fatalf("hello-as published with isolation %v; want fresh", iso)
	}
	key := c.Header.Get("Authorization")
	for _, tc := range []struct{ name, skill string }{{"baseline", "hello-go"}, {"as-fresh", "hello-as"}} {
		b.Run(tc.name, func(b *testing.B) {
			body := `{"plugin":"skill:` + tc.skill + `","action":"hello","name":"Ada"}`
			measureLatency(b, benchPost(b, se.URL+"/api/v1/gateway", strings.TrimPrefix(key, "Bearer "), body))
		})
	}
}
