package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
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
