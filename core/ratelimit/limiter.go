package ratelimit

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/agentbot/gateway/core/api"
)

// storeTimeout bounds one store call so that a slow Redis delays requests by at
// most this much before the middleware fails open.
const storeTimeout = time.Second

// errorLogEvery spaces out the "store failed" log lines during an outage.
const errorLogEvery = 10 * time.Second

// Limiter counts requests per rule in a Store.
type Limiter struct {
	// Log receives store errors; nil means slog.Default(). Set it before use.
	Log *slog.Logger
	// Refused, if set, is told of each request refused with 429 (the rule's
	// name): the rate-limit metrics. Set it before use.
	Refused func(rule string)

	store   limiter.Store
	local   bool // the store is this process's memory: no call to bound
	rules   Rules
	lastLog atomic.Int64 // unix nanoseconds of the last store error logged
}

// New returns a Limiter applying rules with counters kept in store. Rule names
// must be unique; they are part of the counter keys.
func New(store limiter.Store, rules Rules) *Limiter {
	_, local := store.(*memory.Store)
	return &Limiter{store: store, rules: rules, local: local}
}

// Match returns the rule whose prefix matches path (the default rule when none
// does). The route table calls it once per route, when it is built.
func (l *Limiter) Match(path string) Rule { return l.rules.Match(path) }

// Named returns the rule called name; DefaultName is always there.
func (l *Limiter) Named(name string) (Rule, bool) {
	if name == DefaultName {
		return Rule{Name: DefaultName, Rate: l.rules.Default}, true
	}
	for _, r := range l.rules.Rules {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}

// Rule is Named for a name known to exist (the default rule otherwise).
func (l *Limiter) Rule(name string) Rule {
	r, ok := l.Named(name)
	if !ok {
		r, _ = l.Named(DefaultName)
	}
	return r
}

// Wrap counts each request against rule and answers 429 once the window's
// budget is spent. userID returns the authenticated user's id, "" for
// anonymous callers (nil means always anonymous); clientIP returns the
// caller's IP (nil means the TCP peer, see ClientIP). OPTIONS requests (CORS
// preflights) are not counted.
//
// Every counted response carries RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset (seconds until the window resets); a 429 also carries
// Retry-After.
func (l *Limiter) Wrap(rule Rule, userID func(*http.Request) string, clientIP func(*http.Request) string) api.Middleware {
	if clientIP == nil {
		clientIP = ClientIP{}.Of
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodOptions {
				next.ServeHTTP(w, r)
				return
			}
			key := l.key(rule, r, userID, clientIP)
			lctx, err := l.get(r.Context(), key, rule)
			if err != nil {
				// Fail open: the limiter protects capacity, it does not authorise
				// anything (authentication and the failed sign-in Counter's callers
				// still run), so a store outage must not turn into a gateway outage.
				// Requests pass unthrottled, without RateLimit headers, until the
				// store is back.
				l.logStoreError(r, rule, err)
				next.ServeHTTP(w, r)
				return
			}
			reset := secondsUntil(lctx.Reset, time.Now())
			// Canonical keys set directly, the three values in one slice.
			h, v := w.Header(), make([]string, 3)
			v[0], v[1], v[2] = strconv.FormatInt(lctx.Limit, 10), strconv.FormatInt(lctx.Remaining, 10), strconv.FormatInt(reset, 10)
			h["Ratelimit-Limit"], h["Ratelimit-Remaining"], h["Ratelimit-Reset"] = v[0:1:1], v[1:2:2], v[2:3:3]
			if lctx.Reached {
				if l.Refused != nil {
					l.Refused(rule.Name)
				}
				e := *api.ErrRateLimited
				e.Header = http.Header{"Retry-After": {strconv.FormatInt(max(reset, 1), 10)}}
				api.WriteError(w, api.RequestID(r.Context()), &e)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// get counts one request against the rule's counter: within storeTimeout on
// a remote store, directly on the process's own memory.
func (l *Limiter) get(ctx context.Context, key string, rule Rule) (limiter.Context, error) {
	if l.local {
		return l.store.Get(ctx, key, rule.Rate)
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	return l.store.Get(ctx, key, rule.Rate)
}

// key names the counter: "<rule>:u:<user id>" for authenticated callers of a
// per-user rule, "<rule>:ip:<client ip>" otherwise.
func (l *Limiter) key(rule Rule, r *http.Request, userID, clientIP func(*http.Request) string) string {
	if !rule.PerIP && userID != nil {
		if id := userID(r); id != "" {
			return rule.Name + ":u:" + id
		}
	}
	ip := clientIP(r)
	if ip == "" {
		ip = "unknown"
	}
	return rule.Name + ":ip:" + ip
}

func (l *Limiter) logStoreError(r *http.Request, rule Rule, err error) {
	if r.Context().Err() != nil {
		return // the client went away; not a store problem
	}
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if (last != 0 && now-last < int64(errorLogEvery)) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	log.ErrorContext(r.Context(), "rate limit store failed; letting requests through",
		"request_id", api.RequestID(r.Context()), "rule", rule.Name, "err", err)
}

// secondsUntil converts a store's reset time (unix seconds) into the seconds
// left in the window, never negative.
func secondsUntil(reset int64, now time.Time) int64 {
	return max(reset-now.Unix(), 0)
}
