package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/server"
)

// App is the whole service: the core server, what is mounted on it, and the
// one handler serving the route table.
type App struct {
	*server.Server
	Mounted *Mounted
	handler http.Handler
}

// New assembles the application from cfg: storage and Redis (each opened
// once), identity, plugins, skills, payments, the gateway and billing, in that
// order. On failure everything already started is released.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	m, err := Mount(ctx, srv, log)
	if err != nil {
		return nil, errors.Join(err, srv.Close(ctx))
	}
	h, err := srv.Handler(m.Routes...)
	if err != nil {
		return nil, errors.Join(err, m.Close(ctx), srv.Close(ctx))
	}
	return &App{Server: srv, Mounted: m, handler: h}, nil
}

// Handler serves every route of the application.
func (a *App) Handler() http.Handler { return a.handler }

// Close stops what was mounted (writing queued usage, stopping plugins), then
// the core (mail in flight, Redis, storage).
func (a *App) Close(ctx context.Context) error {
	return errors.Join(a.Mounted.Close(ctx), a.Server.Close(ctx))
}
