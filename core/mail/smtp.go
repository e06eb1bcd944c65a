package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Timeout bounds one Send, dial included.
const Timeout = 10 * time.Second

// SMTP sends mail through an SMTP server. Build it with NewSMTP.
type SMTP struct {
	host        string
	port        string
	implicitTLS bool
	user, pass  string
	from        *mail.Address

	// Overridable in tests.
	timeout   time.Duration
	tlsConfig *tls.Config
	now       func() time.Time
}

// NewSMTP configures an SMTP sender from a URL:
//
//	smtp://user:pass@host:port   plain connection upgraded with STARTTLS when
//	                             the server offers it; port defaults to 587
//	smtps://user:pass@host:port  implicit TLS; port defaults to 465
//
// The user part is optional; with it, Send authenticates with AUTH PLAIN
// (which net/smtp only allows over TLS or to localhost). Percent-encode
// special characters in the user and password. from is the sender address,
// optionally with a display name ("Agentbot <no-reply@example.com>").
// Errors never echo the URL, which may hold a password.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("mail: invalid SMTP URL: %v", err)
	}
	s := &SMTP{timeout: Timeout, now: time.Now}
	var defPort string
	switch u.Scheme {
	case "smtp":
		defPort = "587"
	case "smtps":
		defPort = "465"
		s.implicitTLS = true
	case "":
		return nil, errors.New(`mail: invalid SMTP URL: missing scheme (want "smtp://" or "smtps://")`)
	default:
		return nil, fmt.Errorf(`mail: invalid SMTP URL: unknown scheme %q (want "smtp" or "smtps")`, u.Scheme)
	}
	if u.Opaque != "" {
		return nil, errors.New(`mail: invalid SMTP URL: want "scheme://[user:pass@]host[:port]"`)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("mail: invalid SMTP URL: missing host")
	}
	s.port = u.Port()
	if s.port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return nil, errors.New("mail: invalid SMTP URL: empty port")
		}
		s.port = defPort
	}
	if n, err := strconv.Atoi(s.port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("mail: invalid SMTP URL: bad port %q", s.port)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("mail: invalid SMTP URL: unexpected path, query or fragment")
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" {
			return nil, errors.New("mail: invalid SMTP URL: empty user name")
		}
	}
	if strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("%w: From", ErrHeaderInjection)
	}
	if s.from, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: invalid from address: %w", err)
	}
	return s, nil
}

// Addr is the server's host:port.
func (s *SMTP) Addr() string { return net.JoinHostPort(s.host, s.port) }

// Send delivers m. It gives up after Timeout or when ctx ends, whichever
// comes first; To or Subject holding CR or LF are refused before dialling.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := validate(m)
	if err != nil {
		return err
	}
	msg, err := s.build(to, m)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.send(ctx, to.Address, msg); err != nil {
		cerr := ctx.Err()
		if cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
			// The connection deadline is ctx's; its timer may not have fired yet.
			cerr = context.DeadlineExceeded
		}
		if cerr != nil {
			return fmt.Errorf("mail: send via %s: %w (%v)", s.Addr(), cerr, err)
		}
		return fmt.Errorf("mail: send via %s: %w", s.Addr(), err)
	}
	return nil
}

func (s *SMTP) send(ctx context.Context, rcpt string, msg []byte) error {
	var conn net.Conn
	var err error
	if s.implicitTLS {
		d := tls.Dialer{Config: s.tlsConf()}
		conn, err = d.DialContext(ctx, "tcp", s.Addr())
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", s.Addr())
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return err
		}
	}
	// Unblock any pending read or write as soon as ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if !s.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConf()); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		}
	}
	if s.user != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("server does not offer AUTH")
		}
		if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func (s *SMTP) tlsConf() *tls.Config {
	if s.tlsConfig != nil {
		c := s.tlsConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = s.host
		}
		return c
	}
	return &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
}

// build renders the RFC 5322 message: headers, then the quoted-printable body.
func (s *SMTP) build(to *mail.Address, m Message) ([]byte, error) {
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", s.from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", s.now().Format(time.RFC1123Z))
	header("Message-ID", messageID(s.from.Address))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	text := strings.ReplaceAll(m.Text, "\r\n", "\n")
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

func messageID(from string) string {
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	var r [16]byte
	_, _ = rand.Read(r[:])
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">"
}
