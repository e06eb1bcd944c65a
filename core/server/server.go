// Package server assembles the core of the service: storage, Redis (opened
// once, shared), authentication, rate limits, identity and health, and builds
// the one HTTP handler from the route table (the core's routes plus those the
// caller adds) behind the middleware chain in its fixed order. internal/app
// adds the gateway, plugins, skills and billing; servertest runs it in tests.
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
	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/health"
	"github.com/agentbot/gateway/core/identity"
	"github.com/agentbot/gateway/core/mail"
	"github.com/agentbot/gateway/core/metrics"
	"github.com/agentbot/gateway/core/quickauth"
	"github.com/agentbot/gateway/core/ratelimit"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/tokengate"
	"github.com/agentbot/gateway/core/tracing"
)

// Server is the assembled core. Close releases everything it opened.
type Server struct {
	Config *config.Config
	Log    *slog.Logger
	Store  *store.Store
	// Redis is the one Redis client (nil without REDIS_URL), for everything
	// that shares state between nodes.
	Redis    *redis.Client
	Auth     *auth.Authenticator
	Limiter  *ratelimit.Limiter
	Identity *identity.Service
	// Chain is the EVM JSON-RPC client of EVM_RPC_URL (nil without it).
	Chain *chain.Client
	// Farcaster verifies Quick Auth tokens; it fetches the issuer's keys on
	// first use and refreshes them until Close.
	Farcaster *quickauth.Verifier
	ClientIP  ratelimit.ClientIP
	Adapter   api.Adapter
	// Metrics are this node's Prometheus series (GET /metrics).
	Metrics *metrics.Metrics
	// HealthComponents, set before Handler, adds the node's parts
	// (plugins, job engine) to /api/health.
	HealthComponents func(ctx context.Context) map[string]any

	started     time.Time
	stopTracing func(context.Context) error
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
	s := &Server{Config: cfg, Log: log, Store: st, started: time.Now(),
		ClientIP: ratelimit.ClientIP{Trusted: cfg.TrustedProxies}, Adapter: api.Adapter{Log: log}}
	if cfg.RedisURL != "" {
		if s.Redis, err = ratelimit.OpenRedis(ctx, cfg.RedisURL); err != nil {
			s.Close(ctx)
			return nil, err
		}
	}
	lstore, err := ratelimit.StoreOn(s.Redis, "agentbot:rl")
	if err != nil {
		s.Close(ctx)
		return nil, err
	}
	s.Auth = &auth.Authenticator{Store: st, JWT: auth.JWT{Secret: cfg.JWTSecret}, Admins: cfg.AdminEmails,
		CSRFKey: derive(cfg.JWTSecret, "agentbot csrf key v1"), SessionTTL: cfg.SessionTTL, SecureCookies: !cfg.Dev, Log: log,
		KeyCacheTTL: cfg.KeyCacheTTL}
	s.Limiter = ratelimit.New(lstore, cfg.RateLimits)
	s.Metrics = metrics.New()
	if s.stopTracing, err = tracing.Setup(ctx, cfg.OTLPEndpoint, "agentbot-gateway", ""); err != nil {
		s.Close(ctx)
		return nil, err
	}
	s.Limiter.Refused = s.Metrics.RateLimited
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
		AddressKey: derive(cfg.MasterKey, "agentbot referral address key v1"),
		SIWE:       identity.SIWE{ChainIDs: cfg.EVM.SIWEChainIDs}}
	s.Farcaster = &quickauth.Verifier{Origin: cfg.Farcaster.AuthOrigin, Domain: cfg.Farcaster.Domain, Log: log}
	s.Identity.Farcaster, s.Identity.FarcasterOrigin, s.Identity.FarcasterDomain = s.Farcaster, cfg.Farcaster.AuthOrigin, cfg.Farcaster.Domain
	contract, _ := evm.ParseAddress(cfg.TokenGate.Contract) // checked by config
	s.Identity.Gate = &tokengate.Gate{Contract: contract, Min: cfg.TokenGate.Min, Decimals: cfg.TokenGate.Decimals,
		Symbol: cfg.TokenGate.Symbol, Log: log}
	if cfg.EVM.RPCURL != "" {
		s.Chain = &chain.Client{URL: cfg.EVM.RPCURL, Timeout: cfg.EVM.RPCTimeout}
		s.Identity.SIWE.Chain = s.Chain
		s.Identity.Gate.Chain = s.Chain
	}

	return s, nil
}

// Routes are the core's own endpoints: health and identity.
func (s *Server) Routes() []route.Route {
	checks := []health.Check{{Name: "database", Fn: s.Store.Ping}}
	hh := &health.Handler{Started: s.started, Checks: checks, Detail: s.Config.Dev, Log: s.Log, CacheFor: time.Second,
		Components: s.HealthComponents}
	rs := []route.Route{{Method: http.MethodGet, Path: "/api/health", Access: route.Public,
		Response: health.Response{}, Also: []int{http.StatusServiceUnavailable},
		Summary: "`{status, health, timestamp, …}`; 503 when the database does not answer",
		Handler: func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
			hh.ServeHTTP(w, r)
			return nil
		}}}
	return append(rs, s.Identity.Routes()...)
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

// Handler builds the service's one handler: the route table (the core's
// routes and extra) behind the middleware chain, outermost first: request id
// → access log → recovery → security headers → CORS → authentication (which
// only attaches the caller) → the router, where each route applies its body
// limit, rate-limit rule and access check (route.Build).
func (s *Server) Handler(extra ...route.Route) (http.Handler, error) {
	router, err := route.Build(append(s.Routes(), extra...), route.Deps{Adapter: s.Adapter, Limiter: s.Limiter,
		UserID: func(r *http.Request) string { return auth.UserID(r.Context()) }, ClientIP: s.ClientIP.Of,
		Observe: func(rt route.Route, h http.Handler) http.Handler { return tracing.Route(rt, s.Metrics.Observe(rt, h)) }})
	if err != nil {
		return nil, err
	}
	return api.Chain(router,
		api.WithRequestID,
		api.AccessLog(s.Log),
		api.Recover(s.Log),
		api.SecurityHeaders(!s.Config.Dev),
		api.CORS{Origins: s.Config.CORSOrigins}.Middleware,
		s.Auth.Middleware,
	), nil
}

// Close stops background work and closes storage. Safe after a partial New.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	if s.stopTracing != nil {
		errs = append(errs, s.stopTracing(ctx))
	}
	if s.Identity != nil {
		errs = append(errs, s.Identity.Close(ctx))
	}
	if s.Farcaster != nil {
		s.Farcaster.Close()
	}
	if s.Redis != nil {
		errs = append(errs, s.Redis.Close())
	}
	if s.Store != nil {
		errs = append(errs, s.Store.Close())
	}
	return errors.Join(errs...)
}
