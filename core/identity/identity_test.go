package identity_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agentbot/gateway/core/server/servertest"
)

func eachBackend(t *testing.T, fn func(t *testing.T, env *servertest.Env)) {
	t.Helper()
	for _, b := range servertest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, servertest.New(t, b, nil))
		})
	}
}

func TestWalkthrough(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		c := env.Client(t)
		r := c.Do("POST", "/api/register", map[string]any{"email": "ada@example.com", "password": "correct horse", "name": "Ada"}).Expect(t, 200, "")
		if r.Str("email") != "ada@example.com" || r.Str("name") != "Ada" || !strings.HasPrefix(r.Str("id"), "usr_") {
			t.Errorf("register = %s", r.Body)
		}
		r = c.Do("POST", "/api/auth/login", map[string]any{"email": "ADA@example.com", "password": "correct horse"}).Expect(t, 200, "")
		csrf := r.Str("csrfToken")
		if got := c.Do("GET", "/api/auth/csrf", nil).Expect(t, 200, "").Str("csrfToken"); got != csrf {
			t.Errorf("GET /api/auth/csrf = %q; want the login's %q", got, csrf)
		}
		c.Do("POST", "/api/keys", map[string]any{"name": "ci"}).Expect(t, 403, "CSRF_REQUIRED")
		r = c.Do("POST", "/api/keys", map[string]any{"name": "ci"}, "X-CSRF-Token", csrf).Expect(t, 201, "")
		key := r.Str("key")
		if !regexp.MustCompile(`^sk_[0-9a-f]{64}$`).MatchString(key) {
			t.Errorf("key = %q; want sk_ + 64 hex", key)
		}

		kc := env.Client(t) // no cookies: the key alone
		kc.Header.Set("Authorization", "Bearer "+key)
		r = kc.Do("GET", "/api/keys", nil).Expect(t, 200, "")
		keys := r.JSON["keys"].([]any)
		k0 := keys[0].(map[string]any)
		if len(keys) != 1 || k0["keyPreview"] != key[:10]+"..." || k0["key"] != nil {
			t.Errorf("GET /api/keys = %s; want one key, previewed, never the secret", r.Body)
		}
		tok := kc.Do("POST", "/api/auth/token", nil).Expect(t, 200, "").Str("token")
		jc := env.Client(t)
		jc.Header.Set("Authorization", "Bearer "+tok)
		r = jc.Do("GET", "/api/settings", nil).Expect(t, 200, "")
		if r.Str("email") != "ada@example.com" || r.JSON["credits"] != float64(0) || r.JSON["plan"] != nil {
			t.Errorf("GET /api/settings = %s", r.Body)
		}
		jc.Do("POST", "/api/auth/token", nil).Expect(t, 403, "TOKEN_RENEWAL_FORBIDDEN")
		r = jc.Do("PATCH", "/api/settings", map[string]any{"name": "Ada L", "notifications": map[string]any{"email": false}}).Expect(t, 200, "")
		if r.Str("name") != "Ada L" || fmt.Sprint(r.JSON["notifications"]) != "map[email:false]" {
			t.Errorf("PATCH /api/settings = %s", r.Body)
		}
		c.Do("POST", "/api/auth/logout", nil, "X-CSRF-Token", csrf).Expect(t, 200, "")
		c.Do("GET", "/api/settings", nil).Expect(t, 401, "AUTH_REQUIRED")
	})
}

