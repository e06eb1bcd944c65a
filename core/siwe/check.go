package siwe

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Reason says which check a message failed.
type Reason int

const (
	// Domain: the domain, the scheme or the URI's origin is not this
	// server's: the message was made for another site.
	Domain Reason = iota + 1
	// Chain: the chain id is not one this server accepts.
	Chain
	// Expired: the expiration time has passed, or the message was issued
	// too long ago.
	Expired
	// NotYetValid: the not-before time, or the issue time, is in the future.
	NotYetValid
)

// CheckError is a message that is well formed but not acceptable.
type CheckError struct {
	Reason Reason
	Msg    string
}

func (e *CheckError) Error() string { return "siwe: " + e.Msg }

// Expect is what a message must match.
type Expect struct {
	// Origin is this server's public origin, e.g. https://agentbot.example:
	// the domain must be its host (and port), the scheme, when the message
	// has one, its scheme, and the URI must be on it.
	Origin *url.URL
	// ChainIDs are the chains a message may name.
	ChainIDs []uint64
	Now      time.Time
	// MaxAge bounds how long ago the message may have been issued.
	MaxAge time.Duration
	// Skew is the clock difference tolerated for times in the future.
	Skew time.Duration
}

// Check returns nil if m matches e, or a *CheckError.
func (m *Message) Check(e Expect) error {
	originScheme := strings.ToLower(e.Origin.Scheme)
	if m.Scheme != "" && !strings.EqualFold(m.Scheme, originScheme) {
		return &CheckError{Domain, fmt.Sprintf("the message is for scheme %q; this server is %s", m.Scheme, originScheme)}
	}
	if !sameHost(m.Domain, originScheme, e.Origin.Host) {
		return &CheckError{Domain, fmt.Sprintf("the message is for domain %q; this server is %s", m.Domain, e.Origin.Host)}
	}
	u, err := url.Parse(m.URI)
	if err != nil || !strings.EqualFold(u.Scheme, originScheme) || !sameHost(u.Host, originScheme, e.Origin.Host) || u.User != nil {
		return &CheckError{Domain, fmt.Sprintf("the message's URI %q is not on %s://%s", m.URI, originScheme, e.Origin.Host)}
	}
	if !slices.Contains(e.ChainIDs, m.ChainID) {
		return &CheckError{Chain, fmt.Sprintf("chain id %d is not accepted here (accepted: %v)", m.ChainID, e.ChainIDs)}
	}
	now := e.Now
	if !m.ExpirationTime.IsZero() && !now.Before(m.ExpirationTime.Time) {
		return &CheckError{Expired, "the message expired at " + m.ExpirationTime.String()}
	}
	if m.IssuedAt.Time.Before(now.Add(-e.MaxAge)) {
		return &CheckError{Expired, fmt.Sprintf("the message was issued at %s, more than %v ago", m.IssuedAt, e.MaxAge)}
	}
	if m.IssuedAt.Time.After(now.Add(e.Skew)) {
		return &CheckError{NotYetValid, "the message is issued in the future (" + m.IssuedAt.String() + ")"}
	}
	if !m.NotBefore.IsZero() && m.NotBefore.Time.After(now.Add(e.Skew)) {
		return &CheckError{NotYetValid, "the message is not valid before " + m.NotBefore.String()}
	}
	return nil
}

// sameHost compares two authorities case-insensitively, a missing port
// standing for the scheme's default one.
func sameHost(a, scheme, b string) bool {
	return strings.EqualFold(withPort(a, scheme), withPort(b, scheme))
}

func withPort(host, scheme string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		return host
	}
	switch scheme {
	case "http":
		return host + ":80"
	case "https":
		return host + ":443"
	}
	return host
}
