package identity_test

import (
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/chain/chaintest"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/siwe"
	"github.com/agentbot/gateway/core/store"
)

const publicURL = "https://agentbot.example"

func walletEnv(t *testing.T, backend string, env map[string]string) *servertest.Env {
	// Tests make more sign-ins from one address than production allows.
	vars := map[string]string{"AGENTBOT_PUBLIC_URL": publicURL,
		"AGENTBOT_RATE_LIMITS": "/api/auth/callback/wallet=100000-M,/api/auth/nonce=100000-M"}
	for k, v := range env {
		vars[k] = v
	}
	return servertest.New(t, backend, vars)
}

func eachWalletBackend(t *testing.T, env map[string]string, fn func(t *testing.T, env *servertest.Env)) {
	t.Helper()
	for _, b := range servertest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, walletEnv(t, b, env))
		})
	}
}

// newNonce asks the server for a nonce.
func newNonce(t *testing.T, c *servertest.Client) string {
	t.Helper()
	r := c.Do("GET", "/api/auth/nonce", nil).Expect(t, 200, "")
	n := r.Str("nonce")
	if len(n) < 16 || strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Fatalf("nonce %q; want 16+ letters and digits", n)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("nonce answer Cache-Control %q; want no-store", r.Header.Get("Cache-Control"))
	}
	return n
}

// message is a valid sign-in message for address with nonce, issued now.
func message(address evm.Address, nonce string) *siwe.Message {
	now := time.Now()
	return &siwe.Message{Domain: "agentbot.example", Address: address, Statement: "Sign in to Agentbot",
		URI: publicURL + "/login", Version: "1", ChainID: 8453, Nonce: nonce,
		IssuedAt: siwe.NewTimestamp(now), ExpirationTime: siwe.NewTimestamp(now.Add(10 * time.Minute))}
}

func sign(key *evm.PrivateKey, m *siwe.Message) string {
	return "0x" + hex.EncodeToString(key.Sign(evm.TextHash([]byte(m.String()))))
}

func signIn(c *servertest.Client, m *siwe.Message, sig string, headers ...string) *servertest.Response {
	return c.Do("POST", "/api/auth/callback/wallet", map[string]any{"message": m.String(), "signature": sig}, headers...)
}

func walletEmail(a evm.Address) string { return strings.ToLower(a.Hex()) + "@wallet.base.org" }

func TestWalletSignIn(t *testing.T) {
	eachWalletBackend(t, nil, func(t *testing.T, env *servertest.Env) {
		alice := chaintest.DevAccounts()[1]
		c := env.Client(t)
		m := message(alice.Address, newNonce(t, c))
		r := signIn(c, m, sign(alice.Key, m)).Expect(t, 200, "")
		user, _ := r.JSON["user"].(map[string]any)
		if r.Str("csrfToken") == "" || r.Str("expiresAt") == "" || r.Str("address") != alice.Address.Hex() ||
			r.JSON["created"] != true || user["email"] != walletEmail(alice.Address) || user["emailVerified"] != false ||
			user["name"] != "Wallet:0x7099...79c8" {
			t.Fatalf("sign-in = %s", r.Body)
		}
		// The session works like a password sign-in's: cookie, and CSRF for writes.
		s := c.Do("GET", "/api/settings", nil).Expect(t, 200, "")
		if s.Str("email") != walletEmail(alice.Address) {
			t.Errorf("GET /api/settings = %s", s.Body)
		}
		c.Do("POST", "/api/keys", map[string]any{"name": "k"}).Expect(t, 403, "CSRF_REQUIRED")
		c.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", r.Str("csrfToken")).Expect(t, 201, "")
		if got := c.Do("GET", "/api/auth/csrf", nil).Expect(t, 200, "").Str("csrfToken"); got != r.Str("csrfToken") {
			t.Errorf("GET /api/auth/csrf = %q; want the sign-in's", got)
		}

		// The nonce was used: the same message again is refused.
		signIn(env.Client(t), m, sign(alice.Key, m)).Expect(t, 401, "SIWE_NONCE_INVALID")

		// Signing in again (another nonce, another client) reaches the same account.
		c2 := env.Client(t)
		m2 := message(alice.Address, newNonce(t, c2))
		r2 := signIn(c2, m2, sign(alice.Key, m2)).Expect(t, 200, "")
		if u2, _ := r2.JSON["user"].(map[string]any); u2["id"] != user["id"] || r2.JSON["created"] != false {
			t.Errorf("second sign-in = %s; want the same account, not created", r2.Body)
		}
		// The account has no password.
		env.Client(t).Do("POST", "/api/auth/login", map[string]any{"email": walletEmail(alice.Address), "password": "anything at all"}).
			Expect(t, 401, "INVALID_CREDENTIALS")
		// The wallet is recorded.
		ws, err := env.Store.Wallets(context.Background(), user["id"].(string))
		if err != nil || len(ws) != 1 || ws[0].Address != strings.ToLower(alice.Address.Hex()) || ws[0].ChainID != 8453 {
			t.Errorf("Wallets = %+v, %v", ws, err)
		}
	})
}

