package identity_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/ratelimit/ratelimittest"
	"github.com/agentbot/gateway/core/server/servertest"
)

func TestEmailVerification(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		c := env.Client(t)
		r := c.Do("POST", "/api/register", map[string]any{"email": "Vera@Example.com", "password": "password-v"}).Expect(t, 200, "")
		if r.Str("email") != "vera@example.com" || r.JSON["emailVerified"] != false {
			t.Errorf("register = %s; want the canonical address, unverified", r.Body)
		}
		csrf := c.Do("POST", "/api/auth/login", map[string]any{"email": "vera@example.com", "password": "password-v"}).Expect(t, 200, "").Str("csrfToken")
		if r := c.Do("GET", "/api/settings", nil).Expect(t, 200, ""); r.JSON["emailVerified"] != false || r.JSON["pendingEmail"] != nil {
			t.Errorf("settings before verification = %s", r.Body)
		}
		tok := servertest.Token(t, env.Mail.WaitFor(t, "vera@example.com", servertest.VerifySubject))

		// Resending mails a second, independent link.
		c.Do("POST", "/api/auth/verify-email/resend", nil, "X-CSRF-Token", csrf).Expect(t, 200, "")
		tok2 := servertest.Token(t, env.Mail.WaitFor(t, "vera@example.com", servertest.VerifySubject))
		if tok2 == tok {
			t.Error("resend mailed the same token")
		}

		anon := env.Client(t) // the token alone is the credential
		anon.Do("POST", "/api/auth/verify-email", map[string]any{"token": "ab" + tok[2:]}).Expect(t, 400, "INVALID_TOKEN")
		anon.Do("POST", "/api/auth/verify-email", map[string]any{}).Expect(t, 400, "VALIDATION_ERROR")
		r = anon.Do("POST", "/api/auth/verify-email", map[string]any{"token": tok}).Expect(t, 200, "")
		if r.Str("email") != "vera@example.com" || r.JSON["emailVerified"] != true {
			t.Errorf("verify = %s", r.Body)
		}
		anon.Do("POST", "/api/auth/verify-email", map[string]any{"token": tok}).Expect(t, 400, "INVALID_TOKEN") // single use
		if r := c.Do("GET", "/api/settings", nil).Expect(t, 200, ""); r.JSON["emailVerified"] != true {
			t.Errorf("settings after verification = %s", r.Body)
		}
		c.Do("POST", "/api/auth/verify-email/resend", nil, "X-CSRF-Token", csrf).Expect(t, 409, "ALREADY_VERIFIED")
		env.Client(t).Do("POST", "/api/auth/verify-email/resend", nil).Expect(t, 401, "AUTH_REQUIRED")

		// A link older than its 24 hours never works.
		late := env.Client(t)
		env.Identity.Now = func() time.Time { return time.Now().Add(-25 * time.Hour) }
		late.Do("POST", "/api/register", map[string]any{"email": "late@example.com", "password": "password-l"}).Expect(t, 200, "")
		old := servertest.Token(t, env.Mail.WaitFor(t, "late@example.com", servertest.VerifySubject))
		env.Identity.Now = nil
		late.Do("POST", "/api/auth/verify-email", map[string]any{"token": old}).Expect(t, 400, "INVALID_TOKEN")
	})
}

