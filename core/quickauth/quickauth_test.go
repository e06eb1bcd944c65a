package quickauth_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agentbot/gateway/core/quickauth"
	"github.com/agentbot/gateway/core/quickauth/quickauthtest"
)

const domain = "agentbot.example"

func newVerifier(t *testing.T, is *quickauthtest.Issuer) *quickauth.Verifier {
	v := &quickauth.Verifier{Origin: is.URL, Domain: domain}
	t.Cleanup(v.Close)
	return v
}

func reason(err error) quickauth.Reason {
	var e *quickauth.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func TestVerifyAccepts(t *testing.T) {
	is := quickauthtest.New(t)
	v := newVerifier(t, is)
	ctx := context.Background()
	c, err := v.Verify(ctx, is.Token(t, "977233", domain))
	if err != nil || c.FID != 977233 {
		t.Fatalf("Verify(valid) = %+v, %v; want FID 977233", c, err)
	}
	// sub as a JSON number (as Farcaster's docs show it), with an address.
	claims := is.Claims("", domain)
	claims["sub"] = 6841
	claims["address"] = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
	c, err = v.Verify(ctx, is.Sign(t, "k1", claims))
	if err != nil || c.FID != 6841 || c.Address != "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" {
		t.Fatalf("Verify(numeric sub) = %+v, %v; want FID 6841 and the address", c, err)
	}
	if c.ExpiresAt.Before(time.Now()) {
		t.Errorf("ExpiresAt = %v; want in the future", c.ExpiresAt)
	}
	if n := is.Fetches.Load(); n != 1 {
		t.Errorf("the key set was fetched %d times for two tokens; want 1 (cached)", n)
	}
}

func TestVerifyRefuses(t *testing.T) {
	is := quickauthtest.New(t)
	v := newVerifier(t, is)
	is.AddKey(t, "stranger") // never published
	now := time.Now()
	with := func(edit func(jwt.MapClaims)) string {
		c := is.Claims("977233", domain)
		edit(c)
		return is.Sign(t, "k1", c)
	}
	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, is.Claims("977233", domain)).SignedString([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, is.Claims("977233", domain)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	valid := is.Token(t, "977233", domain)
	parts := strings.Split(valid, ".")
	tampered := with(func(c jwt.MapClaims) { c["sub"] = "1" })
	tests := []struct {
		name, token string
		want        quickauth.Reason
	}{
		{"wrong audience", is.Token(t, "977233", "evil.example"), quickauth.Audience},
		{"no audience", with(func(c jwt.MapClaims) { delete(c, "aud") }), quickauth.Audience},
		{"wrong issuer", with(func(c jwt.MapClaims) { c["iss"] = "https://auth.farcaster.xyz" }), quickauth.Issuer},
		{"expired", with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }), quickauth.Expired},
		{"no expiry", with(func(c jwt.MapClaims) { delete(c, "exp") }), quickauth.Expired},
		{"issued in the future", with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() }), quickauth.Expired},
		{"HS256", hs256, quickauth.Algorithm},
		{"alg none", none, quickauth.Algorithm},
		{"unknown kid", is.Sign(t, "stranger", is.Claims("977233", domain)), quickauth.UnknownKey},
		{"signed by another key under k1's id", func() string {
			p := strings.Split(is.Sign(t, "stranger", is.Claims("977233", domain)), ".")
			return parts[0] + "." + p[1] + "." + p[2]
		}(), quickauth.Signature},
		{"payload swapped", parts[0] + "." + strings.Split(tampered, ".")[1] + "." + parts[2], quickauth.Signature},
		{"sub zero", with(func(c jwt.MapClaims) { c["sub"] = "0" }), quickauth.Subject},
		{"sub negative", with(func(c jwt.MapClaims) { c["sub"] = -5 }), quickauth.Subject},
		{"sub not a number", with(func(c jwt.MapClaims) { c["sub"] = "alice" }), quickauth.Subject},
		{"sub fractional", with(func(c jwt.MapClaims) { c["sub"] = 1.5 }), quickauth.Subject},
		{"sub huge", with(func(c jwt.MapClaims) { c["sub"] = "99999999999999999999" }), quickauth.Subject},
		{"no sub", with(func(c jwt.MapClaims) { delete(c, "sub") }), quickauth.Subject},
		{"empty", "", quickauth.Malformed},
		{"opaque", "fid-977233-opaque-token", quickauth.Malformed},
		{"garbage segments", "a.b.c", quickauth.Malformed},
		{"too long", strings.Repeat("a", quickauth.MaxToken) + ".b.c", quickauth.Malformed},
	}
	for _, tt := range tests {
		c, err := v.Verify(context.Background(), tt.token)
		if got := reason(err); got != tt.want {
			t.Errorf("%s: Verify = %+v, %v (reason %q); want reason %q", tt.name, c, err, got, tt.want)
		}
	}
}

