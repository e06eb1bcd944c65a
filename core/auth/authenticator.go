package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/store"
)

// SessionCookie is the session cookie's name.
const SessionCookie = "agentbot_session"

// Errors of the authentication step (docs/api-conventions.md#identity).
var (
	ErrTokenInvalidHTTP = api.Unauthorized(api.CodeTokenInvalid, "Invalid or expired token")
	ErrInvalidAPIKey    = api.Unauthorized(api.CodeInvalidAPIKey, "Invalid API key")
	ErrCSRFRequired     = api.Forbidden(api.CodeCSRFRequired, "Missing or invalid CSRF token")
	ErrAdminRequired    = api.Forbidden(api.CodeAdminRequired, "Admin access required")
)

// Authenticator resolves each request's principal. It never rejects a request
// itself: handlers call Require, so public routes stay public and a bad
// credential is reported only where identity matters.
type Authenticator struct {
	Store *store.Store
	JWT   JWT
	// Admins holds ADMIN_EMAILS in their canonical (lower-case ASCII) form.
	// They grant admin rights only to an account whose stored address is
	// exactly one of them and verified.
	Admins map[string]bool
	// CSRFKey derives each session's CSRF token from its session token.
	CSRFKey []byte
	// SessionTTL is the sliding session lifetime (30 days when zero).
	SessionTTL time.Duration
	// SecureCookies sets the Secure attribute (off only in dev mode).
	SecureCookies bool
	Log           *slog.Logger
	Now           func() time.Time

	// KeyCacheTTL bounds how long a resolved API key, or a user's state behind
	// a JWT (credential generation, address, role), is trusted without asking
	// the database again (0 disables the caches). Deleting a key or moving a
	// user's credential generation evicts it on this node at once (ForgetKey,
	// ForgetUser); other nodes notice within the TTL.
	KeyCacheTTL time.Duration

	touched sync.Map // API key id → time.Time of the last persisted lastUsed
	keys    keyCache
	users   userCache
}

type state struct {
	p            *Principal
	err          *api.Error
	csrfOK       bool
	sessionToken string
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func (a *Authenticator) ttl() time.Duration {
	if a.SessionTTL == 0 {
		return 30 * 24 * time.Hour
	}
	return a.SessionTTL
}

// Middleware attaches the principal (if any) to the request context.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{csrfOK: true}
		a.resolve(w, r, st)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey, st)))
	})
}

func (a *Authenticator) resolve(w http.ResponseWriter, r *http.Request, st *state) {
	ctx := r.Context()
	if scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		cred = strings.TrimSpace(cred)
		if strings.HasPrefix(cred, APIKeyPrefix) {
			st.p, st.err = a.apiKey(ctx, cred)
		} else {
			st.p, st.err = a.jwt(ctx, cred)
		}
		return
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return
	}
	sess, err := a.Store.SessionByHash(ctx, Digest(c.Value))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			st.err = api.Internal(err)
		}
		return
	}
	st.p = a.principal(sess.UserID, sess.Email, sess.Role, sess.EmailVerified, sess.Gen, MethodSession)
	st.p.SessionID = sess.ID
	st.sessionToken = c.Value
	if !safeMethod(r.Method) {
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			got = r.Header.Get("X-XSRF-Token")
		}
		st.csrfOK = subtle.ConstantTimeCompare([]byte(got), []byte(a.CSRFToken(c.Value))) == 1
	}
	// Sliding expiry, written at most once an hour per session.
	now := a.now()
	if sess.ExpiresAt.Sub(now) < a.ttl()-time.Hour {
		exp := now.Add(a.ttl())
		if err := a.Store.ExtendSession(ctx, sess.UserID, sess.ID, exp); err != nil {
			a.log().WarnContext(ctx, "extend session", "err", err)
		} else {
			a.SetSessionCookie(w, c.Value, exp)
		}
	}
}

func (a *Authenticator) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// principal builds a principal from the stored account. ADMIN_EMAILS match
// the stored address exactly (it is stored in its canonical form) and only
// once it is verified.
func (a *Authenticator) principal(userID, email, role string, verified bool, gen int64, m Method) *Principal {
	return &Principal{UserID: userID, Email: email, Role: role, EmailVerified: verified, Gen: gen, Method: m,
		Admin: role == "admin" || (verified && a.Admins[email])}
}

// Owner is the principal of work done for an account without a request of
// its own (MethodOwner), derived from the stored account like any other.
func (a *Authenticator) Owner(u *store.User) *Principal {
	return a.principal(u.ID, u.Email, u.Role, u.EmailVerified, u.Gen, MethodOwner)
}