// An email change takes effect only when the new address is verified; until
// then the old address is the account's, for sign-in and for ADMIN_EMAILS.
func TestEmailChangeWaitsForVerification(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		c := env.Client(t)
		_, csrf := c.SignUp("old@example.com", "password-o")
		other := env.Client(t)
		other.SignUp("taken@example.com", "password-t")
		tok := c.Do("POST", "/api/auth/token", nil, "X-CSRF-Token", csrf).Expect(t, 200, "").Str("token")

		c.Do("POST", "/api/settings", map[string]any{"email": "Taken@example.com"}, "X-CSRF-Token", csrf).Expect(t, 409, "EMAIL_IN_USE")
		r := c.Do("POST", "/api/settings", map[string]any{"email": "New@Example.com"}, "X-CSRF-Token", csrf).Expect(t, 200, "")
		if r.Str("email") != "old@example.com" || r.Str("pendingEmail") != "new@example.com" || r.JSON["emailVerified"] != true {
			t.Errorf("settings after asking for a change = %s; want the old address, the new one pending", r.Body)
		}
		notice := env.Mail.WaitFor(t, "old@example.com", "changing")
		if notice.Text == "" {
			t.Error("no notice to the old address")
		}
		anon := env.Client(t)
		anon.Do("POST", "/api/auth/login", map[string]any{"email": "new@example.com", "password": "password-o"}).Expect(t, 401, "INVALID_CREDENTIALS")
		anon.Do("POST", "/api/auth/login", map[string]any{"email": "old@example.com", "password": "password-o"}).Expect(t, 200, "")
		// The JWT still works: nothing changed yet.
		env.Client(t).Do("GET", "/api/settings", nil, "Authorization", "Bearer "+tok).Expect(t, 200, "")

		c.VerifyEmail("new@example.com")
		r = c.Do("GET", "/api/settings", nil).Expect(t, 200, "")
		if r.Str("email") != "new@example.com" || r.JSON["pendingEmail"] != nil || r.JSON["emailVerified"] != true {
			t.Errorf("settings after verification = %s", r.Body)
		}
		env.Client(t).Do("POST", "/api/auth/login", map[string]any{"email": "old@example.com", "password": "password-o"}).Expect(t, 401, "INVALID_CREDENTIALS")
		env.Client(t).Do("POST", "/api/auth/login", map[string]any{"email": "new@example.com", "password": "password-o"}).Expect(t, 200, "")
		// An email change is a new credential generation.
		env.Client(t).Do("GET", "/api/settings", nil, "Authorization", "Bearer "+tok).Expect(t, 401, "TOKEN_INVALID")

		// A pending address another account took meanwhile: 409, nothing changes.
		c.Do("POST", "/api/settings", map[string]any{"email": "race@example.com"}, "X-CSRF-Token", csrf).Expect(t, 200, "")
		raceTok := servertest.Token(t, env.Mail.WaitFor(t, "race@example.com", servertest.VerifySubject))
		env.Client(t).SignUp("race@example.com", "password-r")
		env.Client(t).Do("POST", "/api/auth/verify-email", map[string]any{"token": raceTok}).Expect(t, 409, "EMAIL_IN_USE")
		if r := c.Do("GET", "/api/settings", nil).Expect(t, 200, ""); r.Str("email") != "new@example.com" {
			t.Errorf("email after a lost race = %s", r.Body)
		}
		// Asking for the current address cancels a pending change, and the
		// pending address's link dies with it.
		c.Do("POST", "/api/settings", map[string]any{"email": "later@example.com"}, "X-CSRF-Token", csrf).Expect(t, 200, "")
		laterTok := servertest.Token(t, env.Mail.WaitFor(t, "later@example.com", servertest.VerifySubject))
		r = c.Do("POST", "/api/settings", map[string]any{"email": "new@example.com"}, "X-CSRF-Token", csrf).Expect(t, 200, "")
		if r.JSON["pendingEmail"] != nil {
			t.Errorf("pendingEmail after cancelling = %s", r.Body)
		}
		env.Client(t).Do("POST", "/api/auth/verify-email", map[string]any{"token": laterTok}).Expect(t, 400, "INVALID_TOKEN")
	})
}

// ADMIN_EMAILS grants nothing to an unverified address, to a look-alike
// address, or to a pending change of address; a JWT's role claim is never
// trusted.
func TestAdminNeedsAVerifiedAddress(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.Auth.Admins = map[string]bool{"kim@example.com": true, "boss@example.com": true}
		role := func(c *servertest.Client, hdr ...string) string {
			return c.Do("GET", "/api/settings", nil, hdr...).Expect(t, 200, "").Str("role")
		}
		// The Kelvin sign folds to k in Go's strings.ToLower, not in SQLite.
		env.Client(t).Do("POST", "/api/register", map[string]any{"email": "\u212aim@example.com", "password": "password-k"}).Expect(t, 400, "VALIDATION_ERROR")
		env.Client(t).Do("POST", "/api/register", map[string]any{"email": "kim@exam\u0440le.com", "password": "password-k"}).Expect(t, 400, "VALIDATION_ERROR")

		// Someone registers the admin's address before the admin does: without
		// the mailbox they cannot verify it, so they are not admin.
		squat := env.Client(t)
		_, sc := squat.SignUpUnverified("kim@example.com", "password-s")
		if got := role(squat); got != "user" {
			t.Errorf("unverified admin address: role %q; want user", got)
		}
		key := squat.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", sc).Expect(t, 201, "").Str("key")
		if got := role(env.Client(t), "Authorization", "Bearer "+key); got != "user" {
			t.Errorf("API key of the unverified admin address: role %q; want user", got)
		}
		// Asking to move to an admin address grants nothing while it is pending.
		mover := env.Client(t)
		_, mc := mover.SignUp("mover@example.com", "password-m")
		mover.Do("POST", "/api/settings", map[string]any{"email": "boss@example.com"}, "X-CSRF-Token", mc).Expect(t, 200, "")
		if got := role(mover); got != "user" {
			t.Errorf("pending admin address: role %q; want user", got)
		}

		// A token minted with role admin for a non-admin: the role is re-derived.
		uid := squat.Do("GET", "/api/settings", nil).Str("id")
		forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"userId": uid, "email": "kim@example.com",
			"role": "admin", "gen": 1, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(env.Config.JWTSecret)
		if err != nil {
			t.Fatal(err)
		}
		if got := role(env.Client(t), "Authorization", "Bearer "+forged); got != "user" {
			t.Errorf("JWT claiming admin: role %q; want user", got)
		}
		// Verified: admin, by session and by the JWT issued now ...
		squat.VerifyEmail("kim@example.com")
		if got := role(squat); got != "admin" {
			t.Errorf("verified admin address: role %q; want admin", got)
		}
		tok := squat.Do("POST", "/api/auth/token", nil, "X-CSRF-Token", sc).Expect(t, 200, "").Str("token")
		if got := role(env.Client(t), "Authorization", "Bearer "+tok); got != "admin" {
			t.Errorf("JWT of a verified admin: role %q; want admin", got)
		}
		// ... and no longer once removed from ADMIN_EMAILS, JWT or not.
		env.Auth.Admins = map[string]bool{}
		env.Auth.ForgetUser(uid)
		if got := role(env.Client(t), "Authorization", "Bearer "+tok); got != "user" {
			t.Errorf("JWT after removal from ADMIN_EMAILS: role %q; want user", got)
		}
	})
}