// A rotated key set is picked up on the first token with the new key id; a
// key dropped from the set stops working; made-up key ids cannot make the
// verifier fetch more than once per period.
func TestKeyRotation(t *testing.T) {
	is := quickauthtest.New(t)
	v := newVerifier(t, is)
	ctx := context.Background()
	if _, err := v.Verify(ctx, is.Token(t, "1", domain)); err != nil {
		t.Fatal(err)
	}
	is.AddKey(t, "k2")
	is.Serve("k2")
	if _, err := v.Verify(ctx, is.Sign(t, "k2", is.Claims("1", domain))); err != nil {
		t.Fatalf("Verify(token of the rotated-in key) = %v; want accepted", err)
	}
	if n := is.Fetches.Load(); n != 2 {
		t.Errorf("key set fetched %d times; want 2 (first use, then the unknown key id)", n)
	}
	if _, err := v.Verify(ctx, is.Token(t, "1", domain)); reason(err) != quickauth.UnknownKey {
		t.Errorf("Verify(token of the rotated-out key) = %v; want unknown_key", err)
	}
	is.AddKey(t, "k3")
	is.Serve("k2", "k3")
	start := time.Now()
	for range 20 {
		if _, err := v.Verify(ctx, is.Sign(t, "k3", is.Claims("1", domain))); reason(err) != quickauth.UnknownKey {
			t.Fatalf("Verify(key published after the allowance was spent) = %v; want unknown_key until the next period", err)
		}
	}
	if n := is.Fetches.Load(); n != 2 {
		t.Errorf("key set fetched %d times after 20 unknown key ids; want still 2", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("20 refusals took %v; want them immediate, not waiting for the next allowed fetch", d)
	}
}

// With a short period, the verifier recovers from an issuer that was down.
func TestIssuerDownThenUp(t *testing.T) {
	is := quickauthtest.New(t)
	is.SetDown(true)
	v := &quickauth.Verifier{Origin: is.URL, Domain: domain, UnknownKeyEvery: 50 * time.Millisecond}
	t.Cleanup(v.Close)
	ctx := context.Background()
	if _, err := v.Verify(ctx, is.Token(t, "1", domain)); reason(err) != quickauth.UnknownKey {
		t.Fatalf("Verify with the issuer down = %v; want unknown_key", err)
	}
	is.SetDown(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := v.Verify(ctx, is.Token(t, "1", domain))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Verify after the issuer came back = %v; want accepted within 10 s", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNoDomainRefuses(t *testing.T) {
	is := quickauthtest.New(t)
	v := &quickauth.Verifier{Origin: is.URL}
	t.Cleanup(v.Close)
	claims := is.Claims("1", "")
	if _, err := v.Verify(context.Background(), is.Sign(t, "k1", claims)); reason(err) != quickauth.Audience {
		t.Errorf("Verify without a configured domain = %v; want audience", err)
	}
}

func TestClosedVerifierRefuses(t *testing.T) {
	is := quickauthtest.New(t)
	v := &quickauth.Verifier{Origin: is.URL, Domain: domain}
	v.Close()
	if _, err := v.Verify(context.Background(), is.Token(t, "1", domain)); err == nil {
		t.Error("a closed verifier accepted a token")
	}
}

// BenchmarkVerify is one verification with the keys cached (RS256-2048).
func BenchmarkVerify(b *testing.B) {
	is := quickauthtest.New(b)
	v := &quickauth.Verifier{Origin: is.URL, Domain: domain}
	b.Cleanup(v.Close)
	tok := is.Token(b, "977233", domain)
	ctx := context.Background()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseFID(f *testing.F) {
	for _, s := range []string{`"977233"`, `6841`, `"0"`, `-1`, `1.5`, `"01"`, `"9223372036854775807"`, `"9223372036854775808"`, `null`, `""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := quickauth.ParseFID([]byte(s))
		if ok && (n <= 0 || (strconv.FormatInt(n, 10) != s && `"`+strconv.FormatInt(n, 10)+`"` != s)) {
			t.Errorf("ParseFID(%q) = %d, true; want a positive integer written exactly so", s, n)
		}
	})
}
