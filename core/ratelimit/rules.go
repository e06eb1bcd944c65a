// Package ratelimit owns request throttling (docs/api-conventions.md#limits): the per-path rule
// table and its configuration syntax, the HTTP middleware that counts requests in
// fixed windows per user (or per client IP) and answers 429 with the contract's
// RateLimit-* and Retry-After headers, the failed sign-in Counter, the choice of
// counter store (in memory, or Redis so that gateway nodes share budgets), and
// the derivation of the client IP from X-Forwarded-For behind trusted proxies.
package ratelimit

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/ulule/limiter/v3"
)

// Rule limits the requests whose path is Prefix or lies under Prefix + "/".
type Rule struct {
	// Name identifies the rule's counters; it must be unique within a rule set.
	Name string
	// Prefix is a path such as "/api/agents"; it matches "/api/agents" and
	// "/api/agents/x" but not "/api/agentsx".
	Prefix string
	// Rate is the number of requests allowed per fixed window.
	Rate limiter.Rate
	// PerIP keys the rule by client IP even for authenticated callers (for
	// endpoints used before or instead of signing in).
	PerIP bool
}

// Rules is a rule table plus the rate of requests no rule matches.
type Rules struct {
	Rules   []Rule
	Default limiter.Rate
}

// DefaultName is the name of the rule applied to paths no rule matches.
const DefaultName = "default"

func perMinute(n int64) limiter.Rate {
	return limiter.Rate{Formatted: fmt.Sprintf("%d-M", n), Period: time.Minute, Limit: n}
}

func perHour(n int64) limiter.Rate {
	return limiter.Rate{Formatted: fmt.Sprintf("%d-H", n), Period: time.Hour, Limit: n}
}

// DefaultRules returns the default rule table (the README's rate-limit list).
func DefaultRules() []Rule {
	return []Rule{
		{Name: "gateway", Prefix: "/api/v1/gateway", Rate: perMinute(100)},
		{Name: "agents", Prefix: "/api/agents", Rate: perMinute(100)},
		{Name: "chat", Prefix: "/api/chat", Rate: perMinute(60)},
		{Name: "instance", Prefix: "/api/instance", Rate: perMinute(30)},
		{Name: "provision", Prefix: "/api/provision", Rate: perMinute(5), PerIP: true},
		{Name: "register", Prefix: "/api/register", Rate: perMinute(10), PerIP: true},
		{Name: "forgot-password", Prefix: "/api/auth/forgot-password", Rate: perMinute(10), PerIP: true},
		{Name: "reset-password", Prefix: "/api/auth/reset-password", Rate: perMinute(10), PerIP: true},
		{Name: "verify-email", Prefix: "/api/auth/verify-email", Rate: perMinute(10), PerIP: true},
		// Sign-in with Ethereum: each nonce is a row until used or expired,
		// and each sign-in may cost a call to the chain.
		{Name: "siwe-nonce", Prefix: "/api/auth/nonce", Rate: perMinute(30), PerIP: true},
		{Name: "siwe", Prefix: "/api/auth/callback/wallet", Rate: perMinute(20), PerIP: true},
		// Farcaster sign-in may fetch the issuer's keys; token gating calls
		// the chain on a cache miss.
		{Name: "farcaster", Prefix: "/api/auth/farcaster", Rate: perMinute(20), PerIP: true},
		{Name: "token-gating", Prefix: "/api/auth/token-gating", Rate: perMinute(30), PerIP: true},
		// Each resend mails a link: a few an hour per account.
		{Name: "verify-email-resend", Prefix: "/api/auth/verify-email/resend", Rate: perHour(5)},
		// Stripe delivers webhooks in bursts from a few addresses; every
		// delivery is signature-checked before it does any work.
		{Name: "stripe-webhooks", Prefix: "/api/webhooks/stripe", Rate: perMinute(1000), PerIP: true},
		// Telegram and Meta deliver every bot's webhooks from a few
		// addresses; each delivery is authenticated before it is kept.
		{Name: "channel-webhooks", Prefix: "/api/channels", Rate: perMinute(3000), PerIP: true},
	}
}

