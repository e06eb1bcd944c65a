package discord

import (
	"context"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/channels"
	"github.com/agentbot/gateway/channels/discord/discordtest"
)

// memSink is a channels.Sink in memory, deduplicating on MsgID.
type memSink struct {
	mu       sync.Mutex
	accepted []channels.Inbound
	seen     map[string]bool
	calls    int // Accept calls, redeliveries included
	alive    int
	resume   []byte
	saves    int
	clears   int
	// acceptErr, when set, is asked before each Accept.
	acceptErr func(channels.Inbound) error
}

func newSink() *memSink { return &memSink{seen: map[string]bool{}} }

func (s *memSink) Accept(_ context.Context, in channels.Inbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.acceptErr != nil {
		if err := s.acceptErr(in); err != nil {
			return err
		}
	}
	if !s.seen[in.MsgID] {
		s.seen[in.MsgID] = true
		s.accepted = append(s.accepted, in)
	}
	return nil
}

func (s *memSink) Alive(context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alive++
}

func (s *memSink) SaveOffset(context.Context, int64) error {
	return fmt.Errorf("memSink: SaveOffset is Telegram's")
}

func (s *memSink) SaveResume(_ context.Context, state []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resume = append([]byte(nil), state...)
	if state == nil {
		s.resume = nil
		s.clears++
	}
	s.saves++
	return nil
}

func (s *memSink) Accepted() []channels.Inbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]channels.Inbound(nil), s.accepted...)
}

func (s *memSink) Resume() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.resume...)
}

func (s *memSink) AliveCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.alive
}

// waitFor polls cond every few milliseconds for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ctxT is a context for waits on the fake, ended with the test.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var botSeq atomic.Int64

// newBot registers a fresh bot on srv and returns its token and user id.
func newBot(srv *discordtest.Server) (token, id string) {
	n := botSeq.Add(1)
	id = fmt.Sprint(900_000_000_000_000_000 + n)
	token = base64.RawURLEncoding.EncodeToString([]byte(id)) + ".GaBcDe." + strings.Repeat("x", 30) + fmt.Sprint(n)
	srv.AddBot(token, id, fmt.Sprintf("bot%d", n))
	return token, id
}

// fixture is a fake Discord, a driver pointed at it, and one bot.
type fixture struct {
	srv   *discordtest.Server
	d     *Driver
	token string
	botID string
}

func newFixture(t *testing.T, opts ...discordtest.Option) *fixture {
	t.Helper()
	srv := discordtest.New(t, opts...)
	token, id := newBot(srv)
	d := New(Options{APIURL: srv.RESTURL(), ReconnectDelay: time.Millisecond})
	return &fixture{srv: srv, d: d, token: token, botID: id}
}

func (f *fixture) binding() *channels.Binding {
	return &channels.Binding{ID: "b1", Kind: channels.Discord, ExternalID: f.botID, Cred: channels.Credential{Token: f.token}}
}

// receiving is one Receive call running in the background.
type receiving struct {
	cancel context.CancelFunc
	done   chan error
}

func (f *fixture) receive(t *testing.T, b *channels.Binding, sink channels.Sink) *receiving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &receiving{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- f.d.Receive(ctx, b, sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("Receive did not return after its context ended")
		}
	})
	return r
}

// wait returns Receive's result, failing the test after 10 s.
func (r *receiving) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Receive did not return")
		return nil
	}
}

// stop cancels Receive and returns its result.
func (r *receiving) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

// driverGoroutines counts goroutines running this package's non-test code.
func driverGoroutines() int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, line := range strings.Split(g, "\n") {
			line = strings.TrimSpace(line)
			if strings.Contains(line, "/channels/discord/") && !strings.Contains(line, "/discordtest/") &&
				!strings.Contains(line, "_test.go:") && strings.Contains(line, ".go:") {
				n++
				break
			}
		}
	}
	return n
}