// A JWT dies with its credential generation: a password change, a reset, and
// signing out everywhere each refuse every JWT issued before.
func TestJWTsDieWithTheirGeneration(t *testing.T) {
	eachBackend(t, func(t *testing.T, env *servertest.Env) {
		c := env.Client(t)
		_, csrf := c.SignUp("gen@example.com", "password-1")
		key := c.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", csrf).Expect(t, 201, "").Str("key")
		kc := env.Client(t)
		kc.Header.Set("Authorization", "Bearer "+key)
		token := func() string { return kc.Do("POST", "/api/auth/token", nil).Expect(t, 200, "").Str("token") }
		use := func(tok string, status int, code string) {
			t.Helper()
			env.Client(t).Do("GET", "/api/settings", nil, "Authorization", "Bearer "+tok).Expect(t, status, code)
		}

		tok := token()
		use(tok, 200, "") // cached now
		c.Do("POST", "/api/settings/password", map[string]any{"currentPassword": "password-1", "newPassword": "password-2"}, "X-CSRF-Token", csrf).Expect(t, 200, "")
		use(tok, 401, "TOKEN_INVALID")

		tok = token()
		use(tok, 200, "")
		env.Client(t).Do("POST", "/api/auth/forgot-password", map[string]any{"email": "gen@example.com"}).Expect(t, 200, "")
		reset := servertest.Token(t, env.Mail.WaitFor(t, "gen@example.com", "Reset"))
		env.Client(t).Do("POST", "/api/auth/reset-password", map[string]any{"token": reset, "password": "password-3"}).Expect(t, 200, "")
		use(tok, 401, "TOKEN_INVALID")

		tok = token()
		use(tok, 200, "")
		s1, s2 := env.Client(t), env.Client(t)
		s1.Do("POST", "/api/auth/login", map[string]any{"email": "gen@example.com", "password": "password-3"}).Expect(t, 200, "")
		c2 := s2.Do("POST", "/api/auth/login", map[string]any{"email": "gen@example.com", "password": "password-3"}).Expect(t, 200, "").Str("csrfToken")
		s2.Do("POST", "/api/auth/logout-all", nil).Expect(t, 403, "CSRF_REQUIRED")
		s2.Do("POST", "/api/auth/logout-all", nil, "X-CSRF-Token", c2).Expect(t, 200, "")
		use(tok, 401, "TOKEN_INVALID")
		s1.Do("GET", "/api/settings", nil).Expect(t, 401, "AUTH_REQUIRED")
		s2.Do("GET", "/api/settings", nil).Expect(t, 401, "AUTH_REQUIRED")
		kc.Do("GET", "/api/settings", nil).Expect(t, 200, "") // API keys stay
		use(token(), 200, "")                                 // and new tokens work
		env.Client(t).Do("POST", "/api/auth/logout-all", nil).Expect(t, 401, "AUTH_REQUIRED")
	})
}

