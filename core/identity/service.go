// Package identity serves accounts and credentials over HTTP: registration,
// email verification, sign-in and sign-out (one session or everywhere), CSRF
// tokens, API keys, JWT issuance, profile settings, password change and reset,
// credits and referrals. Handlers are thin: decode, principal, store call,
// encode. README.md ("Authentication") describes the rules.
package identity

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/mail"
	"github.com/agentbot/gateway/core/ratelimit"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/tokengate"
)

// Passwords hashes and checks passwords (auth.Passwords: bcrypt).
type Passwords interface {
	Hash(password string) (string, error)
	Check(hash, password string) bool
}

// Service holds what the identity endpoints need.
type Service struct {
	Store     *store.Store
	Auth      *auth.Authenticator
	Passwords Passwords
	Mail      mail.Sender
	// Failures throttles failed sign-ins per IP and per account.
	Failures *ratelimit.Counter
	// Mails bounds the verification mails sent on request (resends, changes
	// of address) per account and per recipient, so the endpoints cannot be
	// turned into a mail cannon. Nil: unbounded.
	Mails    *ratelimit.Counter
	ClientIP func(*http.Request) string
	Bots     BotFilter
	// PublicURL prefixes the links sent by mail.
	PublicURL  string
	SessionTTL time.Duration
	ResetTTL   time.Duration // 1 hour when zero
	VerifyTTL  time.Duration // 24 hours when zero
	// Referral is what a referral pays once the referred account verifies
	// its address.
	Referral store.ReferralRule
	// AddressKey keys the digests of addresses that earned a referral bonus.
	AddressKey []byte
	// SIWE is sign-in with Ethereum.
	SIWE SIWE
	// Farcaster verifies Quick Auth tokens (nil: Farcaster sign-in refused);
	// FarcasterOrigin and FarcasterDomain are its issuer and audience, for
	// the endpoints' metadata.
	Farcaster       QuickAuth
	FarcasterOrigin string
	FarcasterDomain string
	// Gate is token gating (nil, or without a chain: no access for anyone).
	Gate *tokengate.Gate
	Log  *slog.Logger
	Now  func() time.Time

	mailWG sync.WaitGroup
}

