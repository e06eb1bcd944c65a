// Package quickauthtest is a local Farcaster Quick Auth issuer for tests: an
// httptest server publishing a JWKS of locally generated RSA keys, and a
// minter of tokens signed with them.
package quickauthtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is a running Quick Auth issuer. Its URL is the origin (iss).
type Issuer struct {
	URL string
	// Fetches counts the requests for the key set.
	Fetches atomic.Int64

	mu     sync.Mutex
	keys   map[string]*rsa.PrivateKey
	served []string
	down   bool
}

// New starts an issuer serving one key, "k1", and stops it when t ends.
func New(t testing.TB) *Issuer {
	t.Helper()
	is := &Issuer{keys: map[string]*rsa.PrivateKey{}}
	is.AddKey(t, "k1")
	is.Serve("k1")
	srv := httptest.NewServer(http.HandlerFunc(is.serveHTTP))
	t.Cleanup(srv.Close)
	is.URL = srv.URL
	return is
}

// AddKey generates a 2048-bit RSA key named kid (not served until Serve).
func (is *Issuer) AddKey(t testing.TB, kid string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys[kid] = k
}

// Serve sets the key ids the key set publishes (a rotation).
func (is *Issuer) Serve(kids ...string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.served = kids
}

// SetDown makes the key set answer 503 (true) or serve again (false).
func (is *Issuer) SetDown(down bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.down = down
}

func (is *Issuer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/.well-known/jwks.json" {
		http.NotFound(w, r)
		return
	}
	is.Fetches.Add(1)
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.down {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	b64 := base64.RawURLEncoding.EncodeToString
	var keys []map[string]string
	for _, kid := range is.served {
		pub := is.keys[kid].PublicKey
		keys = append(keys, map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}

// Claims returns the claims of a valid token for fid and audience domain,
// issued now for an hour, as Farcaster's server mints them (sub a string).
func (is *Issuer) Claims(fid, domain string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": is.URL, "aud": domain, "sub": fid, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// Sign signs claims with key kid (RS256).
func (is *Issuer) Sign(t testing.TB, kid string, claims jwt.MapClaims) string {
	t.Helper()
	is.mu.Lock()
	k := is.keys[kid]
	is.mu.Unlock()
	if k == nil {
		t.Fatalf("quickauthtest: no key %q", kid)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Token is a valid token for fid and domain signed with k1.
func (is *Issuer) Token(t testing.TB, fid, domain string) string {
	t.Helper()
	return is.Sign(t, "k1", is.Claims(fid, domain))
}
