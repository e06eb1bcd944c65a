package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/channels"
	"github.com/agentbot/gateway/channels/telegram/telegramtest"
)

// Timings of the tests: a one-second long poll, ended half a second after
// that when the connection stalls, and quick retries.
const (
	testPoll  = time.Second
	testGrace = 500 * time.Millisecond
	// waitLong bounds every wait for something that should happen soon;
	// it only matters when a test fails.
	waitLong = 15 * time.Second
)

// testToken is a well-shaped token for bot n.
func testToken(n int) string {
	return fmt.Sprintf("%d:AAE%s", 700000+n, strings.Repeat("x", 32))
}

// fixture is a fake Telegram with one bot and a driver pointed at it.
type fixture struct {
	tg    *telegramtest.Server
	d     *Driver
	token string
	b     *channels.Binding
}

const testBotID = 700001

func newFixture(t *testing.T) *fixture {
	t.Helper()
	tg := telegramtest.New(t)
	token := testToken(1)
	tg.AddBot(token, testBotID, "test_bot")
	d := New(Options{ServerURL: tg.URL(), PollTimeout: testPoll, PollGrace: testGrace})
	d.backoff, d.maxBackoff = 10*time.Millisecond, 50*time.Millisecond
	return &fixture{tg: tg, d: d, token: token, b: &channels.Binding{
		ID: "bnd_1", Kind: channels.Telegram, ExternalID: fmt.Sprint(testBotID),
		Cred: channels.Credential{Token: token}, WebhookSecret: "s3cret_-Token",
	}}
}

// event is one call the sink saw, in order.
type event struct {
	kind   string // "accept" or "offset"
	in     channels.Inbound
	offset int64
}

// memSink is a channels.Sink in memory. accept and save, when set, decide
// the outcome of Accept and SaveOffset (nil: success).
type memSink struct {
	mu      sync.Mutex
	events  []event
	alive   int
	accept  func(n int, in channels.Inbound) error // n: Accept calls before this one
	save    func(offset int64) error
	calls   int
	changed chan struct{}
}

func newSink() *memSink { return &memSink{changed: make(chan struct{})} }

func (s *memSink) touch() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *memSink) Accept(ctx context.Context, in channels.Inbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.calls
	s.calls++
	if s.accept != nil {
		if err := s.accept(n, in); err != nil {
			return err
		}
	}
	s.events = append(s.events, event{kind: "accept", in: in})
	s.touch()
	return nil
}

func (s *memSink) Alive(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alive++
	s.touch()
}

func (s *memSink) SaveOffset(ctx context.Context, offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.save != nil {
		if err := s.save(offset); err != nil {
			return err
		}
	}
	s.events = append(s.events, event{kind: "offset", offset: offset})
	s.touch()
	return nil
}

func (s *memSink) SaveResume(ctx context.Context, state []byte) error {
	return errors.New("memSink: Telegram has no resume state")
}

// accepted returns the messages accepted so far.
func (s *memSink) accepted() []channels.Inbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ins []channels.Inbound
	for _, e := range s.events {
		if e.kind == "accept" {
			ins = append(ins, e.in)
		}
	}
	return ins
}

// offsets returns the offsets saved so far.
func (s *memSink) offsets() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var os []int64
	for _, e := range s.events {
		if e.kind == "offset" {
			os = append(os, e.offset)
		}
	}
	return os
}

func (s *memSink) aliveCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.alive
}

// waitFor waits until cond holds on the sink, failing the test after
// waitLong.
func (s *memSink) waitFor(t *testing.T, what string, cond func(s *memSink) bool) {
	t.Helper()
	deadline := time.NewTimer(waitLong)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond(s) {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (s *memSink) waitAccepted(t *testing.T, n int) []channels.Inbound {
	t.Helper()
	s.waitFor(t, fmt.Sprintf("%d accepted messages", n), func(s *memSink) bool { return len(s.accepted()) >= n })
	return s.accepted()
}

func (s *memSink) waitOffset(t *testing.T, offset int64) {
	t.Helper()
	s.waitFor(t, fmt.Sprintf("offset %d saved", offset), func(s *memSink) bool {
		os := s.offsets()
		return len(os) > 0 && os[len(os)-1] >= offset
	})
}

// receiver is one Receive running in the background.
type receiver struct {
	cancel context.CancelFunc
	done   chan error
}

// startReceive runs d.Receive(b, sink) until stop (or the test's end).
func startReceive(t *testing.T, d *Driver, b *channels.Binding, sink channels.Sink) *receiver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &receiver{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Receive(ctx, b, sink) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Receive and returns what it returned; it fails the test if
// Receive does not end promptly.
func (r *receiver) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

// wait returns what Receive returned, failing the test after waitLong.
func (r *receiver) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the next stop or wait
		return err
	case <-time.After(waitLong):
		t.Fatal("Receive did not return")
		return nil
	}
}

// waitUntil polls cond every few milliseconds until it holds, failing the
// test after waitLong.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// asChannelError returns err as a *channels.Error, failing the test if it
// is not one.
func asChannelError(t *testing.T, err error) *channels.Error {
	t.Helper()
	var ce *channels.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *channels.Error", err, err)
	}
	return ce
}

// newStatusServer answers every request with status and body, and returns
// its URL.
func newStatusServer(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
