// Package siwe reads and checks Sign-In with Ethereum messages (EIP-4361):
// a strict parser that accepts exactly the messages the specification's ABNF
// describes (and renders them back byte for byte), and the relying party's
// checks of a parsed message against what this server expects: domain and
// scheme, URI origin, chain id, and the validity window. The nonce (single
// use) and the signature (EOA or smart wallet) are checked by the caller,
// which holds the nonce store and the chain (core/identity).
package siwe

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/agentbot/gateway/core/evm"
)

// MaxLength bounds a message in bytes; a sign-in message is a few hundred.
const MaxLength = 8 << 10

// Message is a parsed EIP-4361 message. Optional fields are empty when
// absent; an optional field present with an empty value is refused by Parse
// (write no field instead), so that every message has one spelling.
type Message struct {
	// Scheme is the optional URI scheme of the requesting origin ("https").
	Scheme string
	// Domain is the requesting origin's authority: host and optional port.
	Domain    string
	Address   evm.Address
	Statement string
	URI       string
	Version   string // always "1"
	ChainID   uint64
	Nonce     string
	IssuedAt  Timestamp
	// ExpirationTime and NotBefore are zero when absent.
	ExpirationTime Timestamp
	NotBefore      Timestamp
	RequestID      string
	Resources      []string
}

// Timestamp is an RFC 3339 date-time as the message spells it (the spelling
// is signed, so it is kept).
type Timestamp struct {
	Time time.Time
	text string
}

// NewTimestamp is t in UTC as RFC 3339 with milliseconds, as viem writes it.
func NewTimestamp(t time.Time) Timestamp {
	t = t.UTC().Truncate(time.Millisecond)
	return Timestamp{Time: t, text: t.Format("2006-01-02T15:04:05.000Z07:00")}
}

// IsZero reports whether the timestamp is absent.
func (t Timestamp) IsZero() bool { return t.text == "" }

// String is the timestamp as written in the message.
func (t Timestamp) String() string { return t.text }

// ErrSyntax is wrapped by every error of Parse.
var ErrSyntax = errors.New("siwe: not an EIP-4361 message")

// SyntaxError says which line of a message is wrong, and how.
type SyntaxError struct {
	Line int // 1-based
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("siwe: line %d: %s", e.Line, e.Msg) }
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

const header = " wants you to sign in with your Ethereum account:"

// Field prefixes, in the order the specification fixes.
const (
	prefixURI        = "URI: "
	prefixVersion    = "Version: "
	prefixChainID    = "Chain ID: "
	prefixNonce      = "Nonce: "
	prefixIssuedAt   = "Issued At: "
	prefixExpiration = "Expiration Time: "
	prefixNotBefore  = "Not Before: "
	prefixRequestID  = "Request ID: "
	lineResources    = "Resources:"
	prefixResource   = "- "
)

// Parse reads s strictly: lines separated by LF alone, no trailing LF, the
// fields in the specification's order with its exact labels, and each value
// in its ABNF form. Beyond the ABNF it also requires: the address in its
// EIP-55 checksummed form, a domain without userinfo, a chain id without
// leading zeros that fits 64 bits, and no empty optional values.
func Parse(s string) (*Message, error) {
	if len(s) > MaxLength {
		return nil, &SyntaxError{1, fmt.Sprintf("longer than %d bytes", MaxLength)}
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		for j := 0; j < len(l); j++ {
			if l[j] < 0x20 || l[j] > 0x7e {
				return nil, &SyntaxError{i + 1, fmt.Sprintf("character %q at column %d (only printable ASCII and LF)", l[j], j+1)}
			}
		}
	}
	p := &parser{lines: lines}
	m := &Message{}

	// [ scheme "://" ] domain " wants you to sign in with your Ethereum account:"
	first, ok := strings.CutSuffix(p.next(), header)
	if !ok {
		return nil, p.fail("want %q after the domain", strings.TrimPrefix(header, " "))
	}
	if scheme, domain, found := strings.Cut(first, "://"); found {
		if !isScheme(scheme) {
			return nil, p.fail("%q is not a URI scheme", scheme)
		}
		m.Scheme, first = scheme, domain
	}
	if !isAuthority(first) {
		return nil, p.fail("%q is not a domain (host and optional port)", first)
	}
	m.Domain = first

	addr := p.next()
	a, err := evm.ParseAddress(addr)
	if err != nil || a.Hex() != addr {
		return nil, p.fail("%q is not an address in its EIP-55 checksummed form", addr)
	}
	m.Address = a
	if p.next() != "" {
		return nil, p.fail("want an empty line after the address")
	}
	// [ statement LF ] LF: with no statement the next line is already empty.
	if st := p.next(); st != "" {
		if !isStatement(st) {
			return nil, p.fail("the statement may hold only letters, digits, spaces and RFC 3986 reserved or unreserved characters")
		}
		m.Statement = st
		if p.next() != "" {
			return nil, p.fail("want an empty line after the statement")
		}
	}

	if m.URI, err = p.field(prefixURI, isURI, "a URI"); err != nil {
		return nil, err
	}
	if m.Version, err = p.field(prefixVersion, func(v string) bool { return v == "1" }, "1"); err != nil {
		return nil, err
	}
	chain, err := p.field(prefixChainID, isChainID, "a chain id (a positive decimal without leading zeros, below 2^64)")
	if err != nil {
		return nil, err
	}
	m.ChainID, _ = strconv.ParseUint(chain, 10, 64)
	if m.Nonce, err = p.field(prefixNonce, isNonce, "a nonce (at least 8 letters or digits)"); err != nil {
		return nil, err
	}
	if m.IssuedAt, err = p.timestamp(prefixIssuedAt); err != nil {
		return nil, err
	}
	if p.has(prefixExpiration) {
		if m.ExpirationTime, err = p.timestamp(prefixExpiration); err != nil {
			return nil, err
		}
	}
	if p.has(prefixNotBefore) {
		if m.NotBefore, err = p.timestamp(prefixNotBefore); err != nil {
			return nil, err
		}
	}
	if p.has(prefixRequestID) {
		if m.RequestID, err = p.field(prefixRequestID, isRequestID, "a request id (RFC 3986 pchar)"); err != nil {
			return nil, err
		}
	}
	if p.has(lineResources) {
		if p.next() != lineResources {
			return nil, p.fail("want %q alone on its line", lineResources)
		}
		for p.more() {
			r, err := p.field(prefixResource, isURI, "a URI")
			if err != nil {
				return nil, err
			}
			m.Resources = append(m.Resources, r)
		}
		if len(m.Resources) == 0 {
			return nil, p.fail("Resources: lists no resource")
		}
	}
	if p.more() {
		p.next()
		return nil, p.fail("unexpected line (fields out of order, unknown, or repeated?)")
	}
	return m, nil
}