func TestOtherUsersResourcesAre404(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		alice, bob := env.Client(t), env.Client(t)
		_, ac := alice.SignUp("alice@example.com", "password-a")
		_, bc := bob.SignUp("bob@example.com", "password-b")
		id := alice.Do("POST", "/api/keys", map[string]any{"name": "a"}, "X-CSRF-Token", ac).Expect(t, 201, "").Str("id")
		bob.Do("GET", "/api/keys/"+id, nil).Expect(t, 404, "NOT_FOUND")
		bob.Do("DELETE", "/api/keys/"+id, nil, "X-CSRF-Token", bc).Expect(t, 404, "NOT_FOUND")
		bob.Do("GET", "/api/keys/key_doesnotexist", nil).Expect(t, 404, "NOT_FOUND")
		if r := bob.Do("GET", "/api/keys", nil).Expect(t, 200, ""); len(r.JSON["keys"].([]any)) != 0 {
			t.Errorf("bob lists %s; want no keys", r.Body)
		}
		if r := bob.Do("GET", "/api/settings", nil).Expect(t, 200, ""); r.Str("email") != "bob@example.com" {
			t.Errorf("bob's settings = %s", r.Body)
		}
		alice.Do("GET", "/api/keys/"+id, nil).Expect(t, 200, "")
		alice.Do("DELETE", "/api/keys/"+id, nil, "X-CSRF-Token", ac).Expect(t, 200, "")
		alice.Do("GET", "/api/keys/"+id, nil).Expect(t, 404, "NOT_FOUND")
	})
}

func TestBadJWTsAreTokenInvalid(t *testing.T) {
	env := servertest.New(t, "sqlite", nil)
	c := env.Client(t)
	uid, _ := c.SignUp("jwt@example.com", "password-j")
	secret := env.Config.JWTSecret
	claims := func(exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"userId": uid, "email": "jwt@example.com", "role": "user", "gen": 1, "exp": exp.Unix()}
	}
	sign := func(m jwt.SigningMethod, key []byte, cl jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, cl).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	seg := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	none := seg(map[string]string{"alg": "none", "typ": "JWT"}) + "." + seg(claims(time.Now().Add(time.Hour))) + "."
	good := sign(jwt.SigningMethodHS256, secret, claims(time.Now().Add(time.Hour)))
	noGen := claims(time.Now().Add(time.Hour))
	delete(noGen, "gen")
	futureGen := claims(time.Now().Add(time.Hour))
	futureGen["gen"] = 2
	otherUser := claims(time.Now().Add(time.Hour))
	otherUser["userId"] = "usr_doesnotexist"
	cases := map[string]string{
		"no generation": sign(jwt.SigningMethodHS256, secret, noGen),
		"not current":   sign(jwt.SigningMethodHS256, secret, futureGen),
		"no such user":  sign(jwt.SigningMethodHS256, secret, otherUser),
		"alg none":      none,
		"HS512":         sign(jwt.SigningMethodHS512, secret, claims(time.Now().Add(time.Hour))),
		"wrong secret":  sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), claims(time.Now().Add(time.Hour))),
		"expired":       sign(jwt.SigningMethodHS256, secret, claims(time.Now().Add(-time.Minute))),
		"tampered":      good[:len(good)-2] + "xx",
		"garbage":       "not.a.jwt",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			jc := env.Client(t)
			jc.Do("GET", "/api/settings", nil, "Authorization", "Bearer "+tok).Expect(t, 401, "TOKEN_INVALID")
		})
	}
	jc := env.Client(t)
	jc.Do("GET", "/api/settings", nil, "Authorization", "Bearer "+good).Expect(t, 200, "")
	jc.Do("GET", "/api/settings", nil).Expect(t, 401, "AUTH_REQUIRED")
	jc.Do("GET", "/api/settings", nil, "Authorization", "Bearer sk_"+strings.Repeat("0", 64)).Expect(t, 401, "INVALID_API_KEY")
}

