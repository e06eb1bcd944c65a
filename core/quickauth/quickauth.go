// Package quickauth verifies Farcaster Quick Auth tokens: RS256 JWTs minted by
// an auth server (https://auth.farcaster.xyz by default) after a Sign In With
// Farcaster, whose subject is the user's Farcaster id (FID). Keys come from
// the issuer's JWKS (<origin>/.well-known/jwks.json), fetched when first
// needed and cached by github.com/MicahParks/keyfunc/v3, which refreshes them
// hourly and on an unknown key id (at most once a minute): a maintained cache
// made for golang-jwt/v5, which the gateway already uses for its own tokens,
// rather than a second JOSE stack or a cache of our own. README.md ("Farcaster
// Quick Auth") describes the checks.
package quickauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// DefaultOrigin is Farcaster's own Quick Auth server.
const DefaultOrigin = "https://auth.farcaster.xyz"

// MaxToken bounds a token's length in bytes; real ones are under 1 KiB.
const MaxToken = 8 << 10

// Reason says why a token was refused.
type Reason string

// The reasons.
const (
	Malformed  Reason = "malformed"   // not a JWT, or its claims are not Quick Auth's
	Algorithm  Reason = "algorithm"   // not RS256 (HS256, none, …)
	UnknownKey Reason = "unknown_key" // its key id is not in the issuer's key set (or the set could not be fetched)
	Signature  Reason = "signature"   // the signature does not verify
	Issuer     Reason = "issuer"      // iss is not the configured origin
	Audience   Reason = "audience"    // aud is not our domain
	Expired    Reason = "expired"     // exp is missing or past, or nbf/iat in the future
	Subject    Reason = "subject"     // sub is not a FID (a positive integer, as a string or a number)
)

// Error is a refused token.
type Error struct {
	Reason Reason
	Msg    string
}

func (e *Error) Error() string { return "quickauth: " + e.Msg }

func refuse(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Msg: fmt.Sprintf(format, args...)}
}

// Claims are what a verified token says.
type Claims struct {
	FID int64
	// Address is the Ethereum address that signed in with Farcaster, when
	// the auth server includes one (its open-source version does); "" if not.
	Address   string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Verifier checks Quick Auth tokens against one issuer and audience. Set the
// fields before the first Verify; Close stops the key refresh. Safe for
// concurrent use.
type Verifier struct {
	// Origin is the issuer (iss) and where its keys are; DefaultOrigin when "".
	Origin string
	// Domain is the audience (aud) a token must name: our host.
	Domain string
	// HTTP fetches the keys; a client with a 10-second timeout when nil.
	HTTP *http.Client
	// RefreshInterval is how often the keys are fetched again (1 hour when 0).
	RefreshInterval time.Duration
	// UnknownKeyEvery is the least time between two fetches caused by an
	// unknown key id (1 minute when 0): a rotation is picked up at once, and
	// tokens with made-up key ids cannot make us fetch in a loop.
	UnknownKeyEvery time.Duration
	// Leeway tolerates clock differences on exp, nbf and iat (30 s when 0).
	Leeway time.Duration
	Now    func() time.Time
	Log    *slog.Logger

	mu     sync.Mutex
	kf     keyfunc.Keyfunc
	ctx    context.Context
	cancel context.CancelFunc
	closed bool
}

func (v *Verifier) origin() string {
	if v.Origin == "" {
		return DefaultOrigin
	}
	return strings.TrimRight(v.Origin, "/")
}

// JWKSURL is where the issuer's keys are fetched from.
func (v *Verifier) JWKSURL() string { return v.origin() + "/.well-known/jwks.json" }

func (v *Verifier) log() *slog.Logger {
	if v.Log != nil {
		return v.Log
	}
	return slog.Default()
}

// keys returns the key cache, made (and the keys first fetched) on first use
// so that a gateway that never sees a Farcaster sign-in never calls out.
func (v *Verifier) keys() (keyfunc.Keyfunc, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.kf != nil {
		return v.kf, nil
	}
	if v.closed {
		return nil, errors.New("quickauth: verifier closed")
	}
	hc := v.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	fetchTimeout := hc.Timeout
	if fetchTimeout <= 0 {
		fetchTimeout = 10 * time.Second
	}
	refresh, unknown := v.RefreshInterval, v.UnknownKeyEvery
	if refresh <= 0 {
		refresh = time.Hour
	}
	if unknown <= 0 {
		unknown = time.Minute
	}
	v.ctx, v.cancel = context.WithCancel(context.Background())
	url := v.JWKSURL()
	kf, err := keyfunc.NewDefaultOverrideCtx(v.ctx, []string{url}, keyfunc.Override{
		Client:          hc,
		HTTPTimeout:     fetchTimeout,
		RefreshInterval: refresh,
		// One refetch per period for unknown key ids. The wait bound also
		// bounds that refetch, so it is the fetch timeout; a request that
		// would wait longer for the allowance (a period above it) is refused
		// at once rather than waiting.
		RefreshUnknownKID: rate.NewLimiter(rate.Every(unknown), 1),
		RateLimitWaitMax:  fetchTimeout,
		RefreshErrorHandlerFunc: func(u string) func(ctx context.Context, err error) {
			return func(ctx context.Context, err error) {
				v.log().WarnContext(ctx, "farcaster quick auth: fetching the issuer's keys failed", "url", u, "err", err)
			}
		},
	})
	if err != nil {
		v.cancel()
		return nil, err
	}
	v.kf = kf
	return kf, nil
}

// Close stops the background key refresh. Verify refuses afterwards.
func (v *Verifier) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	if v.cancel != nil {
		v.cancel()
	}
}

