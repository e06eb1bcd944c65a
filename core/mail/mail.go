// Package mail sends transactional mail (password resets, verification links)
// through a Sender: SMTP for real delivery, Log for development (the whole
// message, body included, goes to the log) and Disabled for a production
// deployment without SMTP (the message is dropped with a warning naming only
// the recipient).
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
)

// Message is one plain-text mail to a single recipient.
type Message struct {
	To      string
	Subject string
	Text    string
}

// Sender delivers a Message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrHeaderInjection is returned for a To or Subject holding CR or LF.
var ErrHeaderInjection = errors.New("mail: CR or LF in header field")

// validate checks the header fields and returns the parsed recipient.
func validate(m Message) (*mail.Address, error) {
	if strings.ContainsAny(m.To, "\r\n") {
		return nil, fmt.Errorf("%w: To", ErrHeaderInjection)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, fmt.Errorf("%w: Subject", ErrHeaderInjection)
	}
	if strings.TrimSpace(m.To) == "" {
		return nil, errors.New("mail: empty recipient")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("mail: invalid recipient: %w", err)
	}
	return to, nil
}

// Log is the development sender: it writes the whole message, body included,
// to the log at info level. Never use it in production: bodies carry
// password-reset links.
type Log struct {
	Log *slog.Logger
}

// Send logs m.
func (l Log) Send(ctx context.Context, m Message) error {
	if _, err := validate(m); err != nil {
		return err
	}
	logger(l.Log).InfoContext(ctx, "mail (dev sender, not delivered)",
		"to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}

// Disabled is the production sender when SMTP is not configured: it drops the
// message, logging a warning that names the recipient only, and returns nil.
type Disabled struct {
	Log *slog.Logger
}

// Send drops m.
func (d Disabled) Send(ctx context.Context, m Message) error {
	if _, err := validate(m); err != nil {
		return err
	}
	logger(d.Log).WarnContext(ctx, "mail not sent: SMTP is not configured", "to", m.To)
	return nil
}

func logger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.Default()
}
