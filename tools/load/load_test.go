package load

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunMeasuresOnlyAfterWarmup(t *testing.T) {
	var calls, fails atomic.Int64
	r := Run(context.Background(), "x", Config{Concurrency: 4, Duration: 200 * time.Millisecond, Warmup: 100 * time.Millisecond},
		func(context.Context) error {
			n := calls.Add(1)
			time.Sleep(time.Millisecond)
			if n%10 == 0 {
				fails.Add(1)
				return errors.New("boom")
			}
			return nil
		})
	if r.Requests == 0 || int64(r.Requests) >= calls.Load() {
		t.Fatalf("measured %d of %d calls; want some, not the warm-up's", r.Requests, calls.Load())
	}
	if r.Errors == 0 || int64(r.Errors) > fails.Load() {
		t.Errorf("errors %d of %d failures", r.Errors, fails.Load())
	}
	if r.P50 < time.Millisecond || r.P50 > r.P99 || r.P99 > r.Max {
		t.Errorf("percentiles p50 %s p99 %s max %s", r.P50, r.P99, r.Max)
	}
	if r.RPS() <= 0 || !strings.Contains(Table(r), "x ") {
		t.Errorf("rps %f, table %q", r.RPS(), Table(r))
	}
}

// stallReader yields three chunks, the last after a pause.
type stallReader struct {
	n     int
	pause time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	s.n++
	switch {
	case s.n == 3:
		time.Sleep(s.pause)
		fallthrough
	case s.n < 3:
		return copy(p, "chunk"), nil
	}
	return 0, io.EOF
}
func (s *stallReader) Close() error { return nil }

func TestStreamsFindTheLongestStall(t *testing.T) {
	var opened atomic.Int64
	r := Streams(context.Background(), 8, func(context.Context) (io.ReadCloser, error) {
		if opened.Add(1) == 1 {
			return nil, errors.New("refused")
		}
		return &stallReader{pause: 30 * time.Millisecond}, nil
	})
	if r.Failed != 1 || r.Chunks != 21 || r.MaxStall < 30*time.Millisecond || r.MaxStall > time.Second {
		t.Errorf("result %+v; want 1 failed, 21 chunks, a stall of about 30ms", r)
	}
}
