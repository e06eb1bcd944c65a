package identity_test

import (
	"encoding/base64"
	"math/big"
	"net"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agentbot/gateway/core/chain/chaintest"
	"github.com/agentbot/gateway/core/quickauth/quickauthtest"
	"github.com/agentbot/gateway/core/server/servertest"
)

const fcLimits = "/api/auth/farcaster=100000-M,/api/auth/token-gating=100000-M"

func farcasterEnv(t *testing.T, backend string, is *quickauthtest.Issuer, env map[string]string) *servertest.Env {
	vars := map[string]string{"AGENTBOT_PUBLIC_URL": publicURL, "FARCASTER_AUTH_ORIGIN": is.URL, "AGENTBOT_RATE_LIMITS": fcLimits}
	for k, v := range env {
		vars[k] = v
	}
	return servertest.New(t, backend, vars)
}

func fcSignIn(c *servertest.Client, token string, extra ...any) *servertest.Response {
	body := map[string]any{"fidToken": token}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	return c.Do("POST", "/api/auth/farcaster/verify", body)
}

func TestFarcasterSignIn(t *testing.T) {
	for _, b := range servertest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			is := quickauthtest.New(t)
			env := farcasterEnv(t, b, is, nil)
			c := env.Client(t)

			meta := c.Do("GET", "/api/auth/farcaster/verify", nil).Expect(t, 200, "")
			if meta.Str("endpoint") != "/api/auth/farcaster/verify" || meta.Str("audience") != "agentbot.example" || meta.Str("issuer") != is.URL {
				t.Errorf("GET verify = %s", meta.Body)
			}
			c.Do("GET", "/api/auth/farcaster/refresh", nil).Expect(t, 200, "")

			// The audience defaults to the public URL's host.
			r := fcSignIn(c, is.Token(t, "977233", "agentbot.example")).Expect(t, 200, "")
			user, _ := r.JSON["user"].(map[string]any)
			if r.JSON["fid"] != float64(977233) || r.JSON["created"] != true || r.Str("csrfToken") == "" ||
				user["email"] != "977233@farcaster.invalid" || r.Str("sessionToken") == "" || r.JSON["tokenGated"] != false {
				t.Fatalf("first sign-in = %s", r.Body)
			}
			uid := user["id"]
			// The cookie session and the bearer token both work.
			c.Do("GET", "/api/settings", nil).Expect(t, 200, "")
			anon := env.Client(t)
			s := anon.Do("GET", "/api/settings", nil, "Authorization", "Bearer "+r.Str("sessionToken")).Expect(t, 200, "")
			if s.JSON["id"] != uid {
				t.Errorf("settings with the bearer token = %s; want user %v", s.Body, uid)
			}
			// Again (sub as a number this time): the same account.
			claims := is.Claims("", "agentbot.example")
			claims["sub"] = 977233
			r = fcSignIn(env.Client(t), is.Sign(t, "k1", claims)).Expect(t, 200, "")
			if u, _ := r.JSON["user"].(map[string]any); u["id"] != uid || r.JSON["created"] != false {
				t.Errorf("second sign-in = %s; want the same account, not created", r.Body)
			}
			// Nobody can register or move to the stand-in address.
			anon.Do("POST", "/api/register", map[string]any{"email": "1@farcaster.invalid", "password": "long-enough-password"}).
				Expect(t, 400, "VALIDATION_ERROR")

			// Refusals, each with its reason.
			with := func(edit func(jwt.MapClaims)) string {
				c := is.Claims("977233", "agentbot.example")
				edit(c)
				return is.Sign(t, "k1", c)
			}
			hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, is.Claims("977233", "agentbot.example")).SignedString([]byte("k"))
			is.AddKey(t, "other")
			for _, tt := range []struct{ name, token, code string }{
				{"missing", "", "FARCASTER_TOKEN_INVALID"},
				{"opaque", "977233", "FARCASTER_TOKEN_INVALID"},
				{"wrong audience", is.Token(t, "977233", "evil.example"), "FARCASTER_AUDIENCE_MISMATCH"},
				{"wrong issuer", with(func(c jwt.MapClaims) { c["iss"] = "https://auth.farcaster.xyz" }), "FARCASTER_ISSUER_MISMATCH"},
				{"expired", with(func(c jwt.MapClaims) { c["exp"] = 1 }), "FARCASTER_TOKEN_EXPIRED"},
				{"HS256", hs, "FARCASTER_ALGORITHM_REFUSED"},
				{"unknown key", is.Sign(t, "other", is.Claims("977233", "agentbot.example")), "FARCASTER_KEY_UNKNOWN"},
				{"bad subject", with(func(c jwt.MapClaims) { c["sub"] = "alice" }), "FARCASTER_SUBJECT_INVALID"},
			} {
				if r := fcSignIn(env.Client(t), tt.token); r.Status != 401 || r.Str("code") != tt.code {
					t.Errorf("%s: %d %s; want 401 %s", tt.name, r.Status, r.Body, tt.code)
				}
			}

			// Refresh: a bare token or base64 JSON {fidToken}; never for a
			// FID that has not signed in.
			tok := is.Token(t, "977233", "agentbot.example")
			for _, rt := range []string{tok, base64.StdEncoding.EncodeToString([]byte(`{"fidToken":"` + tok + `"}`))} {
				r := anon.Do("POST", "/api/auth/farcaster/refresh", map[string]any{"refreshToken": rt}).Expect(t, 200, "")
				if r.JSON["expiresIn"] != float64(86400) || r.Str("sessionToken") == "" {
					t.Errorf("refresh = %s", r.Body)
				}
				anon.Do("GET", "/api/settings", nil, "Authorization", "Bearer "+r.Str("sessionToken")).Expect(t, 200, "")
			}
			anon.Do("POST", "/api/auth/farcaster/refresh", map[string]any{"refreshToken": is.Token(t, "5", "agentbot.example")}).
				Expect(t, 401, "FARCASTER_TOKEN_INVALID")
			anon.Do("POST", "/api/auth/farcaster/refresh", map[string]any{"refreshToken": is.Token(t, "977233", "evil.example")}).
				Expect(t, 401, "FARCASTER_AUDIENCE_MISMATCH")
			anon.Do("POST", "/api/auth/farcaster/refresh", map[string]any{}).Expect(t, 400, "VALIDATION_ERROR")
			for _, junk := range []string{"!!!", base64.StdEncoding.EncodeToString([]byte("not json")), base64.StdEncoding.EncodeToString([]byte(`{"fidToken":""}`))} {
				anon.Do("POST", "/api/auth/farcaster/refresh", map[string]any{"refreshToken": junk}).Expect(t, 401, "FARCASTER_TOKEN_INVALID")
			}
		})
	}
}