// DefaultRate is the rate for paths no rule matches: 120 per minute.
func DefaultRate() limiter.Rate { return perMinute(120) }

// Defaults returns DefaultRules with DefaultRate.
func Defaults() Rules { return Rules{Rules: DefaultRules(), Default: DefaultRate()} }

// Match returns the rule with the longest prefix matching urlPath, or a rule
// named DefaultName carrying rs.Default when none matches. The path is cleaned
// first, so "/api//chat" and "/api/x/../chat" count as "/api/chat".
func (rs Rules) Match(urlPath string) Rule {
	if urlPath != "" {
		urlPath = path.Clean(urlPath)
	}
	best := -1
	for i, r := range rs.Rules {
		if matches(r.Prefix, urlPath) && (best < 0 || len(r.Prefix) > len(rs.Rules[best].Prefix)) {
			best = i
		}
	}
	if best < 0 {
		return Rule{Name: DefaultName, Rate: rs.Default}
	}
	return rs.Rules[best]
}

func matches(prefix, urlPath string) bool {
	return urlPath == prefix || strings.HasPrefix(urlPath, prefix+"/")
}

// ParseRules applies spec to a copy of base and returns it. spec is a comma list
// of "<prefix>=<rate>" entries in ulule's rate format (<limit>-<S|M|H|D>), e.g.
// "/api/chat=60-M,/api/register=10-M,default=200-M". An entry whose prefix is
// already in base changes that rule's rate (its name and PerIP are kept); any
// other prefix adds a per-user rule named after the prefix; "default" sets the
// rate of unmatched paths. An empty spec returns base unchanged.
func ParseRules(base Rules, spec string) (Rules, error) {
	out := Rules{Rules: append([]Rule(nil), base.Rules...), Default: base.Default}
	seen := make(map[string]bool)
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		prefix, rateSpec, ok := strings.Cut(entry, "=")
		prefix, rateSpec = strings.TrimSpace(prefix), strings.TrimSpace(rateSpec)
		if !ok || prefix == "" || rateSpec == "" {
			return Rules{}, fmt.Errorf("ratelimit: bad entry %q: want <path prefix>=<limit>-<S|M|H|D>, e.g. /api/chat=60-M", entry)
		}
		rate, err := parseRate(rateSpec)
		if err != nil {
			return Rules{}, fmt.Errorf("ratelimit: bad entry %q: %v", entry, err)
		}
		if prefix != DefaultName {
			if !strings.HasPrefix(prefix, "/") {
				return Rules{}, fmt.Errorf("ratelimit: bad entry %q: path prefix must start with \"/\" (or be %q)", entry, DefaultName)
			}
			prefix = strings.TrimRight(prefix, "/")
			if prefix == "" || path.Clean(prefix) == "/" {
				return Rules{}, fmt.Errorf("ratelimit: bad entry %q: use %q to limit every path", entry, DefaultName)
			}
			// Match cleans request paths, so a prefix with "//", "." or ".."
			// segments would never match anything.
			if clean := path.Clean(prefix); clean != prefix {
				return Rules{}, fmt.Errorf("ratelimit: bad entry %q: path prefix %q never matches a request path; write %q", entry, prefix, clean)
			}
		}
		if seen[prefix] {
			return Rules{}, fmt.Errorf("ratelimit: bad entry %q: %s is set more than once", entry, prefix)
		}
		seen[prefix] = true
		if prefix == DefaultName {
			out.Default = rate
			continue
		}
		found := false
		for i := range out.Rules {
			if out.Rules[i].Prefix == prefix {
				out.Rules[i].Rate = rate
				found = true
			}
		}
		if !found {
			out.Rules = append(out.Rules, Rule{Name: prefix, Prefix: prefix, Rate: rate})
		}
	}
	return out, nil
}

func parseRate(s string) (limiter.Rate, error) {
	rate, err := limiter.NewRateFromFormatted(s)
	if err != nil {
		return limiter.Rate{}, fmt.Errorf("rate %q must look like <limit>-<S|M|H|D>, e.g. 60-M", s)
	}
	if rate.Limit < 1 {
		return limiter.Rate{}, fmt.Errorf("rate %q must allow at least 1 request", s)
	}
	return rate, nil
}