// tokenClaims are the JSON claims; sub is read by hand because Farcaster's
// server sends a string and its docs show a number.
type tokenClaims struct {
	Sub     json.RawMessage `json:"sub"`
	Address string          `json:"address,omitempty"`
	jwt.RegisteredClaims
}

// Verify checks token and returns its claims, or an *Error saying why it was
// refused. Other errors mean the keys could not be set up.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > MaxToken || strings.Count(token, ".") != 2 {
		return nil, refuse(Malformed, "not a JWT")
	}
	// The algorithm is checked before any key is looked up, so a token that
	// could never pass costs no fetch.
	var peek tokenClaims
	unverified, _, err := jwt.NewParser().ParseUnverified(token, &peek)
	if err != nil {
		return nil, refuse(Malformed, "not a JWT")
	}
	if alg, _ := unverified.Header["alg"].(string); alg != jwt.SigningMethodRS256.Alg() {
		return nil, refuse(Algorithm, "algorithm %q is not accepted; Quick Auth tokens are RS256", alg)
	}
	if _, ok := unverified.Header["kid"].(string); !ok {
		return nil, refuse(UnknownKey, "the token names no key id (kid)")
	}
	if v.Domain == "" {
		return nil, refuse(Audience, "no audience is configured, so no token can be for us")
	}
	kf, err := v.keys()
	if err != nil {
		return nil, err
	}
	leeway := v.Leeway
	if leeway == 0 {
		leeway = 30 * time.Second
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(v.origin()),
		jwt.WithAudience(v.Domain),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	}
	if v.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(v.Now))
	}
	var c tokenClaims
	if _, err := jwt.ParseWithClaims(token, &c, kf.KeyfuncCtx(ctx), opts...); err != nil {
		return nil, classify(err, &peek)
	}
	fid, ok := ParseFID(c.Sub)
	if !ok {
		return nil, refuse(Subject, "the subject (sub) is not a Farcaster id")
	}
	out := &Claims{FID: fid, Address: c.Address}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.Time
	}
	out.ExpiresAt = c.ExpiresAt.Time
	return out, nil
}

// classify maps a parse error to a reason; peek (the unverified claims)
// tells which required claim was missing.
func classify(err error, peek *tokenClaims) *Error {
	if errors.Is(err, jwt.ErrTokenRequiredClaimMissing) {
		switch {
		case peek.Issuer == "":
			return refuse(Issuer, "the token names no issuer")
		case len(peek.Audience) == 0:
			return refuse(Audience, "the token names no audience")
		}
		return refuse(Expired, "the token carries no expiry")
	}
	switch {
	case errors.Is(err, keyfunc.ErrKeyfunc) || errors.Is(err, jwt.ErrTokenUnverifiable):
		return refuse(UnknownKey, "the token's key is not in the issuer's key set")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return refuse(Signature, "the signature does not verify")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return refuse(Issuer, "the token is from another issuer")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return refuse(Audience, "the token is for another domain")
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet),
		errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return refuse(Expired, "the token has expired or is not valid yet")
	}
	return refuse(Malformed, "not a valid Quick Auth token")
}

// ParseFID reads a Farcaster id: a positive integer given as a JSON string of
// digits or a JSON number.
func ParseFID(raw json.RawMessage) (int64, bool) {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if s == "" || len(s) > 19 || strings.Trim(s, "0123456789") != "" || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64 {
		return 0, false
	}
	return n, true
}