type parser struct {
	lines []string
	i     int
}

func (p *parser) more() bool { return p.i < len(p.lines) }

// next returns the next line; past the end it returns "\x00", which matches
// nothing.
func (p *parser) next() string {
	p.i++
	if p.i > len(p.lines) {
		return "\x00"
	}
	return p.lines[p.i-1]
}

func (p *parser) has(prefix string) bool { return p.more() && strings.HasPrefix(p.lines[p.i], prefix) }

func (p *parser) fail(format string, args ...any) error {
	line := min(p.i, len(p.lines)+1)
	if p.i > len(p.lines) {
		return &SyntaxError{line, "the message ends early: " + fmt.Sprintf(format, args...)}
	}
	return &SyntaxError{line, fmt.Sprintf(format, args...)}
}

func (p *parser) field(prefix string, valid func(string) bool, what string) (string, error) {
	l := p.next()
	v, ok := strings.CutPrefix(l, prefix)
	if !ok {
		return "", p.fail("want %q", strings.TrimSpace(prefix)+" …")
	}
	if !valid(v) {
		return "", p.fail("%s%q is not %s", prefix, v, what)
	}
	return v, nil
}

// dateTime is RFC 3339's date-time, upper-case T and Z.
var dateTime = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`)

func (p *parser) timestamp(prefix string) (Timestamp, error) {
	var t time.Time
	v, err := p.field(prefix, func(v string) bool {
		if !dateTime.MatchString(v) {
			return false
		}
		var err error
		t, err = time.Parse(time.RFC3339Nano, v)
		return err == nil
	}, "an RFC 3339 date-time")
	if err != nil {
		return Timestamp{}, err
	}
	return Timestamp{Time: t.UTC(), text: v}, nil
}

// String renders m as the specification lays it out; for a parsed message it
// is the text that was parsed.
func (m *Message) String() string {
	var b strings.Builder
	if m.Scheme != "" {
		b.WriteString(m.Scheme + "://")
	}
	b.WriteString(m.Domain + header + "\n" + m.Address.Hex() + "\n\n")
	if m.Statement != "" {
		b.WriteString(m.Statement + "\n")
	}
	b.WriteString("\n" + prefixURI + m.URI + "\n" + prefixVersion + m.Version + "\n" +
		prefixChainID + strconv.FormatUint(m.ChainID, 10) + "\n" + prefixNonce + m.Nonce + "\n" +
		prefixIssuedAt + m.IssuedAt.String())
	if !m.ExpirationTime.IsZero() {
		b.WriteString("\n" + prefixExpiration + m.ExpirationTime.String())
	}
	if !m.NotBefore.IsZero() {
		b.WriteString("\n" + prefixNotBefore + m.NotBefore.String())
	}
	if m.RequestID != "" {
		b.WriteString("\n" + prefixRequestID + m.RequestID)
	}
	if len(m.Resources) > 0 {
		b.WriteString("\n" + lineResources)
		for _, r := range m.Resources {
			b.WriteString("\n" + prefixResource + r)
		}
	}
	return b.String()
}