// Link binds a FID to the signed-in account (with CSRF); one FID, one account.
func TestFarcasterLink(t *testing.T) {
	is := quickauthtest.New(t)
	env := farcasterEnv(t, "sqlite", is, nil)
	ada := env.Client(t)
	adaID, csrf := ada.SignUp("ada@example.com", "correct horse battery")
	tok := is.Token(t, "42", "agentbot.example")
	ada.Do("POST", "/api/auth/farcaster/verify", map[string]any{"fidToken": tok, "link": true}).Expect(t, 403, "CSRF_REQUIRED")
	env.Client(t).Do("POST", "/api/auth/farcaster/verify", map[string]any{"fidToken": tok, "link": true}).Expect(t, 401, "AUTH_REQUIRED")
	r := ada.Do("POST", "/api/auth/farcaster/verify", map[string]any{"fidToken": tok, "link": true}, "X-CSRF-Token", csrf).Expect(t, 200, "")
	if r.JSON["fid"] != float64(42) {
		t.Errorf("link = %s", r.Body)
	}
	ada.Do("POST", "/api/auth/farcaster/verify", map[string]any{"fidToken": tok, "link": true}, "X-CSRF-Token", csrf).Expect(t, 200, "")
	// Signing in with the FID now reaches Ada's account.
	r = fcSignIn(env.Client(t), tok).Expect(t, 200, "")
	if u, _ := r.JSON["user"].(map[string]any); u["id"] != adaID {
		t.Errorf("sign-in after link = %s; want Ada's account %s", r.Body, adaID)
	}
	bob := env.Client(t)
	_, bcsrf := bob.SignUp("bob@example.com", "correct horse battery")
	bob.Do("POST", "/api/auth/farcaster/verify", map[string]any{"fidToken": tok, "link": true}, "X-CSRF-Token", bcsrf).
		Expect(t, 409, "FID_IN_USE")
}

// Hostile bodies are 4xx, never 5xx.
func TestFarcasterHostileInput(t *testing.T) {
	is := quickauthtest.New(t)
	env := farcasterEnv(t, "sqlite", is, nil)
	c := env.Client(t)
	for _, tt := range []struct {
		path string
		body any
	}{
		{"/api/auth/farcaster/verify", "not json"},
		{"/api/auth/farcaster/verify", `{"fidToken": 12}`},
		{"/api/auth/farcaster/verify", `{"fidToken": ["a"]}`},
		{"/api/auth/farcaster/verify", map[string]any{"fidToken": strings.Repeat("a.", 20000)}},
		{"/api/auth/farcaster/verify", map[string]any{"fidToken": is.Token(t, "1", "agentbot.example"), "address": "0x123"}},
		{"/api/auth/farcaster/verify", map[string]any{"fidToken": "a.b.c"}},
		{"/api/auth/farcaster/verify", map[string]any{"fidToken": "eyJhbGciOiJSUzI1NiJ9.eyJ9.x"}},
		{"/api/auth/farcaster/refresh", `{"refreshToken": {}}`},
		{"/api/auth/farcaster/refresh", map[string]any{"refreshToken": strings.Repeat("QUFB", 10000)}},
		{"/api/auth/token-gating/verify", map[string]any{"address": "0xzz"}},
		{"/api/auth/token-gating/verify", map[string]any{}},
		{"/api/auth/token-gating/verify", map[string]any{"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79c8"}}, // bad checksum
		{"/api/auth/token-gating/verify", map[string]any{"address": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "fid": "x"}},
		{"/api/auth/token-gating/verify", `{"address": 5}`},
	} {
		r := c.Do("POST", tt.path, tt.body)
		if r.Status < 400 || r.Status > 499 || r.Str("code") == "" {
			t.Errorf("POST %s %v = %d %s; want a 4xx with a code", tt.path, tt.body, r.Status, r.Body)
		}
	}
	for _, q := range []string{"", "?address=nope", "?address=0x" + strings.Repeat("g", 40)} {
		if r := c.Do("GET", "/api/auth/token-gating/verify"+q, nil); r.Status != 400 {
			t.Errorf("GET token-gating%s = %d %s; want 400", q, r.Status, r.Body)
		}
	}
}

