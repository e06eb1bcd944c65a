// Package server assembles the HTTP service from its parts: storage, identity,
// rate limits, health, and the middleware chain in its fixed order. Callers
// (cmd/agentbot, tests) add further routes on Router before serving Handler.
package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/ulule/limiter/v3"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/health"
	"github.com/agentbot/gateway/core/identity"
	"github.com/agentbot/gateway/core/mail"
	"github.com/agentbot/gateway/core/ratelimit"
	"github.com/agentbot/gateway/core/store"
)

// Server is the assembled service. Close releases everything it opened.
type Server struct {
	Config   *config.Config
	Log      *slog.Logger
	Store    *store.Store
	Auth     *auth.Authenticator
	Limiter  *ratelimit.Limiter
	Identity *identity.Service
	ClientIP ratelimit.ClientIP
	Router   *httprouter.Router
	Adapter  api.Adapter
	// BodyLimits raises the 1 MiB body limit for exact paths. Add to the map
	// (before serving); the handler reads it per request.
	BodyLimits map[string]int64

	closeLimits func() error
}

// New opens storage (applying migrations) and wires the core endpoints.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Server, error) {
	if err := cfg.EnsureDevSecrets(); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, MigrateURL: cfg.DatabaseMigrateURL,
		DataDir: cfg.DataDir, Migrate: true, Log: log})
	if err != nil {
		return nil, err
	}
	lstore, closeLimits, err := ratelimit.NewStore(ctx, cfg.RedisURL, "agentbot:rl")
	if err != nil {
		st.Close()
		return nil, err
	}
	s := &Server{Config: cfg, Log: log, Store: st, closeLimits: closeLimits, BodyLimits: map[string]int64{},
		ClientIP: ratelimit.ClientIP{Trusted: cfg.TrustedProxies}, Adapter: api.Adapter{Log: log}}
	s.Auth = &auth.Authenticator{Store: st, JWT: auth.JWT{Secret: cfg.JWTSecret}, Admins: cfg.AdminEmails,
		CSRFKey: derive(cfg.JWTSecret, "agentbot csrf key v1"), SessionTTL: cfg.SessionTTL, SecureCookies: !cfg.Dev, Log: log,
		KeyCacheTTL: cfg.KeyCacheTTL}
	s.Limiter = ratelimit.New(lstore, cfg.RateLimits)
	s.Limiter.Log = log

	var sender mail.Sender
	switch {
	case cfg.SMTPURL != "":
		if sender, err = mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom); err != nil {
			s.Close(ctx)
			return nil, err
		}
	case cfg.Dev:
		sender = mail.Log{Log: log}
	default:
		sender = mail.Disabled{Log: log}
	}
	failRate := limiter.Rate{Period: cfg.LoginFailWin, Limit: cfg.LoginFailLimit}
	s.Identity = &identity.Service{Store: st, Auth: s.Auth, Passwords: auth.Passwords{Cost: cfg.BcryptCost},
		Mail: sender, Failures: ratelimit.NewCounter(lstore, failRate), ClientIP: s.ClientIP.Of,
		Mails: ratelimit.NewCounter(lstore, limiter.Rate{Period: time.Hour, Limit: 5}),
		Bots:  identity.BotFilter{Enabled: cfg.BotFilter, Honeypot: cfg.BotHoneypot}, PublicURL: cfg.PublicURL,
		SessionTTL: cfg.SessionTTL, VerifyTTL: cfg.VerifyTTL, Log: log,
		Referral:   store.ReferralRule{Bonus: identity.ReferralBonus, MonthlyCap: cfg.ReferralMonthlyCap},
		AddressKey: derive(cfg.MasterKey, "agentbot referral address key v1")}

	r := httprouter.New()
	r.HandleOPTIONS = true
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		api.WriteError(w, api.RequestID(req.Context()), api.Errorf(404, "NOT_FOUND", "No route for %s %s", req.Method, req.URL.Path))
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		api.WriteError(w, api.RequestID(req.Context()), api.Errorf(405, "METHOD_NOT_ALLOWED", "Method %s not allowed on %s", req.Method, req.URL.Path))
	})
	r.PanicHandler = nil // Recover middleware handles panics with the request id.
	s.Router = r

	s.Identity.Routes(r, s.Adapter)
	checks := []health.Check{{Name: "database", Fn: st.Ping}}
	r.Handler(http.MethodGet, "/api/health", &health.Handler{Started: time.Now(), Checks: checks, Detail: cfg.Dev, Log: log})
	return s, nil
}

// derive returns a key for one purpose from a secret.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// HTTPServer returns the http.Server that serves h with the configured
// timeouts: a whole request must arrive within ReadTimeout (headers within
// 10 s), a response must be written within WriteTimeout, and an idle
// keep-alive connection is closed after IdleTimeout. Streaming responses lift
// the read deadline and move the write deadline with each chunk
// (api.StreamDeadline), so a long stream lives while the client reads it.
func HTTPServer(cfg *config.Config, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, cfg.ReadTimeout),
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Handler is the router behind the full middleware chain, outermost first:
// request id → access log → recovery → security headers → CORS → body limit →
// authentication → rate limit.
func (s *Server) Handler() http.Handler {
	return api.Chain(s.Router,
		api.WithRequestID,
		api.AccessLog(s.Log),
		api.Recover(s.Log),
		api.SecurityHeaders(!s.Config.Dev),
		api.CORS{Origins: s.Config.CORSOrigins}.Middleware,
		api.LimitBodyFor(s.BodyLimits),
		s.Auth.Middleware,
		s.Limiter.Middleware(func(r *http.Request) string { return auth.UserID(r.Context()) }, s.ClientIP.Of),
	)
}

// Close stops background work and closes storage. Safe after a partial New.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	if s.Identity != nil {
		errs = append(errs, s.Identity.Close(ctx))
	}
	if s.closeLimits != nil {
		errs = append(errs, s.closeLimits())
	}
	if s.Store != nil {
		errs = append(errs, s.Store.Close())
	}
	return errors.Join(errs...)
}
