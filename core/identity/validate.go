package identity

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/store"
)

var errorsIs = errors.Is

// emailRE: something@something.something, no spaces.
var emailRE = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)

// normEmail returns an address in the one canonical form the platform stores,
// compares and matches against ADMIN_EMAILS: printable ASCII, lower-cased.
// Addresses with other characters are refused rather than folded, because
// Unicode case folding differs between Go and the databases (the Kelvin sign
// K folds to k in Go, not in SQLite), and look-alikes would slip between them.
// Internationalised domains work in their punycode (xn--) form.
func normEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", api.Validation("Email is required")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return "", api.Validation("Email must be printable ASCII (write an internationalised domain in its xn-- form)")
		}
	}
	if len(s) > 254 || !emailRE.MatchString(s) {
		return "", api.Validation("Invalid email address")
	}
	return strings.ToLower(s), nil
}

func checkPassword(field, pw string) error {
	if pw == "" {
		return api.Validation(field + " is required")
	}
	if utf8.RuneCountInString(pw) < auth.MinPassword {
		return api.Validation(field + " must be at least 8 characters")
	}
	if len(pw) > auth.MaxPassword {
		return api.Validation(field + " must be at most 72 bytes")
	}
	return nil
}

func checkName(field, name string, max int) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", api.Validation(field + " is required")
	}
	if utf8.RuneCountInString(name) > max {
		return "", api.Validation(field + " is too long")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", api.Validation(field + " must not contain control characters")
		}
	}
	return name, nil
}

var referralRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,20}$`)

// timeFormat renders timestamps (RFC 3339, UTC, milliseconds).
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

var errNotFound = store.ErrNotFound

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (s *Service) sessionTTL() time.Duration {
	if s.SessionTTL > 0 {
		return s.SessionTTL
	}
	return 30 * 24 * time.Hour
}
