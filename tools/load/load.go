// Package load is the repository's load generator: it drives a call from
// many goroutines for a while and reports throughput and latency
// percentiles, and holds many streams open at once to find the longest
// stall between two chunks. `make bench-load` uses it (internal/e2e
// TestLoad) to set the gateway's own cost beside a bare net/http server,
// the raw provider call and the raw wazero call, measured in the same run.
package load

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config shapes one run.
type Config struct {
	// Concurrency is the number of goroutines calling at once [32].
	Concurrency int
	// Duration is how long calls are measured [3s], after Warmup [500ms]
	// of calls that are not.
	Duration, Warmup time.Duration
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 32
	}
	if c.Duration <= 0 {
		c.Duration = 3 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = 500 * time.Millisecond
	}
	return c
}

// Result is what one run measured.
type Result struct {
	Name     string
	Requests int // calls completed in the measured period
	Errors   int // of which failed
	Elapsed  time.Duration
	P50, P90 time.Duration
	P99, Max time.Duration
}

// RPS is completed calls per second.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Run calls call from cfg.Concurrency goroutines until cfg.Warmup and then
// cfg.Duration have passed (or ctx ends), and measures the calls that
// started after the warm-up.
func Run(ctx context.Context, name string, cfg Config, call func(ctx context.Context) error) Result {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)
	type sample struct {
		lat []time.Duration
		err int
	}
	samples := make([]sample, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &samples[i]
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				err := call(ctx)
				if t0.Before(measureFrom) {
					continue
				}
				s.lat = append(s.lat, time.Since(t0))
				if err != nil {
					s.err++
				}
			}
		}()
	}
	wg.Wait()
	elapsed := min(time.Since(measureFrom), cfg.Duration+time.Since(end))
	var all []time.Duration
	r := Result{Name: name, Elapsed: elapsed}
	for _, s := range samples {
		all = append(all, s.lat...)
		r.Errors += s.err
	}
	r.Requests = len(all)
	if len(all) == 0 {
		return r
	}
	slices.Sort(all)
	at := func(q float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*q))] }
	r.P50, r.P90, r.P99, r.Max = at(0.50), at(0.90), at(0.99), all[len(all)-1]
	return r
}

// StreamResult is what Streams measured.
type StreamResult struct {
	Streams   int
	Failed    int
	Chunks    int
	MaxStall  time.Duration // the longest wait for a chunk after the stream's first
	P99Stall  time.Duration
	TotalTime time.Duration
}

// Streams opens n streams at once (open returns the response body) and
// reads each to its end, timing every gap between two reads that returned
// data. A stream that fails to open or read is counted as failed.
func Streams(ctx context.Context, n int, open func(ctx context.Context) (io.ReadCloser, error)) StreamResult {
	start := time.Now()
	gaps := make([][]time.Duration, n)
	chunks := make([]int, n)
	failed := make([]bool, n)
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			body, err := open(ctx)
			if err != nil {
				failed[i] = true
				return
			}
			defer body.Close()
			buf := make([]byte, 32<<10)
			var last time.Time
			for {
				k, err := body.Read(buf)
				if k > 0 {
					now := time.Now()
					if !last.IsZero() {
						gaps[i] = append(gaps[i], now.Sub(last))
					}
					last = now
					chunks[i]++
				}
				if err == io.EOF {
					return
				}
				if err != nil {
					failed[i] = true
					return
				}
			}
		}()
	}
	close(ready)
	wg.Wait()
	r := StreamResult{Streams: n, TotalTime: time.Since(start)}
	var all []time.Duration
	for i := range n {
		all = append(all, gaps[i]...)
		r.Chunks += chunks[i]
		if failed[i] {
			r.Failed++
		}
	}
	if len(all) > 0 {
		slices.Sort(all)
		r.MaxStall = all[len(all)-1]
		r.P99Stall = all[min(len(all)-1, len(all)*99/100)]
	}
	return r
}

// Table renders results as aligned text, one row each.
func Table(rs ...Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-44s %10s %9s %9s %9s %9s %7s\n", "scenario", "req/s", "p50", "p90", "p99", "max", "errors")
	for _, r := range rs {
		fmt.Fprintf(&b, "%-44s %10.0f %9s %9s %9s %9s %7d\n", r.Name, r.RPS(), us(r.P50), us(r.P90), us(r.P99), us(r.Max), r.Errors)
	}
	return b.String()
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d.Nanoseconds())/1e3) }