func TestPasswordResetWorksOnceAndExpires(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		c := env.Client(t)
		c.SignUp("reset@example.com", "old-password")
		other := env.Client(t) // a second signed-in session, revoked by the reset
		other.Do("POST", "/api/auth/login", map[string]any{"email": "reset@example.com", "password": "old-password"}).Expect(t, 200, "")

		anon := env.Client(t)
		r := anon.Do("POST", "/api/auth/forgot-password", map[string]any{"email": "nobody@example.com"}).Expect(t, 200, "")
		want := r.Str("message")
		r = anon.Do("POST", "/api/auth/forgot-password", map[string]any{"email": "reset@example.com"}).Expect(t, 200, "")
		if r.Str("message") != want || want != "If an account exists, a reset link has been sent" {
			t.Errorf("forgot-password answers differ: %q vs %q", r.Str("message"), want)
		}
		msg := env.Mail.WaitFor(t, "reset@example.com", "Reset")
		token := regexp.MustCompile(`token=([0-9a-f]{64})`).FindStringSubmatch(msg.Text)
		if token == nil {
			t.Fatalf("reset mail = %+v; want a link with the token", msg)
		}
		anon.Do("POST", "/api/auth/reset-password", map[string]any{"token": token[1], "password": "short"}).Expect(t, 400, "VALIDATION_ERROR")
		anon.Do("POST", "/api/auth/reset-password", map[string]any{"token": token[1], "password": "new-password"}).Expect(t, 200, "")
		anon.Do("POST", "/api/auth/reset-password", map[string]any{"token": token[1], "password": "newer-password"}).Expect(t, 400, "INVALID_TOKEN")
		other.Do("GET", "/api/settings", nil).Expect(t, 401, "AUTH_REQUIRED")
		anon.Do("POST", "/api/auth/login", map[string]any{"email": "reset@example.com", "password": "old-password"}).Expect(t, 401, "INVALID_CREDENTIALS")
		anon.Do("POST", "/api/auth/login", map[string]any{"email": "reset@example.com", "password": "new-password"}).Expect(t, 200, "")

		// A token past its hour never works.
		env.Identity.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
		anon.Do("POST", "/api/auth/forgot-password", map[string]any{"email": "reset@example.com"}).Expect(t, 200, "")
		msg = env.Mail.WaitFor(t, "reset@example.com", "Reset")
		old := regexp.MustCompile(`token=([0-9a-f]{64})`).FindStringSubmatch(msg.Text)
		anon.Do("POST", "/api/auth/reset-password", map[string]any{"token": old[1], "password": "expired-password"}).Expect(t, 400, "INVALID_TOKEN")
		anon.Do("POST", "/api/auth/reset-password", map[string]any{"token": strings.Repeat("ab", 32), "password": "whatever-pw"}).Expect(t, 400, "INVALID_TOKEN")
	})
}

func TestSixthFailedSignInIs429(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		c := env.Client(t)
		c.SignUp("brute@example.com", "right-password")
		for i := 1; i <= 5; i++ {
			c.Do("POST", "/api/auth/login", map[string]any{"email": "brute@example.com", "password": "wrong-password"}).Expect(t, 401, "INVALID_CREDENTIALS")
		}
		r := c.Do("POST", "/api/auth/login", map[string]any{"email": "brute@example.com", "password": "wrong-password"}).Expect(t, 429, "RATE_LIMITED")
		if r.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		// Even the right password is refused while the account is throttled.
		c.Do("POST", "/api/auth/login", map[string]any{"email": "brute@example.com", "password": "right-password"}).Expect(t, 429, "RATE_LIMITED")
		// The IP is throttled too: another account from the same address.
		c.Do("POST", "/api/auth/callback/credentials", map[string]any{"email": "other@example.com", "password": "whatever1"}).Expect(t, 429, "RATE_LIMITED")
	})
}

