// Package auth owns identity on the wire: who a request is (API key, JWT or
// session cookie, tried in that order), CSRF for cookie sessions, password
// hashing, and the tokens the platform issues.
package auth

import "context"

// Method is how a request authenticated.
type Method string

const (
	MethodAPIKey  Method = "api_key"
	MethodJWT     Method = "jwt"
	MethodSession Method = "session"
	// MethodOwner is work the platform does for an account without a
	// request of theirs: an agent's heartbeat, a message on its live
	// channel (which authenticated with the agent's instance token).
	MethodOwner Method = "owner"
)

// Principal is an authenticated caller.
type Principal struct {
	UserID string
	Email  string
	Role   string // as stored: "user" or "admin"
	// EmailVerified: the user proved they read mail sent to Email.
	EmailVerified bool
	// Admin is true for role admin or a verified email in ADMIN_EMAILS,
	// derived from the stored account, never from a token's claims.
	Admin bool
	// Gen is the user's credential generation (carried in the JWTs issued).
	Gen    int64
	Method Method
	// KeyID is set for MethodAPIKey, SessionID for MethodSession.
	KeyID     string
	SessionID string
}

type ctxKey int

const (
	principalKey ctxKey = iota
	stateKey
)

// FromContext returns the request's principal, if it authenticated.
func FromContext(ctx context.Context) (*Principal, bool) {
	st, _ := ctx.Value(stateKey).(*state)
	if st == nil || st.p == nil {
		return nil, false
	}
	return st.p, true
}

// WithPrincipal returns ctx carrying p, as if the request had authenticated.
// For code that acts for a user outside an HTTP request, and for tests.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, stateKey, &state{p: p, csrfOK: true})
}

// UserID returns the authenticated user's id, or "".
func UserID(ctx context.Context) string {
	if p, ok := FromContext(ctx); ok {
		return p.UserID
	}
	return ""
}
