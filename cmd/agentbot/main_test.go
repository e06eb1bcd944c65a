package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/config"
)

func testConfig(t *testing.T) *config.Config {
	vars := map[string]string{"AGENTBOT_DEV": "true", "AGENTBOT_DATA_DIR": t.TempDir(), "AGENTBOT_ADDR": "127.0.0.1:0"}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Shutdown waits for in-flight requests: a request that is running when the
// signal arrives still gets its full answer, and the server then stops.
func TestGracefulShutdownDrainsInFlightRequests(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	entered, release := make(chan struct{}), make(chan struct{})
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), hooks{
			wrap: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/slow" {
						next.ServeHTTP(w, r)
						return
					}
					close(entered)
					<-release
					io.WriteString(w, "finished")
				})
			},
			ready: func(addr string) { addrc <- addr },
		})
	}()
	addr := <-addrc
	type result struct {
		body string
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			resc <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		resc <- result{string(b), err}
	}()
	<-entered
	cancel() // as SIGTERM would
	select {
	case err := <-done:
		t.Fatalf("serve returned %v while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if r := <-resc; r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request = %q, %v; want its full answer", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Errorf("serve = %v; want a clean stop", err)
	}
	if _, err := http.Get("http://" + addr + "/api/health"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

func TestRunRejectsBadConfigAndCommands(t *testing.T) {
	env := map[string]string{"AGENTBOT_ADDR": "nope", "JWT_SECRET": "short"}
	var stderr strings.Builder
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(k string) string { return env[k] }}
	if code := c.run(context.Background(), []string{"serve"}); code != exitFailure ||
		!strings.Contains(stderr.String(), "AGENTBOT_ADDR") || !strings.Contains(stderr.String(), "JWT_SECRET") {
		t.Errorf("serve with bad config = exit %d, %q; want 1 and errors naming AGENTBOT_ADDR and JWT_SECRET", code, stderr.String())
	}
	// No command is serve, with the same configuration.
	stderr.Reset()
	if code := c.run(context.Background(), nil); code != exitFailure || !strings.Contains(stderr.String(), "AGENTBOT_ADDR") {
		t.Errorf("no command = exit %d, %q; want serve's configuration error", code, stderr.String())
	}
	for _, args := range [][]string{{"frobnicate"}, {"keys", "frobnicate"}, {"plan", "one"}, {"version", "--nope"}} {
		stderr.Reset()
		if code := c.run(context.Background(), args); code != exitUsage {
			t.Errorf("%v = exit %d (%s); want %d, a usage error", args, code, stderr.String(), exitUsage)
		}
	}
}

// `agentbot serve` holds its access log for AGENTBOT_LOG_BUFFER and writes
// out what it holds as it stops: a request's line is not on stderr while the
// buffer holds it, and is there, before "stopped", once serve returns.
func TestServeBuffersTheAccessLogAndFlushesAtExit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := map[string]string{"AGENTBOT_DEV": "true", "AGENTBOT_DATA_DIR": t.TempDir(), "AGENTBOT_ADDR": addr,
		"AGENTBOT_LOG_BUFFER": "10s"}
	stderr := &notifyWriter{wrote: make(chan struct{}, 1)}
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- c.run(ctx, []string{"serve"}) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/api/health")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not listen on %s: %v\n%s", addr, err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := stderr.String(); strings.Contains(got, "path=/api/health") {
		t.Errorf("the access line was written at once with a 10 s buffer:\n%s", got)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve = exit %d\n%s", code, stderr.String())
	}
	got := stderr.String()
	access, stopped := strings.Index(got, "path=/api/health"), strings.Index(got, "msg=stopped")
	if access < 0 || stopped < access {
		t.Errorf("after serve returned, stderr holds the access line at %d and \"stopped\" at %d; want both, in that order:\n%s",
			access, stopped, got)
	}
}
