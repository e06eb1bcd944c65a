package logbuf_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/logbuf"
)

// sink records every write made to it, as one element each.
type sink struct {
	mu     sync.Mutex
	writes []string
	delay  time.Duration // each write takes this long, as a full pipe would
	err    error
}

func (s *sink) Write(p []byte) (int, error) {
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, string(p))
	if s.err != nil {
		return 0, s.err
	}
	return len(p), nil
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.writes, "")
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.writes)
}

func TestHeldUntilFlush(t *testing.T) {
	var s sink
	w := logbuf.New(&s, time.Hour, 1<<10)
	for _, line := range []string{"one\n", "two\n"} {
		if n, err := w.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", line, n, err)
		}
	}
	if got := s.String(); got != "" {
		t.Fatalf("before Flush the writer got %q; want nothing", got)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "one\ntwo\n" || s.count() != 1 {
		t.Errorf("after Flush: %q in %d writes; want both lines in one write", got, s.count())
	}
	if err := w.Flush(); err != nil || s.count() != 1 {
		t.Errorf("Flush of nothing = %v, %d writes; want no write", err, s.count())
	}
}

func TestWrittenOutAfterTheInterval(t *testing.T) {
	var s sink
	w := logbuf.New(&s, 20*time.Millisecond, 1<<10)
	defer w.Close()
	for round := 1; round <= 2; round++ { // the timer arms again after a flush
		fmt.Fprintf(w, "line %d\n", round)
		deadline := time.Now().Add(5 * time.Second)
		for s.count() < round {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: nothing written 5 s after a 20 ms interval", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if got := s.String(); got != "line 1\nline 2\n" {
		t.Errorf("written %q", got)
	}
}

func TestFullBufferIsWrittenByTheWriter(t *testing.T) {
	var s sink
	w := logbuf.New(&s, time.Hour, 10)
	io.WriteString(w, "aaaa\n")
	io.WriteString(w, "bbbb\n") // exactly full: still held
	if s.count() != 0 {
		t.Fatalf("a buffer filled to its size was written early: %q", s.writes)
	}
	io.WriteString(w, "cccc\n") // would overflow: the held lines go first
	if got := s.String(); got != "aaaa\nbbbb\n" {
		t.Fatalf("after overflowing, written %q; want the first two lines", got)
	}
	io.WriteString(w, "a line longer than the buffer\n") // out at once, after what is held
	if got := s.String(); got != "aaaa\nbbbb\ncccc\na line longer than the buffer\n" {
		t.Errorf("after an oversized line, written %q; want every line in order", got)
	}
}

func TestCloseFlushesAndStopsHolding(t *testing.T) {
	var s sink
	w := logbuf.New(&s, time.Hour, 1<<10)
	io.WriteString(w, "before\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "before\n" {
		t.Fatalf("Close wrote %q", got)
	}
	io.WriteString(w, "after\n")
	if got := s.String(); got != "before\nafter\n" {
		t.Errorf("a write after Close was held: %q", got)
	}
}

func TestFlushReportsTheWritersError(t *testing.T) {
	broken := errors.New("disk full")
	s := sink{err: broken}
	w := logbuf.New(&s, time.Hour, 1<<10)
	io.WriteString(w, "line\n")
	if err := w.Flush(); !errors.Is(err, broken) {
		t.Errorf("Flush = %v; want %v", err, broken)
	}
	if err := w.Close(); !errors.Is(err, broken) {
		t.Errorf("Close = %v; want %v", err, broken)
	}
}

// Many goroutines logging at once through a slow writer: every line arrives
// once, whole, and each goroutine's lines in the order it wrote them.
func TestConcurrentLinesArriveWholeAndInOrder(t *testing.T) {
	s := sink{delay: 50 * time.Microsecond}
	w := logbuf.New(&s, time.Millisecond, 256)
	const goroutines, lines = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(w, "g%d line %04d %s\n", g, i, strings.Repeat("x", i%40))
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, goroutines)
	for _, line := range strings.Split(strings.TrimSuffix(s.String(), "\n"), "\n") {
		var g, i int
		f := strings.Split(line, " ")
		if len(f) != 4 || f[1] != "line" {
			t.Fatalf("mangled line %q", line)
		}
		if _, err := fmt.Sscanf(f[0]+" "+f[2], "g%d %d", &g, &i); err != nil || g < 0 || g >= goroutines {
			t.Fatalf("mangled line %q: %v", line, err)
		}
		if i != next[g] || len(f[3]) != i%40 {
			t.Fatalf("goroutine %d: line %q arrived where line %d was due", g, line, next[g])
		}
		next[g]++
	}
	for g, n := range next {
		if n != lines {
			t.Errorf("goroutine %d: %d lines arrived; want %d", g, n, lines)
		}
	}
}

// Warnings and errors are not held back: one writes out every line before
// it, so the context of a failure is on record as soon as the failure is.
func TestUrgentWritesOutAtWarn(t *testing.T) {
	var s sink
	w := logbuf.New(&s, time.Hour, 1<<12)
	log := slog.New(logbuf.Urgent(slog.NewTextHandler(w, nil), w, slog.LevelWarn)).With("node", "a")
	log.Info("request", "path", "/api/health")
	if s.count() != 0 {
		t.Fatalf("an info line was written at once: %q", s.writes)
	}
	log.WithGroup("plugin").Warn("restarting", "name", "ai")
	got := s.String()
	if !strings.Contains(got, "msg=request") || !strings.Contains(got, "msg=restarting") ||
		strings.Index(got, "msg=request") > strings.Index(got, "msg=restarting") {
		t.Fatalf("after a warning, written %q; want the info line, then the warning", got)
	}
	if !strings.Contains(got, "node=a") || !strings.Contains(got, "plugin.name=ai") {
		t.Errorf("attributes and groups lost through Urgent: %q", got)
	}
}

// BenchmarkAccessLine: one access-log line per request, as the server logs
// it, to a pipe drained by another goroutine (a terminal, a log collector):
// written at once against held by logbuf. The figure to read is the ratio.
func BenchmarkAccessLine(b *testing.B) {
	for _, mode := range []string{"unbuffered", "buffered"} {
		b.Run(mode, func(b *testing.B) {
			r, pw, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			drained := make(chan struct{})
			go func() { io.Copy(io.Discard, r); close(drained) }()
			var out io.Writer = pw
			var bw *logbuf.Writer
			if mode == "buffered" {
				bw = logbuf.New(pw, logbuf.DefaultInterval, 0)
				out = bw
			}
			log := slog.New(slog.NewTextHandler(out, nil))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					log.LogAttrs(context.Background(), slog.LevelInfo, "request", slog.String("request_id", "01J0000000000000000000000"),
						slog.String("method", "GET"), slog.String("path", "/api/health"), slog.Int("status", 200),
						slog.Int64("bytes", 120), slog.Duration("duration", 41*time.Microsecond), slog.String("remote", "127.0.0.1:50000"))
				}
			})
			b.StopTimer()
			if bw != nil {
				bw.Close()
			}
			pw.Close()
			<-drained
		})
	}
}