func TestWalletSignInRefusals(t *testing.T) {
	eachWalletBackend(t, nil, func(t *testing.T, env *servertest.Env) {
		accts := chaintest.DevAccounts()
		alice, mallory := accts[1], accts[2]
		c := env.Client(t)
		nonce := newNonce(t, c)
		cases := []struct {
			name   string
			edit   func(m *siwe.Message)
			key    *evm.PrivateKey
			status int
			code   string
		}{
			{"another domain", func(m *siwe.Message) { m.Domain = "evil.example" }, alice.Key, 401, "SIWE_DOMAIN_MISMATCH"},
			{"another scheme", func(m *siwe.Message) { m.Scheme = "http" }, alice.Key, 401, "SIWE_DOMAIN_MISMATCH"},
			{"URI elsewhere", func(m *siwe.Message) { m.URI = "https://evil.example/login" }, alice.Key, 401, "SIWE_DOMAIN_MISMATCH"},
			{"mainnet", func(m *siwe.Message) { m.ChainID = 1 }, alice.Key, 401, "SIWE_CHAIN_UNSUPPORTED"},
			{"expired", func(m *siwe.Message) {
				m.IssuedAt = siwe.NewTimestamp(time.Now().Add(-5 * time.Minute))
				m.ExpirationTime = siwe.NewTimestamp(time.Now().Add(-time.Second))
			}, alice.Key, 401, "SIWE_EXPIRED"},
			{"issued an hour ago", func(m *siwe.Message) {
				m.IssuedAt = siwe.NewTimestamp(time.Now().Add(-time.Hour))
				m.ExpirationTime = siwe.Timestamp{}
			}, alice.Key, 401, "SIWE_EXPIRED"},
			{"issued in the future", func(m *siwe.Message) { m.IssuedAt = siwe.NewTimestamp(time.Now().Add(5 * time.Minute)) }, alice.Key, 401, "SIWE_NOT_YET_VALID"},
			{"not before", func(m *siwe.Message) { m.NotBefore = siwe.NewTimestamp(time.Now().Add(5 * time.Minute)) }, alice.Key, 401, "SIWE_NOT_YET_VALID"},
			{"signed by another key", func(*siwe.Message) {}, mallory.Key, 401, "SIWE_SIGNATURE_INVALID"},
			{"a nonce never issued", func(m *siwe.Message) { m.Nonce = "NeverIssued12345" }, alice.Key, 401, "SIWE_NONCE_INVALID"},
		}
		for _, tc := range cases {
			m := message(alice.Address, nonce)
			tc.edit(m)
			r := signIn(c, m, sign(tc.key, m))
			if r.Status != tc.status || r.Str("code") != tc.code {
				t.Errorf("%s: %d %s; want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
			}
			if r.Header.Get("Set-Cookie") != "" {
				t.Errorf("%s: a refused sign-in set a cookie", tc.name)
			}
		}
		// No refusal used the nonce up: the genuine message still signs in.
		m := message(alice.Address, nonce)
		signIn(c, m, sign(alice.Key, m)).Expect(t, 200, "")

		// Malformed requests are 400s.
		for _, body := range []map[string]any{
			{"message": "", "signature": "0x00"},
			{"message": m.String()},
			{"message": m.String(), "signature": "c5bd"},
			{"message": m.String(), "signature": "0xzz"},
			{"message": m.String(), "signature": "0x" + strings.Repeat("00", 9000)},
		} {
			c.Do("POST", "/api/auth/callback/wallet", body).Expect(t, 400, "VALIDATION_ERROR")
		}
		for _, msg := range []string{"hello", strings.Replace(m.String(), "Version: 1", "Version: 2", 1),
			strings.ToLower(m.String()), m.String() + "\n"} {
			c.Do("POST", "/api/auth/callback/wallet", map[string]any{"message": msg, "signature": sign(alice.Key, m)}).
				Expect(t, 400, "SIWE_MESSAGE_INVALID")
		}
		c.Do("POST", "/api/auth/callback/wallet", `{"message": 1}`).Expect(t, 400, "INVALID_FIELD_TYPE")
		// A signature of another length, without a chain to ask: refused, and told why.
		m = message(alice.Address, newNonce(t, c))
		r := signIn(c, m, "0x"+strings.Repeat("ab", 200)).Expect(t, 401, "SIWE_SIGNATURE_INVALID")
		if !strings.Contains(r.Str("error"), "EVM_RPC_URL") {
			t.Errorf("smart-wallet signature without EVM_RPC_URL: %s; want the reason named", r.Body)
		}
	})
}

// Many requests with one signed message: exactly one signs in.
func TestWalletSignInNonceRace(t *testing.T) {
	eachWalletBackend(t, nil, func(t *testing.T, env *servertest.Env) {
		alice := chaintest.DevAccounts()[1]
		m := message(alice.Address, newNonce(t, env.Client(t)))
		sig := sign(alice.Key, m)
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := env.Client(t).Do("POST", "/api/auth/callback/wallet", map[string]any{"message": m.String(), "signature": sig})
				switch {
				case r.Status == 200:
					ok.Add(1)
				case r.Status == 401 && r.Str("code") == "SIWE_NONCE_INVALID":
					refused.Add(1)
				default:
					t.Errorf("%d %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || refused.Load() != 9 {
			t.Errorf("%d signed in, %d refused; want 1 and 9", ok.Load(), refused.Load())
		}
	})
}

func TestWalletLink(t *testing.T) {
	eachWalletBackend(t, nil, func(t *testing.T, env *servertest.Env) {
		accts := chaintest.DevAccounts()
		alice, bob := accts[1], accts[2]
		c := env.Client(t)
		userID, csrf := c.SignUp("ada@example.com", "correct horse")
		link := func(key *evm.PrivateKey, addr evm.Address, headers ...string) *servertest.Response {
			m := message(addr, newNonce(t, c))
			return c.Do("POST", "/api/auth/callback/wallet", map[string]any{"message": m.String(), "signature": sign(key, m), "link": true}, headers...)
		}
		// Binding a wallet to the signed-in account needs its CSRF token.
		link(alice.Key, alice.Address).Expect(t, 403, "CSRF_REQUIRED")
		env.Client(t).Do("POST", "/api/auth/callback/wallet", map[string]any{"message": "x", "signature": "0x00", "link": true}).
			Expect(t, 400, "SIWE_MESSAGE_INVALID")
		r := link(alice.Key, alice.Address, "X-CSRF-Token", csrf).Expect(t, 200, "")
		if r.JSON["success"] != true || r.Str("address") != alice.Address.Hex() {
			t.Errorf("link = %s", r.Body)
		}
		link(alice.Key, alice.Address, "X-CSRF-Token", csrf).Expect(t, 200, "") // again: no change
		// Signing in with the wallet now reaches Ada's account.
		w := env.Client(t)
		m := message(alice.Address, newNonce(t, w))
		r = signIn(w, m, sign(alice.Key, m)).Expect(t, 200, "")
		if u, _ := r.JSON["user"].(map[string]any); u["id"] != userID || u["email"] != "ada@example.com" {
			t.Errorf("wallet sign-in after link = %s; want Ada's account", r.Body)
		}
		// A wallet that has its own account cannot be bound to another.
		b := env.Client(t)
		mb := message(bob.Address, newNonce(t, b))
		signIn(b, mb, sign(bob.Key, mb)).Expect(t, 200, "")
		link(bob.Key, bob.Address, "X-CSRF-Token", csrf).Expect(t, 409, "WALLET_IN_USE")
		// Without link, a signed-in browser signs in as the wallet's account.
		m = message(bob.Address, newNonce(t, c))
		if u, _ := signIn(c, m, sign(bob.Key, m)).Expect(t, 200, "").JSON["user"].(map[string]any); u["id"] == userID {
			t.Error("a wallet sign-in without link stayed in the caller's account")
		}
	})
}

func TestWalletEmailReserved(t *testing.T) {
	eachWalletBackend(t, nil, func(t *testing.T, env *servertest.Env) {
		alice := chaintest.DevAccounts()[1]
		c := env.Client(t)
		c.Do("POST", "/api/register", map[string]any{"email": walletEmail(alice.Address), "password": "correct horse"}).
			Expect(t, 400, "VALIDATION_ERROR")
		c.Do("POST", "/api/register", map[string]any{"email": "0xABC@Wallet.Base.Org", "password": "correct horse"}).
			Expect(t, 400, "VALIDATION_ERROR")
		_, csrf := c.SignUp("ada@example.com", "correct horse")
		c.Do("POST", "/api/settings", map[string]any{"email": walletEmail(alice.Address)}, "X-CSRF-Token", csrf).
			Expect(t, 400, "VALIDATION_ERROR")

		// A wallet account is never mailed: no reset link, no verification.
		w := env.Client(t)
		m := message(alice.Address, newNonce(t, w))
		r := signIn(w, m, sign(alice.Key, m)).Expect(t, 200, "")
		w.Do("POST", "/api/auth/forgot-password", map[string]any{"email": walletEmail(alice.Address)}).Expect(t, 200, "")
		w.Do("POST", "/api/auth/verify-email/resend", nil, "X-CSRF-Token", r.Str("csrfToken")).Expect(t, 400, "VALIDATION_ERROR")
		if err := env.Identity.Close(context.Background()); err != nil { // waits for mail in flight
			t.Fatal(err)
		}
		if n := env.Mail.Count(walletEmail(alice.Address)); n != 0 {
			t.Errorf("%d mails to the wallet's stand-in address; want none", n)
		}
	})
}

// An account an earlier wallet sign-in made (its address named after the
// wallet, no password) is found and bound; a password account is not.
func TestWalletLegacyAccount(t *testing.T) {
	eachWalletBackend(t, nil, func(t *testing.T, env *servertest.Env) {
		accts := chaintest.DevAccounts()
		ctx := context.Background()
		legacy, err := env.Store.CreateUser(ctx, store.NewUser{Email: walletEmail(accts[1].Address), Name: "old"})
		if err != nil {
			t.Fatal(err)
		}
		c := env.Client(t)
		m := message(accts[1].Address, newNonce(t, c))
		r := signIn(c, m, sign(accts[1].Key, m)).Expect(t, 200, "")
		if u, _ := r.JSON["user"].(map[string]any); u["id"] != legacy.ID || r.JSON["created"] != false {
			t.Errorf("sign-in = %s; want the legacy account %s", r.Body, legacy.ID)
		}
		// A password account holding a wallet's address is not the wallet's.
		if _, err := env.Store.CreateUser(ctx, store.NewUser{Email: walletEmail(accts[2].Address), Name: "squatter", PasswordHash: "x"}); err != nil {
			t.Fatal(err)
		}
		m = message(accts[2].Address, newNonce(t, c))
		signIn(c, m, sign(accts[2].Key, m)).Expect(t, 409, "WALLET_IN_USE")
	})
}

func TestNonceRateLimit(t *testing.T) {
	env := walletEnv(t, "sqlite", map[string]string{"AGENTBOT_RATE_LIMITS": "/api/auth/nonce=3-M"})
	c := env.Client(t)
	for range 3 {
		c.Do("POST", "/api/auth/nonce", nil).Expect(t, 200, "")
	}
	c.Do("GET", "/api/auth/nonce", nil).Expect(t, 429, "RATE_LIMITED")
}
