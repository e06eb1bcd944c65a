package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testSecret = "test-secret-0123456789abcdef0123456789"

var jwtEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// handToken builds header.claims.signature with an HMAC-SHA256 signature over
// the first two parts when secret is not nil, and an empty signature otherwise.
func handToken(header, claims string, secret []byte) string {
	input := b64(header) + "." + b64(claims)
	if secret == nil {
		return input + "."
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// claimsJSON returns claims valid at jwtEpoch, with changes applied.
func claimsJSON(t *testing.T, change func(m map[string]any)) string {
	t.Helper()
	m := map[string]any{"userId": "usr_1", "email": "ada@example.com", "role": "user", "gen": 1,
		"iat": jwtEpoch.Unix(), "exp": jwtEpoch.Add(time.Hour).Unix()}
	if change != nil {
		change(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func signWith(t *testing.T, method jwt.SigningMethod, key any, claims string) string {
	t.Helper()
	var mc jwt.MapClaims
	if err := json.Unmarshal([]byte(claims), &mc); err != nil {
		t.Fatal(err)
	}
	s, err := jwt.NewWithClaims(method, mc).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

func TestJWTRoundTrip(t *testing.T) {
	j := JWT{Secret: []byte(testSecret), Now: fixedClock(jwtEpoch)}
	tests := []struct {
		name     string
		p        *Principal
		wantRole string
	}{
		{"user", &Principal{Gen: 1, UserID: "usr_1", Email: "ada@example.com", Role: "user"}, "user"},
		{"admin role", &Principal{Gen: 1, UserID: "usr_2", Email: "root@example.com", Role: "admin", Admin: true}, "admin"},
		{"admin by email", &Principal{Gen: 1, UserID: "usr_3", Email: "boss@example.com", Role: "user", Admin: true}, "admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, exp, err := j.Issue(tt.p)
			if err != nil {
				t.Fatalf("Issue(%+v) = %v", tt.p, err)
			}
			if want := jwtEpoch.Add(7 * 24 * time.Hour); !exp.Equal(want) {
				t.Errorf("Issue(%+v) expiry = %v; want %v (7 days)", tt.p, exp, want)
			}
			header, _, _ := strings.Cut(tok, ".")
			raw, _ := base64.RawURLEncoding.DecodeString(header)
			if !strings.Contains(string(raw), `"alg":"HS256"`) {
				t.Errorf("Issue(%+v) header = %s; want alg HS256", tt.p, raw)
			}
			c, err := j.Verify(tok)
			if err != nil {
				t.Fatalf("Verify(Issue(%+v)) = %v; want nil", tt.p, err)
			}
			if c.UserID != tt.p.UserID || c.Email != tt.p.Email || c.Role != tt.wantRole {
				t.Errorf("Verify(Issue(%+v)) = {%s %s %s}; want {%s %s %s}", tt.p, c.UserID, c.Email, c.Role, tt.p.UserID, tt.p.Email, tt.wantRole)
			}
			if c.ExpiresAt == nil || !c.ExpiresAt.Time.Equal(exp) || c.IssuedAt == nil || !c.IssuedAt.Time.Equal(jwtEpoch) {
				t.Errorf("Verify(Issue(%+v)) exp %v iat %v; want %v and %v", tt.p, c.ExpiresAt, c.IssuedAt, exp, jwtEpoch)
			}
		})
	}
}

func TestJWTClaimNames(t *testing.T) {
	j := JWT{Secret: []byte(testSecret), Now: fixedClock(jwtEpoch)}
	tok, _, err := j.Issue(&Principal{Gen: 1, UserID: "usr_1", Email: "ada@example.com", Role: "user"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("claims %s: %v", raw, err)
	}
	for _, k := range []string{"userId", "email", "role", "gen", "exp"} {
		if _, ok := m[k]; !ok {
			t.Errorf("Issue claims = %s; want member %q", raw, k)
		}
	}
}

func TestJWTExpiry(t *testing.T) {
	issuer := JWT{Secret: []byte(testSecret), TTL: time.Hour, Now: fixedClock(jwtEpoch)}
	tok, _, err := issuer.Issue(&Principal{Gen: 1, UserID: "usr_1", Email: "a@example.com", Role: "user"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		after time.Duration
		valid bool
	}{
		{0, true},
		{59 * time.Minute, true},
		{time.Hour + time.Second, false},
		{48 * time.Hour, false},
	}
	for _, tt := range tests {
		v := JWT{Secret: []byte(testSecret), Now: fixedClock(jwtEpoch.Add(tt.after))}
		_, err := v.Verify(tok)
		if tt.valid && err != nil {
			t.Errorf("Verify(1h token) after %v = %v; want nil", tt.after, err)
		}
		if !tt.valid && !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify(1h token) after %v = %v; want ErrTokenInvalid", tt.after, err)
		}
	}
}

func TestJWTRejects(t *testing.T) {
	secret := []byte(testSecret)
	j := JWT{Secret: secret, Now: fixedClock(jwtEpoch)}
	good := claimsJSON(t, nil)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	valid := handToken(`{"alg":"HS256","typ":"JWT"}`, good, secret)
	if _, err := j.Verify(valid); err != nil {
		t.Fatalf("Verify(hand-made HS256 token) = %v; the test's token builder is broken", err)
	}
	parts := strings.Split(valid, ".")

	tests := []struct {
		name  string
		token string
	}{
		{"alg none", handToken(`{"alg":"none","typ":"JWT"}`, good, nil)},
		{"alg None", handToken(`{"alg":"None","typ":"JWT"}`, good, nil)},
		{"alg NONE", handToken(`{"alg":"NONE","typ":"JWT"}`, good, nil)},
		{"alg none with an HS256 signature", handToken(`{"alg":"none","typ":"JWT"}`, good, secret)},
		{"no alg", handToken(`{"typ":"JWT"}`, good, secret)},
		{"HS512 with the same secret", signWith(t, jwt.SigningMethodHS512, secret, good)},
		{"HS384 with the same secret", signWith(t, jwt.SigningMethodHS384, secret, good)},
		{"RS256 header with an HMAC signature", handToken(`{"alg":"RS256","typ":"JWT"}`, good, secret)},
		{"RS256 signed", signWith(t, jwt.SigningMethodRS256, rsaKey, good)},
		{"wrong secret", signWith(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef012"), good)},
		{"expired", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) {
			m["exp"] = jwtEpoch.Add(-time.Second).Unix()
		}))},
		{"missing exp", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) { delete(m, "exp") }))},
		{"exp not a number", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) { m["exp"] = "tomorrow" }))},
		{"not yet valid", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) {
			m["nbf"] = jwtEpoch.Add(time.Minute).Unix()
		}))},
		{"missing userId", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) { delete(m, "userId") }))},
		{"empty userId", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) { m["userId"] = "" }))},
		{"userId not a string", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) { m["userId"] = 7 }))},
		{"role superuser", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) { m["role"] = "superuser" }))},
		{"role Admin", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) { m["role"] = "Admin" }))},
		{"missing generation", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) { delete(m, "gen") }))},
		{"generation 0", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) { m["gen"] = 0 }))},
		{"generation not a number", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) { m["gen"] = "1" }))},
		{"missing role", signWith(t, jwt.SigningMethodHS256, secret, claimsJSON(t, func(m map[string]any) { delete(m, "role") }))},
		{"tampered claims", parts[0] + "." + b64(claimsJSON(t, func(m map[string]any) { m["role"] = "admin" })) + "." + parts[2]},
		{"tampered signature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))},
		{"no signature", parts[0] + "." + parts[1] + "."},
		{"two segments", parts[0] + "." + parts[1]},
		{"four segments", valid + ".x"},
		{"empty", ""},
		{"garbage", "not-a-token"},
		{"dots", ".."},
		{"bad base64", "a.b.c"},
		{"JSON header not an object", b64(`[]`) + "." + parts[1] + "." + parts[2]},
		{"API key", NewAPIKey()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := j.Verify(tt.token)
			if !errors.Is(err, ErrTokenInvalid) || c != nil {
				t.Errorf("Verify(%q) = %+v, %v; want nil, ErrTokenInvalid", tt.token, c, err)
			}
		})
	}
}

func TestJWTSecretMatters(t *testing.T) {
	a := JWT{Secret: []byte(testSecret)}
	b := JWT{Secret: []byte(testSecret + "x")}
	tok, _, err := a.Issue(&Principal{Gen: 1, UserID: "usr_1", Role: "user"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(tok); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("Verify with another secret = %v; want ErrTokenInvalid", err)
	}
	if _, err := a.Verify(tok); err != nil {
		t.Errorf("Verify with the issuing secret = %v; want nil", err)
	}
}

func ExampleJWT() {
	j := JWT{Secret: []byte(testSecret), TTL: time.Hour, Now: fixedClock(jwtEpoch)}
	tok, exp, _ := j.Issue(&Principal{Gen: 1, UserID: "usr_1", Email: "ada@example.com", Role: "user"})
	c, err := j.Verify(tok)
	fmt.Println(c.UserID, c.Role, exp.Format(time.RFC3339), err)
	// Output: usr_1 user 2030-01-02T04:04:05Z <nil>
}