// Routes are the identity endpoints.
func (s *Service) Routes() []route.Route {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	pub, user := route.Public, route.User
	return []route.Route{
		{Method: post, Path: "/api/register", Handler: s.register, Access: pub, Limit: "register",
			Request:  registerRequest{Email: "ada@example.com", Password: "correct horse battery", Name: "Ada"},
			Response: registerAnswer{ID: "usr_01J9Z8K3M4", Email: "ada@example.com", Name: "Ada"},
			Errors:   []api.Code{api.CodeValidationError, api.CodeBotDetected, api.CodeInvalidReferralCode, api.CodeUserExists},
			Summary:  "`{email, password, name?, referralCode?}` → `{id, email, name, emailVerified}`; mails a verification link (bot filter)"},
		{Method: post, Path: "/api/auth/login", Handler: s.login, Access: pub,
			Request: loginRequest{Email: "ada@example.com", Password: "correct horse battery"},
			Response: sessionAnswer{User: userJSON{ID: "usr_01J9Z8K3M4", Email: "ada@example.com", Name: "Ada", EmailVerified: true},
				CSRFToken: "5f2b…", ExpiresAt: "2026-01-31T12:00:00.000Z"},
			Errors:  []api.Code{api.CodeValidationError, api.CodeInvalidCredentials},
			Summary: "`{email, password}` → sets the session cookie; `{user, csrfToken, expiresAt}`"},
		{Method: post, Path: "/api/auth/callback/credentials", Handler: s.login, Access: pub, Request: loginRequest{}, Response: sessionAnswer{},
			Errors:  []api.Code{api.CodeValidationError, api.CodeInvalidCredentials},
			Summary: "the same as `/api/auth/login`"},
		{Method: get, Path: "/api/auth/nonce", Handler: s.nonce, Access: pub, Limit: "siwe-nonce",
			Response: nonceAnswer{},
			Summary:  "`{nonce, expiresAt}`: a single-use nonce for a sign-in with Ethereum message, valid 10 minutes"},
		{Method: post, Path: "/api/auth/nonce", Handler: s.nonce, Access: pub, Limit: "siwe-nonce", Response: nonceAnswer{},
			Summary: "the same as `GET /api/auth/nonce`"},
		{Method: post, Path: "/api/auth/callback/wallet", Handler: s.walletCallback, Access: pub, Limit: "siwe", MaxBody: 64 << 10,
			Request: walletRequest{}, Response: signInOrLink{}, Accepts: route.OptionalUser,
			Errors:  []api.Code{api.CodeSIWEMessageInvalid, api.CodeSIWENonceInvalid, api.CodeSIWEDomainMismatch, api.CodeSIWEChainUnsupported, api.CodeSIWEExpired, api.CodeSIWENotYetValid, api.CodeSIWESignatureInvalid, api.CodeChainUnavailable, api.CodeWalletInUse, api.CodeAuthRequired, api.CodeCSRFRequired, api.CodeNotFound, api.CodeValidationError},
			Summary: "`{message, signature, link?}`: sign-in with Ethereum (EIP-4361; EOA, ERC-1271, ERC-6492) → sets the session cookie like `/api/auth/login`, plus `address`; `link` binds the wallet to the signed-in account instead"},
		{Method: get, Path: "/api/auth/farcaster/verify", Handler: s.farcasterVerifyInfo, Access: pub,
			Response: endpointInfo{},
			Summary:  "the endpoint's metadata `{endpoint, methods, description, required, optional, issuer, audience}`"},
		{Method: post, Path: "/api/auth/farcaster/verify", Handler: s.farcasterVerify, Access: pub, Limit: "farcaster", MaxBody: 16 << 10,
			Request: farcasterRequest{}, Response: signInOrLink{}, Accepts: route.OptionalUser,
			Errors:  []api.Code{api.CodeFarcasterTokenInvalid, api.CodeFarcasterAlgorithmRefused, api.CodeFarcasterAudienceMismatch, api.CodeFarcasterIssuerMismatch, api.CodeFarcasterKeyUnknown, api.CodeFarcasterSignatureInvalid, api.CodeFarcasterSubjectInvalid, api.CodeFarcasterTokenExpired, api.CodeFIDInUse, api.CodeTokenGateFailed, api.CodeAuthRequired, api.CodeCSRFRequired, api.CodeNotFound, api.CodeValidationError},
			Summary: "`{fidToken, address?, link?}`: sign-in with a Farcaster Quick Auth token → sets the session cookie like `/api/auth/login`, plus `fid` and a 24-hour bearer `sessionToken`; with `address`, 403 unless it passes token gating; `link` binds the FID to the signed-in account instead"},
		{Method: get, Path: "/api/auth/farcaster/refresh", Handler: s.farcasterRefreshInfo, Access: pub,
			Response: endpointInfo{},
			Summary:  "the endpoint's metadata"},
		{Method: post, Path: "/api/auth/farcaster/refresh", Handler: s.farcasterRefresh, Access: pub, Limit: "farcaster", MaxBody: 32 << 10,
			Request: refreshRequest{}, Response: farcasterRefreshAnswer{},
			Errors:  []api.Code{api.CodeFarcasterTokenInvalid, api.CodeFarcasterAlgorithmRefused, api.CodeFarcasterAudienceMismatch, api.CodeFarcasterIssuerMismatch, api.CodeFarcasterKeyUnknown, api.CodeFarcasterSignatureInvalid, api.CodeFarcasterSubjectInvalid, api.CodeFarcasterTokenExpired, api.CodeValidationError},
			Summary: "`{refreshToken}` (a Quick Auth token, or base64 of JSON `{fidToken}`) → `{sessionToken, expiresIn: 86400, …}` for a FID that signed in"},
		{Method: get, Path: "/api/auth/token-gating/verify", Handler: s.tokenGateGet, Access: pub, Limit: "token-gating",
			Query:    []route.Param{{Name: "address", Doc: "an EVM address (0x…)", Required: true}},
			Response: gateAnswerDoc{}, Errors: []api.Code{api.CodeValidationError},
			Summary: "`?address=` → `{address, hasAccess, balance, minBalance, token, contractAddress, …}`; no chain answer means no access"},
		{Method: post, Path: "/api/auth/token-gating/verify", Handler: s.tokenGatePost, Access: pub, Limit: "token-gating",
			Request: gateRequest{}, Response: gateAnswerDoc{}, Errors: []api.Code{api.CodeValidationError},
			Summary: "`{address | walletAddress, fid?}` → the same as the GET, plus `fid`, `message`, `timestamp`"},
		{Method: post, Path: "/api/auth/logout", Handler: s.logout, Access: pub, Response: successAnswer{}, Accepts: route.OptionalUser, Errors: []api.Code{api.CodeCSRFRequired},
			Summary: "ends the cookie session (idempotent)"},
		{Method: post, Path: "/api/auth/logout-all", Handler: s.logoutAll, Access: user,
			Response: successAnswer{}, Errors: []api.Code{api.CodeNotFound},
			Summary: "every session and JWT of the account ends (API keys stay)"},
		{Method: post, Path: "/api/auth/verify-email", Handler: s.verifyEmail, Access: pub, Limit: "verify-email",
			Request: tokenRequest{}, Response: verifyEmailAnswer{},
			Errors:  []api.Code{api.CodeValidationError, api.CodeInvalidToken, api.CodeEmailInUse},
			Summary: "`{token}` from the mailed link → `{success, email, emailVerified}`"},
		{Method: post, Path: "/api/auth/verify-email/resend", Handler: s.resendVerification, Access: user, Limit: "verify-email-resend",
			Response: verifyEmailAnswer{},
			Errors:   []api.Code{api.CodeAlreadyVerified, api.CodeEmailNotCanonical, api.CodeNotFound, api.CodeValidationError},
			Summary:  "mails a new verification link (to the pending address if any)"},
		{Method: get, Path: "/api/auth/csrf", Handler: s.csrf, Access: pub, Response: csrfAnswer{}, Errors: []api.Code{api.CodeAuthRequired},
			Summary: "`{csrfToken}` of the cookie session"},
		{Method: post, Path: "/api/auth/token", Handler: s.token, Access: user,
			Response: tokenAnswer{Token: "eyJhbGciOiJIUzI1NiIs…", TokenType: "Bearer", ExpiresAt: "2026-01-08T12:00:00.000Z"},
			Errors:   []api.Code{api.CodeTokenRenewalForbidden},
			Summary:  "`{token, tokenType, expiresAt}`: a 7-day JWT, for a session or an API key"},
		{Method: post, Path: "/api/auth/forgot-password", Handler: s.forgotPassword, Access: pub, Limit: "forgot-password",
			Request: emailRequest{}, Response: messageAnswer{},
			Errors:  []api.Code{api.CodeValidationError, api.CodeBotDetected},
			Summary: "`{email}` → always the same 200; mails a one-hour reset link (bot filter)"},
		{Method: post, Path: "/api/auth/reset-password", Handler: s.resetPassword, Access: pub, Limit: "reset-password",
			Request: resetRequest{}, Response: messageAnswer{},
			Errors:  []api.Code{api.CodeValidationError, api.CodeInvalidToken},
			Summary: "`{token, password}`; signs out every session and JWT"},
		{Method: get, Path: "/api/keys", Handler: s.listKeys, Access: user, Response: keysAnswer{},
			Summary: "`{keys}`, newest first, previews only"},
		{Method: post, Path: "/api/keys", Handler: s.createKey, Access: user, Request: nameRequest{Name: "ci"}, Status: http.StatusCreated,
			Response: newKeyAnswer{ID: "key_01J9Z9", Name: "ci", Key: "sk_3q…", CreatedAt: "2026-01-01T12:00:00.000Z"},
			Errors:   []api.Code{api.CodeValidationError, api.CodeKeyLimitReached},
			Summary:  "`{name}` → 201 `{id, name, key, createdAt}` (the key is shown once)"},
		{Method: get, Path: "/api/keys/:id", Handler: s.getKey, Access: user, Response: keyJSONDoc{}, Errors: []api.Code{api.CodeNotFound},
			Summary: "one key's metadata; another user's key is 404"},
		{Method: del, Path: "/api/keys/:id", Handler: s.deleteKey, Access: user, Response: successAnswer{}, Errors: []api.Code{api.CodeNotFound},
			Summary: "deletes a key; it stops working at once"},
		{Method: get, Path: "/api/settings", Handler: s.getSettings, Access: user,
			Response: settingsAnswer{}, Errors: []api.Code{api.CodeNotFound},
			Summary: "the caller's profile, with `emailVerified` and `pendingEmail`"},
		{Method: post, Path: "/api/settings", Handler: s.postSettings, Access: user,
			Request: settingsRequest{}, Response: settingsAnswer{},
			Errors:  []api.Code{api.CodeValidationError, api.CodeEmailInUse, api.CodeNotFound},
			Summary: "`{name?, email?}`; a new email waits for its verification"},
		{Method: patch, Path: "/api/settings", Handler: s.patchSettings, Access: user, Request: settingsRequest{}, Response: settingsAnswer{},
			Errors:  []api.Code{api.CodeValidationError, api.CodeNotFound},
			Summary: "`{name?, notifications?}`"},
		{Method: post, Path: "/api/settings/password", Handler: s.changePassword, Access: user,
			Request: passwordChange{}, Response: successAnswer{},
			Errors:  []api.Code{api.CodeValidationError, api.CodeInvalidCredentials, api.CodeNotFound},
			Summary: "`{currentPassword, newPassword}`; other sessions and every JWT end"},
		{Method: get, Path: "/api/credits", Handler: s.credits, Access: user,
			Response: creditsAnswer{}, Errors: []api.Code{api.CodeNotFound},
			Summary: "`{credits, balanceMicroUsd, referralCode, referralCount, plan}`"},
	}
}

// background runs fn (sending mail) after the response, bounded in time and
// waited for by Close.
func (s *Service) background(r *http.Request, what string, fn func(ctx context.Context) error) {
	s.mailWG.Add(1)
	go func() {
		defer s.mailWG.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
		defer cancel()
		if err := fn(ctx); err != nil {
			s.log().ErrorContext(ctx, what, "request_id", api.RequestID(r.Context()), "err", err)
		}
	}()
}

// Close waits for mail being sent in the background.
func (s *Service) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.mailWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// storeErr maps store errors that reach a handler; notFound names the resource.
func storeErr(err error, notFound string) error {
	switch {
	case err == nil:
		return nil
	case errorsIs(err, store.ErrNotFound):
		return api.NotFound(notFound)
	case errorsIs(err, store.ErrNoPrincipal):
		return api.ErrAuthRequired
	}
	return err
}