// 40 concurrent wrong passwords for one account: at most the limit (5) are
// tried; the rest are refused before the password is checked. On both
// limiter stores.
func TestSignInThrottleHoldsUnderConcurrency(t *testing.T) {
	stores := map[string]string{"memory": "", "redis": ratelimittest.RedisURL(t)}
	for name, redisURL := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Counts in Redis outlive the test: this run's account and client
			// address are its own.
			var b [6]byte
			_, _ = rand.Read(b[:])
			email := "race-" + hex.EncodeToString(b[:]) + "@example.com"
			ip := fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
			env := servertest.New(t, "sqlite", map[string]string{"REDIS_URL": redisURL, "AGENTBOT_TRUSTED_PROXIES": "127.0.0.1/32,::1/128"})
			client := func() *servertest.Client {
				c := env.Client(t)
				c.Header.Set("X-Forwarded-For", ip)
				return c
			}
			counting := &countingPasswords{Passwords: auth.Passwords{Cost: 4}}
			env.Identity.Passwords = counting
			client().SignUp(email, "right-password")
			counting.checks.Store(0)

			var wg sync.WaitGroup
			statuses := make(chan int, 40)
			for range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses <- client().Do("POST", "/api/auth/login", map[string]any{"email": email, "password": "wrong-password"}).Status
				}()
			}
			wg.Wait()
			close(statuses)
			count := map[int]int{}
			for s := range statuses {
				count[s]++
			}
			if count[401] != 5 || count[429] != 35 || counting.checks.Load() != 5 {
				t.Errorf("40 concurrent wrong passwords: statuses %v, %d passwords checked; want 5 × 401, 35 × 429, 5 checked",
					count, counting.checks.Load())
			}
		})
	}
}

// A successful sign-in gives back its attempt: a user who signs in often
// never runs into the limit.
func TestSuccessfulSignInsAreNotCounted(t *testing.T) {
	env := servertest.New(t, "sqlite", nil)
	env.Client(t).SignUp("often@example.com", "right-password")
	for range 12 {
		env.Client(t).Do("POST", "/api/auth/login", map[string]any{"email": "often@example.com", "password": "right-password"}).Expect(t, 200, "")
	}
}

// A reset with a made-up token is refused before the new password is hashed,
// so it costs a lookup, not a bcrypt.
func TestResetChecksTheTokenBeforeHashing(t *testing.T) {
	env := servertest.New(t, "sqlite", nil)
	counting := &countingPasswords{Passwords: auth.Passwords{Cost: 4}}
	env.Identity.Passwords = counting
	anon := env.Client(t)
	for range 5 {
		anon.Do("POST", "/api/auth/reset-password", map[string]any{"token": "00" + hex.EncodeToString(make([]byte, 31)), "password": "new-password"}).Expect(t, 400, "INVALID_TOKEN")
	}
	if n := counting.hashes.Load(); n != 0 {
		t.Errorf("%d passwords hashed for unknown reset tokens; want 0", n)
	}
}

type countingPasswords struct {
	auth.Passwords
	hashes, checks atomic.Int64
}

func (c *countingPasswords) Hash(pw string) (string, error) {
	c.hashes.Add(1)
	return c.Passwords.Hash(pw)
}

func (c *countingPasswords) Check(hash, pw string) bool {
	c.checks.Add(1)
	return c.Passwords.Check(hash, pw)
}

// Requested verification mails (resends, changes of address) are bounded per
// account and per recipient: the endpoints are no mail cannon.
func TestVerificationMailsAreBounded(t *testing.T) {
	env := servertest.New(t, "sqlite", nil)
	c := env.Client(t)
	_, csrf := c.SignUp("cannon@example.com", "password-c")
	for i := range 5 {
		c.Do("POST", "/api/settings", map[string]any{"email": fmt.Sprintf("v%d@example.com", i)}, "X-CSRF-Token", csrf).Expect(t, 200, "")
	}
	r := c.Do("POST", "/api/settings", map[string]any{"email": "v5@example.com"}, "X-CSRF-Token", csrf).Expect(t, 429, "RATE_LIMITED")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Many accounts aiming at one victim address.
	for i := range 6 {
		a := env.Client(t)
		_, ac := a.SignUp(fmt.Sprintf("shooter%d@example.com", i), "password-s")
		want := 200
		if i == 5 {
			want = 429
		}
		a.Do("POST", "/api/settings", map[string]any{"email": "victim@example.com"}, "X-CSRF-Token", ac).Expect(t, want, "")
	}
	if n := env.Mail.Count("victim@example.com"); n > 5 {
		t.Errorf("%d mails reached the victim; want at most 5", n)
	}
}
