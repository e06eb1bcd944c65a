package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
)

// BenchmarkAuthenticatedRequest compares one API-key request through the full
// middleware chain (request id, access log, recovery, security headers, CORS,
// body limit, API key lookup, rate limit) with the same handler called bare.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	handler := func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		p, err := auth.Require(r)
		if err != nil {
			return err
		}
		api.OK(w, map[string]string{"user": p.UserID})
		return nil
	}
	for _, backend := range servertest.Backends {
		env := servertest.New(b, backend, map[string]string{"AGENTBOT_RATE_LIMITS": "default=1000000000-M"},
			func(*server.Server) ([]route.Route, error) {
				return []route.Route{{Method: "GET", Path: "/bench", Handler: handler, Access: route.User}}, nil
			})
		ctx := context.Background()
		u, err := env.Store.CreateUser(ctx, store.NewUser{Email: "bench@example.com", Name: "b", PasswordHash: "h"})
		if err != nil {
			b.Fatal(err)
		}
		key := auth.NewAPIKey()
		if _, err := env.Store.CreateAPIKey(ctx, u.ID, "bench", auth.Digest(key), auth.KeyPrefix(key)); err != nil {
			b.Fatal(err)
		}
		full := env.Root
		bare := env.Adapter.Handle(handler)
		principal := auth.WithPrincipal(ctx, &auth.Principal{UserID: u.ID, Method: auth.MethodAPIKey})

		if backend == servertest.Backends[0] {
			b.Run("baseline", func(b *testing.B) {
				for b.Loop() {
					req := httptest.NewRequestWithContext(principal, "GET", "/bench", nil)
					w := httptest.NewRecorder()
					bare(w, req, nil)
					if w.Code != 200 {
						b.Fatal(w.Code)
					}
				}
			})
		}
		b.Run("full-chain-"+backend, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", "/bench", nil)
				req.Header.Set("Authorization", "Bearer "+key)
				w := httptest.NewRecorder()
				full.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	}
}

// BenchmarkHealthAccessLog: GET /api/health over loopback HTTP with parallel
// callers, the server logging through server.Logger to a pipe drained by
// another goroutine (a terminal or a log collector): no access log (level
// error, the baseline), the access log at info written line by line, and the
// access log at info held by logbuf (the default). The ratios to read are
// info-unbuffered/log-off and info-buffered/log-off.
func BenchmarkHealthAccessLog(b *testing.B) {
	for _, v := range []struct{ name, level, buffer string }{
		{"log-off", "error", "0"}, {"info-unbuffered", "info", "0"}, {"info-buffered", "info", "100ms"}} {
		b.Run(v.name, func(b *testing.B) {
			vars := map[string]string{"AGENTBOT_DEV": "true", "AGENTBOT_DATA_DIR": b.TempDir(), "AGENTBOT_LOG_LEVEL": v.level,
				"AGENTBOT_LOG_BUFFER": v.buffer, "AGENTBOT_RATE_LIMITS": "default=1000000000-M"}
			cfg, err := config.Load(func(k string) string { return vars[k] })
			if err != nil {
				b.Fatal(err)
			}
			r, pw, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			drained := make(chan struct{})
			go func() { io.Copy(io.Discard, r); close(drained) }()
			log, closeLog := server.Logger(cfg, pw)
			srv, err := server.New(context.Background(), cfg, log)
			if err != nil {
				b.Fatal(err)
			}
			h, err := srv.Handler()
			if err != nil {
				b.Fatal(err)
			}
			ts := httptest.NewServer(h)
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := hc.Get(ts.URL + "/api/health")
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("GET /api/health = %d", resp.StatusCode)
						return
					}
				}
			})
			b.StopTimer()
			ts.Close()
			srv.Close(context.Background())
			closeLog()
			pw.Close()
			<-drained
		})
	}
}
