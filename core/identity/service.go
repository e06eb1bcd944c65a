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

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/mail"
	"github.com/agentbot/gateway/core/ratelimit"
	"github.com/agentbot/gateway/core/store"
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
	Log        *slog.Logger
	Now        func() time.Time

	mailWG sync.WaitGroup
}

// Routes registers the endpoints on r.
func (s *Service) Routes(r *httprouter.Router, a api.Adapter) {
	r.POST("/api/register", a.Handle(s.register))
	r.POST("/api/auth/login", a.Handle(s.login))
	r.POST("/api/auth/callback/credentials", a.Handle(s.login))
	r.POST("/api/auth/logout", a.Handle(s.logout))
	r.POST("/api/auth/logout-all", a.Handle(s.logoutAll))
	r.POST("/api/auth/verify-email", a.Handle(s.verifyEmail))
	r.POST("/api/auth/verify-email/resend", a.Handle(s.resendVerification))
	r.GET("/api/auth/csrf", a.Handle(s.csrf))
	r.POST("/api/auth/token", a.Handle(s.token))
	r.POST("/api/auth/forgot-password", a.Handle(s.forgotPassword))
	r.POST("/api/auth/reset-password", a.Handle(s.resetPassword))
	r.GET("/api/keys", a.Handle(s.listKeys))
	r.POST("/api/keys", a.Handle(s.createKey))
	r.GET("/api/keys/:id", a.Handle(s.getKey))
	r.DELETE("/api/keys/:id", a.Handle(s.deleteKey))
	r.GET("/api/settings", a.Handle(s.getSettings))
	r.POST("/api/settings", a.Handle(s.postSettings))
	r.PATCH("/api/settings", a.Handle(s.patchSettings))
	r.POST("/api/settings/password", a.Handle(s.changePassword))
	r.GET("/api/credits", a.Handle(s.credits))
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