func TestCookiePostWithoutCSRFIs403(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		c := env.Client(t)
		_, csrf := c.SignUp("csrf@example.com", "password-c")
		for _, tc := range []struct{ method, path string }{
			{"POST", "/api/keys"}, {"POST", "/api/settings"}, {"PATCH", "/api/settings"},
			{"POST", "/api/settings/password"}, {"DELETE", "/api/keys/key_x"}, {"POST", "/api/auth/token"},
		} {
			c.Do(tc.method, tc.path, map[string]any{"name": "x"}).Expect(t, 403, "CSRF_REQUIRED")
			c.Do(tc.method, tc.path, map[string]any{"name": "x"}, "X-CSRF-Token", csrf+"0").Expect(t, 403, "CSRF_REQUIRED")
		}
		c.Do("POST", "/api/keys", map[string]any{"name": "x"}, "X-XSRF-Token", csrf).Expect(t, 201, "")
		if r := c.Do("GET", "/api/keys", nil).Expect(t, 200, ""); len(r.JSON["keys"].([]any)) != 1 {
			t.Errorf("keys after refused posts = %s; want exactly the one accepted", r.Body)
		}
	})
}

func TestBadInputIs4xxAndStoresNothing(t *testing.T) {
	for _, b := range servertest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			testBadInput(t, servertest.New(t, b, map[string]string{"AGENTBOT_RATE_LIMITS": "/api/register=1000-M"}))
		})
	}
}