// Token gating on a real chain: a holder passes, a non-holder does not, and
// a node that does not answer means no access (200, never 5xx). A Farcaster
// sign-in with an address is refused (403) unless it passes.
func TestTokenGatingOnChain(t *testing.T) {
	ch := chaintest.Start(t)
	owner, holder, poor := ch.Accounts[0].Address, ch.Accounts[1].Address, ch.Accounts[2].Address
	token := ch.DeployToken(owner, 18)
	ch.Mint(owner, token, holder, new(big.Int).Mul(big.NewInt(3), big.NewInt(1e18)))
	ch.Mint(owner, token, poor, big.NewInt(1e17))
	is := quickauthtest.New(t)
	env := farcasterEnv(t, "sqlite", is, map[string]string{"EVM_RPC_URL": ch.URL, "TOKEN_GATE_CONTRACT": token.Hex(),
		"TOKEN_GATE_MIN": "1", "TOKEN_GATE_SYMBOL": "TEST"})
	c := env.Client(t)

	r := c.Do("GET", "/api/auth/token-gating/verify?address="+holder.Hex(), nil).Expect(t, 200, "")
	if r.JSON["hasAccess"] != true || r.Str("balance") != "3000000000000000000" || r.Str("minBalance") != "1000000000000000000" ||
		r.Str("token") != "TEST" || r.Str("contractAddress") != token.Hex() {
		t.Errorf("GET gating(holder) = %s", r.Body)
	}
	r = c.Do("POST", "/api/auth/token-gating/verify", map[string]any{"fid": "977233", "address": strings.ToLower(poor.Hex())}).Expect(t, 200, "")
	if r.JSON["hasAccess"] != false || r.JSON["checked"] != true || r.JSON["fid"] != float64(977233) || r.Str("timestamp") == "" {
		t.Errorf("POST gating(poor) = %s", r.Body)
	}
	r = c.Do("POST", "/api/auth/token-gating/verify", map[string]any{"walletAddress": holder.Hex()}).Expect(t, 200, "")
	if r.JSON["hasAccess"] != true {
		t.Errorf("POST gating(walletAddress holder) = %s", r.Body)
	}

	claims := is.Claims("7", "agentbot.example")
	claims["address"] = holder.Hex()
	r = fcSignIn(c, is.Sign(t, "k1", claims), "address", holder.Hex()).Expect(t, 200, "")
	if r.JSON["tokenGated"] != true || r.Str("accessLevel") != "premium" || r.JSON["addressVerified"] != true {
		t.Errorf("sign-in with a holder's address = %s", r.Body)
	}
	r = fcSignIn(env.Client(t), is.Token(t, "8", "agentbot.example"), "address", poor.Hex()).Expect(t, 403, "TOKEN_GATE_FAILED")
	if r.Str("required") != "TEST" || r.Str("minBalance") != "1000000000000000000" {
		t.Errorf("refused sign-in = %s; want required and minBalance", r.Body)
	}

	// The node is gone: no access, a 200.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + l.Addr().String()
	l.Close()
	env2 := farcasterEnv(t, "sqlite", is, map[string]string{"EVM_RPC_URL": deadURL, "TOKEN_GATE_CONTRACT": token.Hex(), "EVM_RPC_TIMEOUT": "2s"})
	r = env2.Client(t).Do("GET", "/api/auth/token-gating/verify?address="+holder.Hex(), nil).Expect(t, 200, "")
	if r.JSON["hasAccess"] != false || r.JSON["checked"] != false {
		t.Errorf("gating with the node down = %s; want no access", r.Body)
	}
	// No node configured at all: the same.
	env3 := farcasterEnv(t, "sqlite", is, nil)
	r = env3.Client(t).Do("POST", "/api/auth/token-gating/verify", map[string]any{"address": holder.Hex()}).Expect(t, 200, "")
	if r.JSON["hasAccess"] != false {
		t.Errorf("gating without a node = %s; want no access", r.Body)
	}
}
