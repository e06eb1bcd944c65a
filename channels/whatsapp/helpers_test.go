package whatsapp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/agentbot/gateway/channels"
	"github.com/agentbot/gateway/channels/whatsapp/whatsapptest"
)

// The test binding's credential.
const (
	testToken   = "EAAGtesttoken0123456789abcdefXYZ"
	testNumber  = "106540352242922"
	testSecret  = "0123456789abcdef0123456789abcdef"
	testVerify  = "verify-me-please"
	testDisplay = "+1 555-0100"
)

func testCred() channels.Credential {
	return channels.Credential{Token: testToken, PhoneNumberID: testNumber, AppSecret: testSecret, VerifyToken: testVerify}
}

func testBinding() *channels.Binding {
	return &channels.Binding{ID: "bnd_1", Kind: channels.WhatsApp, ExternalID: testNumber, Cred: testCred()}
}

// newDriver is a Driver that talks to a fake knowing the test number.
func newDriver(t *testing.T) (*Driver, *whatsapptest.Server) {
	t.Helper()
	fake := whatsapptest.New(t)
	fake.AddVerifiedNumber(testToken, testNumber, testDisplay, "Acme")
	return New(Options{BaseURL: fake.URL(), Client: fake.Client(), Log: quiet}), fake
}

var quiet = slog.New(slog.DiscardHandler)

// memSink keeps what it accepts in memory; it fails every Accept while err
// is set. Redeliveries are kept again: deduplication is the real sink's.
type memSink struct {
	mu  sync.Mutex
	got []channels.Inbound
	err error
}

var _ channels.Sink = (*memSink)(nil)

func (s *memSink) Accept(_ context.Context, in channels.Inbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.got = append(s.got, in)
	return nil
}

func (s *memSink) Alive(context.Context) {}

func (s *memSink) SaveOffset(context.Context, int64) error {
	return errors.New("memSink: a webhook saves no offset")
}

func (s *memSink) SaveResume(context.Context, []byte) error {
	return errors.New("memSink: a webhook saves no session")
}

func (s *memSink) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *memSink) accepted() []channels.Inbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]channels.Inbound(nil), s.got...)
}

// newWebhook serves the driver's webhook for the test binding on loopback
// and returns a Sender for it and the sink it feeds.
func newWebhook(t *testing.T) (whatsapptest.Sender, *memSink) {
	t.Helper()
	d, b, sink := New(Options{Log: quiet}), testBinding(), &memSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.ServeWebhook(w, r, b, sink)
	}))
	t.Cleanup(srv.Close)
	return whatsapptest.Sender{URL: srv.URL, AppSecret: testSecret, Client: srv.Client()}, sink
}

// chanErr asserts err is a *channels.Error with code and permanence.
func chanErr(t *testing.T, what string, err error, code string, permanent bool) {
	t.Helper()
	var ce *channels.Error
	if !errors.As(err, &ce) || ce.Code != code || ce.Permanent != permanent {
		t.Errorf("%s = %v; want a *channels.Error %s (permanent %v)", what, err, code, permanent)
	}
}