func (a *Authenticator) apiKey(ctx context.Context, key string) (*Principal, *api.Error) {
	if !wellFormedAPIKey(key) {
		return nil, ErrInvalidAPIKey
	}
	digest := Digest(key)
	now := a.now()
	o, ok := a.keys.get(digest, now)
	if !ok {
		var err error
		o, err = a.Store.APIKeyByHash(ctx, digest)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrInvalidAPIKey
		}
		if err != nil {
			return nil, api.Internal(err)
		}
		if a.KeyCacheTTL > 0 {
			a.keys.put(digest, o, now.Add(a.KeyCacheTTL))
		}
	}
	a.touch(ctx, o)
	p := a.principal(o.UserID, o.Email, o.Role, o.EmailVerified, o.Gen, MethodAPIKey)
	p.KeyID = o.KeyID
	return p, nil
}

// touch records a key's use without a write per request: lastUsed is persisted
// when it is more than a minute old.
func (a *Authenticator) touch(ctx context.Context, o *store.KeyOwner) {
	now := a.now()
	last := time.Time{}
	if o.LastUsed != nil {
		last = *o.LastUsed
	}
	if v, ok := a.touched.Load(o.KeyID); ok && v.(time.Time).After(last) {
		last = v.(time.Time)
	}
	if now.Sub(last) < time.Minute {
		return
	}
	a.touched.Store(o.KeyID, now)
	if err := a.Store.TouchAPIKey(ctx, o.UserID, o.KeyID, now); err != nil {
		a.log().WarnContext(ctx, "record API key use", "key_id", o.KeyID, "err", err)
	}
}

// ForgetKey drops a deleted key from this node's cache.
func (a *Authenticator) ForgetKey(keyID string) {
	a.keys.forget(func(o *store.KeyOwner) bool { return o.KeyID == keyID })
}

// ForgetUser drops what this node caches about a user (their state behind
// JWTs and their API keys' owner records), after a change to their credential
// generation, address or role.
func (a *Authenticator) ForgetUser(userID string) {
	a.users.forget(userID)
	a.keys.forget(func(o *store.KeyOwner) bool { return o.UserID == userID })
}

// jwt verifies a token, then re-derives the caller from the stored account:
// a token of an older credential generation, or of a deleted user, is
// refused, and the address, role and admin rights are the account's now, not
// the token's claims.
func (a *Authenticator) jwt(ctx context.Context, token string) (*Principal, *api.Error) {
	c, err := a.JWT.Verify(token)
	if err != nil {
		return nil, ErrTokenInvalidHTTP
	}
	now := a.now()
	st, ok := a.users.get(c.UserID, now)
	if !ok {
		st, err = a.Store.AuthState(ctx, c.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrTokenInvalidHTTP
		}
		if err != nil {
			return nil, api.Internal(err)
		}
		if a.KeyCacheTTL > 0 {
			a.users.put(c.UserID, st, now.Add(a.KeyCacheTTL))
		}
	}
	if st.Gen != c.Gen {
		return nil, ErrTokenInvalidHTTP
	}
	return a.principal(c.UserID, st.Email, st.Role, st.EmailVerified, st.Gen, MethodJWT), nil
}

// CSRFToken is the CSRF token bound to a session token.
func (a *Authenticator) CSRFToken(sessionToken string) string {
	m := hmac.New(sha256.New, a.CSRFKey)
	m.Write([]byte("csrf\x00"))
	m.Write([]byte(sessionToken))
	return hex.EncodeToString(m.Sum(nil))
}

// SessionCSRF returns the CSRF token of the request's session, if it has one.
func SessionCSRF(r *http.Request, a *Authenticator) (string, bool) {
	st, _ := r.Context().Value(stateKey).(*state)
	if st == nil || st.sessionToken == "" {
		return "", false
	}
	return a.CSRFToken(st.sessionToken), true
}

// SetSessionCookie writes the session cookie.
func (a *Authenticator) SetSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		MaxAge: int(time.Until(expires).Seconds()), HttpOnly: true, Secure: a.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// ClearSessionCookie removes the session cookie.
func (a *Authenticator) ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// Require returns the request's principal, or the error to answer with: the
// presented credential's error, 401 AUTH_REQUIRED, or 403 CSRF_REQUIRED for a
// state-changing cookie request without a valid CSRF token.
func Require(r *http.Request) (*Principal, error) {
	st, _ := r.Context().Value(stateKey).(*state)
	if st == nil {
		return nil, api.ErrAuthRequired
	}
	if st.err != nil {
		return nil, st.err
	}
	if st.p == nil {
		return nil, api.ErrAuthRequired
	}
	if !st.csrfOK {
		return nil, ErrCSRFRequired
	}
	return st.p, nil
}

// RequireAdmin is Require plus 403 ADMIN_REQUIRED for non-admins.
func RequireAdmin(r *http.Request) (*Principal, error) {
	p, err := Require(r)
	if err != nil {
		return nil, err
	}
	if !p.Admin {
		return nil, ErrAdminRequired
	}
	return p, nil
}