func testBadInput(t *testing.T, env *servertest.Env) {
	{
		anon := env.Client(t)
		cases := []struct {
			name   string
			path   string
			body   any
			status int
			code   string
		}{
			{"malformed", "/api/register", `{"email": "x@example.com",`, 400, "INVALID_JSON"},
			{"trailing", "/api/register", `{"email":"x@example.com","password":"password1"} {}`, 400, "INVALID_JSON"},
			{"array", "/api/register", `[1,2]`, 400, "INVALID_JSON"},
			{"empty", "/api/register", ``, 400, "INVALID_JSON"},
			{"number email", "/api/register", `{"email": 5, "password": "password1"}`, 400, "INVALID_FIELD_TYPE"},
			{"bool password", "/api/register", `{"email": "x@example.com", "password": true}`, 400, "INVALID_FIELD_TYPE"},
			{"bad email", "/api/register", map[string]any{"email": "x@", "password": "password1"}, 400, "VALIDATION_ERROR"},
			{"short password", "/api/register", map[string]any{"email": "x@example.com", "password": "1234567"}, 400, "VALIDATION_ERROR"},
			{"long password", "/api/register", map[string]any{"email": "x@example.com", "password": strings.Repeat("p", 73)}, 400, "VALIDATION_ERROR"},
			{"bad referral", "/api/register", map[string]any{"email": "x@example.com", "password": "password1", "referralCode": "no spaces!"}, 400, "VALIDATION_ERROR"},
			{"oversize", "/api/register", `{"email":"x@example.com","password":"password1","name":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "PAYLOAD_TOO_LARGE"},
			{"login types", "/api/auth/login", `{"email": ["x"], "password": "p"}`, 400, "INVALID_FIELD_TYPE"},
		}
		for _, tc := range cases {
			anon.Do("POST", tc.path, tc.body).Expect(t, tc.status, tc.code)
		}
		anon.Do("POST", "/api/register", `{"email":"x@example.com","password":"password1"}`, "Content-Type", "text/plain").Expect(t, 415, "UNSUPPORTED_MEDIA_TYPE")
		// None of the above created the account.
		anon.Do("POST", "/api/auth/login", map[string]any{"email": "x@example.com", "password": "password1"}).Expect(t, 401, "INVALID_CREDENTIALS")
		if _, err := env.Store.CredentialByEmail(context.Background(), "x@example.com"); err == nil {
			t.Error("a refused registration stored a user")
		}

		c := env.Client(t)
		_, csrf := c.SignUp("input@example.com", "password-i")
		c.Do("POST", "/api/keys", map[string]any{"name": ""}, "X-CSRF-Token", csrf).Expect(t, 400, "VALIDATION_ERROR")
		c.Do("POST", "/api/keys", map[string]any{"name": strings.Repeat("n", 65)}, "X-CSRF-Token", csrf).Expect(t, 400, "VALIDATION_ERROR")
		c.Do("POST", "/api/keys", `{"name": 12}`, "X-CSRF-Token", csrf).Expect(t, 400, "INVALID_FIELD_TYPE")
		c.Do("PATCH", "/api/settings", `{"notifications": "on"}`, "X-CSRF-Token", csrf).Expect(t, 400, "INVALID_FIELD_TYPE")
		c.Do("POST", "/api/settings", map[string]any{"email": "not-an-email"}, "X-CSRF-Token", csrf).Expect(t, 400, "VALIDATION_ERROR")
		c.Do("POST", "/api/settings", map[string]any{"name": "   "}, "X-CSRF-Token", csrf).Expect(t, 400, "VALIDATION_ERROR")
		c.Do("POST", "/api/settings/password", map[string]any{"currentPassword": "nope-nope", "newPassword": "new-password"}, "X-CSRF-Token", csrf).Expect(t, 401, "INVALID_CREDENTIALS")
		if r := c.Do("GET", "/api/keys", nil).Expect(t, 200, ""); len(r.JSON["keys"].([]any)) != 0 {
			t.Errorf("refused key creations stored keys: %s", r.Body)
		}
		if r := c.Do("GET", "/api/settings", nil).Expect(t, 200, ""); r.Str("name") != "input@example.com" || r.Str("email") != "input@example.com" {
			t.Errorf("refused updates changed settings: %s", r.Body)
		}
		c.Do("POST", "/api/auth/login", map[string]any{"email": "input@example.com", "password": "password-i"}).Expect(t, 200, "")
	}
}

func TestSettingsEmailConflictAndPasswordChange(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		a, b := env.Client(t), env.Client(t)
		_, ac := a.SignUp("first@example.com", "password-1")
		b.SignUp("second@example.com", "password-2")
		a.Do("POST", "/api/settings", map[string]any{"email": "SECOND@example.com"}, "X-CSRF-Token", ac).Expect(t, 409, "EMAIL_IN_USE")
		a.Do("POST", "/api/settings", map[string]any{"email": "renamed@example.com"}, "X-CSRF-Token", ac).Expect(t, 200, "")
		a.VerifyEmail("renamed@example.com")
		a2 := env.Client(t)
		a2.Do("POST", "/api/auth/login", map[string]any{"email": "renamed@example.com", "password": "password-1"}).Expect(t, 200, "")
		a.Do("POST", "/api/settings/password", map[string]any{"currentPassword": "password-1", "newPassword": "password-1b"}, "X-CSRF-Token", ac).Expect(t, 200, "")
		a.Do("GET", "/api/settings", nil).Expect(t, 200, "")               // the session that changed it survives
		a2.Do("GET", "/api/settings", nil).Expect(t, 401, "AUTH_REQUIRED") // the other one is revoked
	})
}

func TestConcurrentRegistrationsOfOneEmail(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		var wg sync.WaitGroup
		statuses := make(chan int, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := env.Client(t)
				statuses <- c.Do("POST", "/api/register", map[string]any{"email": "dup@example.com", "password": "password-d"}).Status
			}()
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		if count[200] != 1 || count[409] != 9 {
			t.Errorf("statuses = %v; want one 200 and nine 409", count)
		}
	})
}

func TestBotFilter(t *testing.T) {
	env := servertest.New(t, "sqlite", nil)
	c := env.Client(t)
	c.Do("POST", "/api/register", map[string]any{"email": "bot@example.com", "password": "password-b"}, "User-Agent", "").Expect(t, 403, "BOT_DETECTED")
	r := c.Do("POST", "/api/register", map[string]any{"email": "bot@example.com", "password": "password-b", "website": "http://spam"}).Expect(t, 403, "BOT_DETECTED")
	if r.Str("error") != "Access denied" {
		t.Errorf("bot answer = %s; want Access denied", r.Body)
	}
	c.Do("POST", "/api/auth/forgot-password", map[string]any{"email": "bot@example.com"}, "User-Agent", "").Expect(t, 403, "BOT_DETECTED")
	c.Do("POST", "/api/register", map[string]any{"email": "bot@example.com", "password": "password-b"}, "User-Agent", "curl/8.0").Expect(t, 200, "")
}

func TestRegisterRateLimitPerIP(t *testing.T) {
	env := servertest.New(t, "sqlite", nil)
	c := env.Client(t)
	for i := range 10 {
		c.Do("POST", "/api/register", map[string]any{"email": fmt.Sprintf("rl%d@example.com", i), "password": "password-r"}).Expect(t, 200, "")
	}
	r := c.Do("POST", "/api/register", map[string]any{"email": "rl10@example.com", "password": "password-r"}).Expect(t, 429, "RATE_LIMITED")
	if r.Header.Get("Retry-After") == "" || r.Header.Get("RateLimit-Limit") != "10" || r.Header.Get("RateLimit-Remaining") != "0" {
		t.Errorf("429 headers = %v", r.Header)
	}
}

func TestAdminsFromConfig(t *testing.T) {
	env := servertest.New(t, "sqlite", map[string]string{"ADMIN_EMAILS": "Boss@Example.com"})
	c := env.Client(t)
	c.SignUpUnverified("BOSS@example.com", "password-boss")
	if r := c.Do("GET", "/api/settings", nil).Expect(t, 200, ""); r.Str("role") != "user" || r.JSON["emailVerified"] != false {
		t.Errorf("unverified ADMIN_EMAILS account = %s; want role user until verified", r.Body)
	}
	c.VerifyEmail("boss@example.com")
	if r := c.Do("GET", "/api/settings", nil).Expect(t, 200, ""); r.Str("role") != "admin" || r.JSON["emailVerified"] != true {
		t.Errorf("verified = %s; want role admin", r.Body)
	}
	key := c.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", c.Do("GET", "/api/auth/csrf", nil).Str("csrfToken")).Str("key")
	tok := c.Do("POST", "/api/auth/token", nil, "Authorization", "Bearer "+key).Str("token")
	cl, err := env.Auth.JWT.Verify(tok)
	if err != nil || cl.Role != "admin" {
		t.Errorf("admin JWT claims = %+v, %v; want role admin", cl, err)
	}
}

func TestDeletedKeyStopsWorkingAtOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		c := env.Client(t)
		_, csrf := c.SignUp("revoke@example.com", "password-r")
		r := c.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", csrf).Expect(t, 201, "")
		kc := env.Client(t)
		kc.Header.Set("Authorization", "Bearer "+r.Str("key"))
		kc.Do("GET", "/api/settings", nil).Expect(t, 200, "") // now cached
		kc.Do("DELETE", "/api/keys/"+r.Str("id"), nil).Expect(t, 200, "")
		kc.Do("GET", "/api/settings", nil).Expect(t, 401, "INVALID_API_KEY")
	})
}

func TestCreditsAndReferral(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		ref := env.Client(t)
		ref.SignUp("referrer@example.com", "password-ref")
		r := ref.Do("GET", "/api/credits", nil).Expect(t, 200, "")
		code := r.Str("referralCode")
		if len(code) != 8 || r.JSON["credits"] != float64(0) || r.JSON["referralCount"] != float64(0) || r.JSON["plan"] != nil {
			t.Fatalf("GET /api/credits = %s", r.Body)
		}
		anon := env.Client(t)
		anon.Do("POST", "/api/register", map[string]any{"email": "x@example.com", "password": "password-x", "referralCode": "ZZZZZZZZ"}).Expect(t, 400, "INVALID_REFERRAL_CODE")
		anon.Do("POST", "/api/register", map[string]any{"email": "new@example.com", "password": "password-n", "referralCode": strings.ToLower(code)}).Expect(t, 200, "")
		anon.Do("POST", "/api/auth/login", map[string]any{"email": "new@example.com", "password": "password-n"}).Expect(t, 200, "")
		// Nothing spendable before the referred account verifies its address.
		if r := anon.Do("GET", "/api/credits", nil).Expect(t, 200, ""); r.JSON["credits"] != float64(0) {
			t.Errorf("unverified referee credits = %s; want 0", r.Body)
		}
		if r := ref.Do("GET", "/api/credits", nil).Expect(t, 200, ""); r.JSON["credits"] != float64(0) || r.JSON["referralCount"] != float64(0) {
			t.Errorf("referrer credits before verification = %s; want 0", r.Body)
		}
		anon.VerifyEmail("new@example.com")
		if r := anon.Do("GET", "/api/credits", nil).Expect(t, 200, ""); r.JSON["credits"] != float64(10) || r.JSON["balanceMicroUsd"] != float64(10_000_000) {
			t.Errorf("referee credits = %s; want 10", r.Body)
		}
		if r := ref.Do("GET", "/api/credits", nil).Expect(t, 200, ""); r.JSON["credits"] != float64(10) || r.JSON["referralCount"] != float64(1) {
			t.Errorf("referrer credits = %s; want 10 and one referral", r.Body)
		}
		// A sub-address of an address that earned a bonus earns none.
		sub := env.Client(t)
		sub.Do("POST", "/api/register", map[string]any{"email": "new+2@example.com", "password": "password-n", "referralCode": code}).Expect(t, 200, "")
		sub.Do("POST", "/api/auth/login", map[string]any{"email": "new+2@example.com", "password": "password-n"}).Expect(t, 200, "")
		sub.VerifyEmail("new+2@example.com")
		if r := sub.Do("GET", "/api/credits", nil).Expect(t, 200, ""); r.JSON["credits"] != float64(0) {
			t.Errorf("sub-address referee credits = %s; want 0", r.Body)
		}
		if r := ref.Do("GET", "/api/credits", nil).Expect(t, 200, ""); r.JSON["credits"] != float64(10) {
			t.Errorf("referrer after a sub-address referral = %s; want still 10", r.Body)
		}
		if _, err := env.Store.CredentialByEmail(context.Background(), "x@example.com"); err == nil {
			t.Error("a registration with an unknown referral code stored a user")
		}
		env.Client(t).Do("GET", "/api/credits", nil).Expect(t, 401, "AUTH_REQUIRED")
	})
}

// A referrer is paid for at most AGENTBOT_REFERRAL_MONTHLY_CAP referrals a
// month; past it, neither side is paid.
func TestReferralMonthlyCap(t *testing.T) {
	env := servertest.New(t, "sqlite", map[string]string{"AGENTBOT_REFERRAL_MONTHLY_CAP": "2",
		"AGENTBOT_RATE_LIMITS": "/api/register=1000-M"})
	ref := env.Client(t)
	ref.SignUp("farmer@example.com", "password-f")
	code := ref.Do("GET", "/api/credits", nil).Str("referralCode")
	for i := range 4 {
		email := fmt.Sprintf("sock%d@example.com", i)
		c := env.Client(t)
		c.Do("POST", "/api/register", map[string]any{"email": email, "password": "password-s", "referralCode": code}).Expect(t, 200, "")
		c.Do("POST", "/api/auth/login", map[string]any{"email": email, "password": "password-s"}).Expect(t, 200, "")
		c.VerifyEmail(email)
		want := float64(10)
		if i >= 2 {
			want = 0
		}
		if r := c.Do("GET", "/api/credits", nil).Expect(t, 200, ""); r.JSON["credits"] != want {
			t.Errorf("referee %d credits = %s; want %v", i, r.Body, want)
		}
	}
	if r := ref.Do("GET", "/api/credits", nil).Expect(t, 200, ""); r.JSON["credits"] != float64(20) || r.JSON["referralCount"] != float64(2) {
		t.Errorf("referrer = %s; want 20 credits from 2 referrals", r.Body)
	}
}
