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

// emailRE is the seed's rule: something@something.something, no spaces.
var emailRE = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)

func normEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", api.Validation("Email is required")
	}
	if len(s) > 254 || !emailRE.MatchString(s) {
		return "", api.Validation("Invalid email address")
	}
	return s, nil
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

// timeFormat renders timestamps (CONTRACT §1: RFC 3339 UTC).
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

var errNotFound = store.ErrNotFound

func lower(s string) string { return strings.ToLower(s) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (s *Service) sessionTTL() time.Duration {
	if s.SessionTTL > 0 {
		return s.SessionTTL
	}
	return 30 * 24 * time.Hour
}
