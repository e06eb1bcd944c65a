package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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

// The client sends its method, path, headers and body as net/http reads
// them, reads plain and chunked answers whole, and keeps a connection for
// the next call unless the server closes it.
func TestClientRoundTripsAndReusesConnections(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/echo":
			fmt.Fprintf(w, "%s %s %s %s", r.Method, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), b)
		case "/chunked":
			for i := range 3 {
				fmt.Fprintf(w, "part%d ", i)
				w.(http.Flusher).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := NewClient(srv.URL, http.Header{"authorization": {"Bearer k"}, "Content-Type": {"application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for range 5 {
		if err := c.Expect(200, "POST", "/echo", []byte(`{"a":1}`))(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Expect(200, "GET", "/chunked", nil)(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("10 calls one after another opened %d connections; want 1, kept alive", n)
	}
	if status, err := c.Do(ctx, "GET", "/close", nil); status != http.StatusTeapot || err != nil {
		t.Fatalf("GET /close = %d, %v", status, err)
	}
	if err := c.Expect(200, "GET", "/chunked", nil)(ctx); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("after the server closed a connection, %d connections; want a second one", n)
	}
	if err := c.Expect(200, "GET", "/close", nil)(ctx); !errors.Is(err, ErrStatus) {
		t.Errorf("Expect(200) of a 418 = %v; want ErrStatus", err)
	}
	if _, err := NewClient("https://example.com", nil); err == nil {
		t.Error("NewClient accepted an https URL")
	}
}

// The request arrives as sent: the server sees the method, the headers and
// the body byte for byte.
func TestClientSendsTheRequestAsGiven(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- fmt.Sprintf("%s %s %s %s %d", r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), b, r.ContentLength)
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, http.Header{"Authorization": {"Bearer k"}})
	if _, err := c.Do(context.Background(), "PUT", "/a?b=c", []byte("héllo")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "PUT /a?b=c Bearer k héllo 6" {
		t.Errorf("server saw %q", s)
	}
}
