package mail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/mail/mailtest"
)

var (
	_ Sender = (*SMTP)(nil)
	_ Sender = Log{}
	_ Sender = Disabled{}
)

const resetText = "Hello Bob,\n\nReset your password here:\n" +
	"https://app.example.com/reset-password?token=abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789&uid=42\n" +
	".a line starting with a dot\n\nThanks — l'équipe\n"

// parse checks the transport envelope and returns the parsed message and its
// decoded body.
func parse(t *testing.T, got mailtest.Received) (*mail.Message, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(got.Data))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, got.Data)
	}
	if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding = %q", cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	for _, line := range strings.Split(got.Data, "\n") {
		if len(line) > 998 {
			t.Errorf("line longer than 998 bytes")
		}
	}
	return msg, string(body)
}

func TestSendThroughFakeServer(t *testing.T) {
	srv := mailtest.NewServer(t)
	srv.User, srv.Pass, srv.RequireAuth = "u", "p@ss word", true

	s, err := NewSMTP("smtp://u:p%40ss%20word@localhost:"+srv.Port(), "Agentbot <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	fixed := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s.now = func() time.Time { return fixed }

	m := Message{To: "Bob <bob@example.org>", Subject: "Réinitialisez your password", Text: resetText}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	got := msgs[0]
	if got.From != "no-reply@example.com" || len(got.To) != 1 || got.To[0] != "bob@example.org" || got.User != "u" {
		t.Errorf("envelope = from %q to %q user %q", got.From, got.To, got.User)
	}
	msg, body := parse(t, got)
	h := msg.Header

	if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Address != "no-reply@example.com" || from.Name != "Agentbot" {
		t.Errorf("From = %q (%v)", h.Get("From"), err)
	}
	if to, err := mail.ParseAddress(h.Get("To")); err != nil || to.Address != "bob@example.org" || to.Name != "Bob" {
		t.Errorf("To = %q (%v)", h.Get("To"), err)
	}
	var dec mime.WordDecoder
	if subj, err := dec.DecodeHeader(h.Get("Subject")); err != nil || subj != m.Subject {
		t.Errorf("Subject = %q decoded %q (%v)", h.Get("Subject"), subj, err)
	}
	if d, err := h.Date(); err != nil || !d.Equal(fixed) {
		t.Errorf("Date = %q (%v)", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); !regexp.MustCompile(`^<[0-9a-f]{32}@example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID = %q", id)
	}
	if v := h.Get("MIME-Version"); v != "1.0" {
		t.Errorf("MIME-Version = %q", v)
	}
	if mt, params, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "text/plain" || params["charset"] != "utf-8" {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
	if body != resetText {
		t.Errorf("body = %q\nwant   %q", body, resetText)
	}

	// A second message gets a different Message-ID.
	if err := s.Send(context.Background(), Message{To: "carol@example.org", Subject: "Hi", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	msgs = srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("got %d messages", len(msgs))
	}
	m2, body2 := parse(t, msgs[1])
	if m2.Header.Get("Message-ID") == h.Get("Message-ID") {
		t.Error("Message-ID reused")
	}
	if m2.Header.Get("Subject") != "Hi" || body2 != "x\r\n" && body2 != "x\n" {
		t.Errorf("second message: subject %q body %q", m2.Header.Get("Subject"), body2)
	}
}

func TestSendWithoutAuth(t *testing.T) {
	srv := mailtest.NewServer(t)
	s, err := NewSMTP("smtp://127.0.0.1:"+srv.Port(), "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), Message{To: "a@b.example", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].User != "" {
		t.Fatalf("messages = %+v", msgs)
	}
}

func TestSendBadCredentials(t *testing.T) {
	srv := mailtest.NewServer(t)
	srv.User, srv.Pass = "u", "right"
	s, err := NewSMTP("smtp://u:wrong@localhost:"+srv.Port(), "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), Message{To: "a@b.example", Subject: "s", Text: "t"})
	if err == nil || !strings.Contains(err.Error(), "auth") {
		t.Fatalf("err = %v, want auth failure", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the password: %v", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}

func TestPlainAuthRefusedInCleartext(t *testing.T) {
	// net/smtp refuses PLAIN over an unencrypted connection unless the server
	// name is exactly localhost, 127.0.0.1 or ::1; the IPv4-mapped address
	// reaches the same server under another name.
	srv := mailtest.NewServer(t)
	s, err := NewSMTP("smtp://u:p@[::ffff:127.0.0.1]:"+srv.Port(), "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), Message{To: "a@b.example", Subject: "s", Text: "t"})
	if err == nil || !strings.Contains(err.Error(), "unencrypted") {
		t.Fatalf("err = %v, want unencrypted-connection refusal", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	srv := mailtest.NewTLSServer(t)
	s, err := NewSMTP("smtps://u:p@127.0.0.1:"+srv.Port(), "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	s.tlsConfig = srv.ClientTLSConfig()
	if err := s.Send(context.Background(), Message{To: "a@b.example", Subject: "over tls", Text: "secret link"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].User != "u" {
		t.Fatalf("messages = %+v", msgs)
	}
	if _, body := parse(t, msgs[0]); strings.TrimSpace(body) != "secret link" {
		t.Errorf("body = %q", body)
	}

	// Without trusting the certificate the handshake must fail.
	s.tlsConfig = nil
	if err := s.Send(context.Background(), Message{To: "a@b.example", Subject: "s", Text: "t"}); err == nil {
		t.Error("want certificate error")
	}
}

func TestNewSMTP(t *testing.T) {
	tests := []struct {
		url               string
		host, port        string
		implicit          bool
		user, pass        string
		wantErr           string // substring; "" means success
		errMustNotContain string
	}{
		{url: "smtp://user:pass@mail.example.com:2525", host: "mail.example.com", port: "2525", user: "user", pass: "pass"},
		{url: "smtp://mail.example.com", host: "mail.example.com", port: "587"},
		{url: "smtp://mail.example.com/", host: "mail.example.com", port: "587"},
		{url: "SMTP://u@mail.example.com", host: "mail.example.com", port: "587", user: "u"},
		{url: "smtps://u:p%3Ax@mail.example.com", host: "mail.example.com", port: "465", implicit: true, user: "u", pass: "p:x"},
		{url: "smtps://mail.example.com:10465", host: "mail.example.com", port: "10465", implicit: true},
		{url: "smtp://[::1]:25", host: "::1", port: "25"},
		{url: "  smtp://localhost:25 ", host: "localhost", port: "25"},
		{url: "", wantErr: "missing scheme"},
		{url: "mail.example.com:25", wantErr: "scheme"},
		{url: "http://mail.example.com", wantErr: `unknown scheme "http"`},
		{url: "smtp://", wantErr: "missing host"},
		{url: "smtp://user:secret@:25", wantErr: "missing host", errMustNotContain: "secret"},
		{url: "smtp:///path", wantErr: "missing host"},
		{url: "smtp://host:0", wantErr: "bad port"},
		{url: "smtp://host:70000", wantErr: "bad port"},
		{url: "smtp://host:", wantErr: "empty port"},
		{url: "smtp://user:secret@host:abc", wantErr: "invalid", errMustNotContain: "secret"},
		{url: "smtp://host/path", wantErr: "unexpected path"},
		{url: "smtp://host?x=1", wantErr: "unexpected path"},
		{url: "smtp://:secret@host", wantErr: "empty user", errMustNotContain: "secret"},
		{url: "smtp:host", wantErr: "invalid SMTP URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			s, err := NewSMTP(tt.url, "no-reply@example.com")
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("want error containing %q, got %+v", tt.wantErr, s)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %q, want it to contain %q", err, tt.wantErr)
				}
				if tt.errMustNotContain != "" && strings.Contains(err.Error(), tt.errMustNotContain) {
					t.Errorf("err = %q leaks %q", err, tt.errMustNotContain)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.host != tt.host || s.port != tt.port || s.implicitTLS != tt.implicit || s.user != tt.user || s.pass != tt.pass {
				t.Errorf("got host %q port %q tls %v user %q pass %q", s.host, s.port, s.implicitTLS, s.user, s.pass)
			}
		})
	}
}

func TestNewSMTPFrom(t *testing.T) {
	for _, from := range []string{"", "not an address", "a@b.example\r\nBcc: x@y.example"} {
		if _, err := NewSMTP("smtp://localhost", from); err == nil {
			t.Errorf("from %q: want error", from)
		}
	}
	if s, err := NewSMTP("smtp://localhost", `"Agent Bot" <bot@example.com>`); err != nil || s.from.Address != "bot@example.com" {
		t.Errorf("got %v, %v", s, err)
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	srv := mailtest.NewServer(t)
	s, err := NewSMTP("smtp://localhost:"+srv.Port(), "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	senders := map[string]Sender{
		"smtp":     s,
		"log":      Log{Log: slog.New(slog.NewTextHandler(&logBuf, nil))},
		"disabled": Disabled{Log: slog.New(slog.NewTextHandler(&logBuf, nil))},
	}
	bad := []Message{
		{To: "victim@example.org\r\nBcc: everyone@example.org", Subject: "s", Text: "t"},
		{To: "victim@example.org\nBcc: everyone@example.org", Subject: "s", Text: "t"},
		{To: "victim@example.org", Subject: "hi\r\nBcc: everyone@example.org", Text: "t"},
		{To: "victim@example.org", Subject: "hi\rX-Evil: 1", Text: "t"},
	}
	for name, snd := range senders {
		for _, m := range bad {
			if err := snd.Send(context.Background(), m); !errors.Is(err, ErrHeaderInjection) {
				t.Errorf("%s: Send(%q, %q) = %v, want ErrHeaderInjection", name, m.To, m.Subject, err)
			}
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
	if logBuf.Len() != 0 {
		t.Errorf("rejected messages were logged: %s", logBuf.String())
	}
	// Invalid or empty recipients are refused too.
	for _, to := range []string{"", "not an address", "a@b.example, c@d.example"} {
		if err := s.Send(context.Background(), Message{To: to, Subject: "s", Text: "t"}); err == nil {
			t.Errorf("To %q: want error", to)
		}
	}
}

// silentServer accepts connections and never says anything.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// sendBounded runs Send and fails the test if it has not returned within 15s.
func sendBounded(t *testing.T, ctx context.Context, s *SMTP) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, Message{To: "a@b.example", Subject: "s", Text: "t"}) }()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Send did not return within 15s")
		return nil
	}
}

func TestSilentServer(t *testing.T) {
	for _, scheme := range []string{"smtp", "smtps"} {
		t.Run(scheme, func(t *testing.T) {
			port := silentServer(t)
			newSMTP := func() *SMTP {
				s, err := NewSMTP(scheme+"://u:p@localhost:"+port, "no-reply@example.com")
				if err != nil {
					t.Fatal(err)
				}
				return s
			}

			t.Run("ctx deadline", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				err := sendBounded(t, ctx, newSMTP())
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want DeadlineExceeded", err)
				}
			})

			t.Run("ctx cancel", func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(300*time.Millisecond, cancel)
				err := sendBounded(t, ctx, newSMTP())
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want Canceled", err)
				}
			})

			t.Run("already cancelled", func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				if err := sendBounded(t, ctx, newSMTP()); !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want Canceled", err)
				}
			})

			t.Run("own timeout", func(t *testing.T) {
				s := newSMTP()
				s.timeout = 300 * time.Millisecond // stands in for the 10s default
				if err := sendBounded(t, context.Background(), s); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want DeadlineExceeded", err)
				}
			})
		})
	}
}

func TestDefaultTimeout(t *testing.T) {
	s, err := NewSMTP("smtp://localhost", "a@b.example")
	if err != nil {
		t.Fatal(err)
	}
	if s.timeout != 10*time.Second {
		t.Errorf("timeout = %v", s.timeout)
	}
}

func logRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(buf)
	for dec.More() {
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

func TestLogSender(t *testing.T) {
	var buf bytes.Buffer
	l := Log{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	m := Message{To: "bob@example.org", Subject: "Reset", Text: resetText}
	if err := l.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	recs := logRecords(t, &buf)
	if len(recs) != 1 {
		t.Fatalf("records = %v", recs)
	}
	r := recs[0]
	if r["level"] != "INFO" || r["to"] != m.To || r["subject"] != m.Subject || r["text"] != m.Text {
		t.Errorf("record = %v", r)
	}
	// The zero value logs to slog.Default.
	if logger(nil) != slog.Default() {
		t.Error("nil Log does not fall back to slog.Default")
	}
}

func TestDisabledSender(t *testing.T) {
	var buf bytes.Buffer
	d := Disabled{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	m := Message{To: "bob@example.org", Subject: "Reset subject", Text: resetText}
	if err := d.Send(context.Background(), m); err != nil {
		t.Fatalf("Send = %v, want nil", err)
	}
	raw := buf.String()
	recs := logRecords(t, &buf)
	if len(recs) != 1 || recs[0]["level"] != "WARN" || recs[0]["to"] != m.To {
		t.Fatalf("records = %v", recs)
	}
	if strings.Contains(raw, "reset-password") || strings.Contains(raw, "token=") || strings.Contains(raw, "Hello Bob") {
		t.Errorf("body leaked into the log: %s", raw)
	}
	if strings.Contains(raw, m.Subject) {
		t.Errorf("subject logged: %s", raw)
	}
}
