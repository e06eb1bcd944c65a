package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/internal/app"
)

// serverConfig loads the server's configuration from the environment and
// makes its logger (server.Logger); call closeLog before exiting.
func (c *cli) serverConfig() (cfg *config.Config, log *slog.Logger, closeLog func(), err error) {
	cfg, err = config.Load(c.getenv)
	if err != nil {
		return nil, nil, nil, err
	}
	log, closeLog = server.Logger(cfg, c.stderr)
	return cfg, log, closeLog, nil
}

func (c *cli) serve(ctx context.Context) error {
	cfg, log, closeLog, err := c.serverConfig()
	if err != nil {
		return err
	}
	defer closeLog()
	return serve(ctx, cfg, log, hooks{})
}

func (c *cli) migrate(ctx context.Context) error {
	cfg, log, closeLog, err := c.serverConfig()
	if err != nil {
		return err
	}
	defer closeLog()
	if err := store.Migrate(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, MigrateURL: cfg.DatabaseMigrateURL,
		DataDir: cfg.DataDir, Log: log}); err != nil {
		return err
	}
	log.Info("migrations applied")
	if c.jsonOut {
		return c.printJSON(map[string]any{"migrated": true})
	}
	return nil
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// hooks let tests look into serve: wrap, if set, wraps the application's
// handler; ready, if set, is called with the address once serve listens.
type hooks struct {
	wrap  func(http.Handler) http.Handler
	ready func(addr string)
}

// serve runs until ctx ends, then drains in-flight requests, stops what the
// application started and closes storage.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, hk hooks) error {
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	// Deferred first, so it runs last: requests drain (below), then the
	// application stops (plugins, usage, storage).
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancel()
		if err := a.Close(cctx); err != nil {
			log.Error("shutdown", "err", err)
		}
	}()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	h := a.Handler()
	if hk.wrap != nil {
		h = hk.wrap(h)
	}
	hs := server.HTTPServer(cfg, h, log)
	if hk.ready != nil {
		hk.ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("agentbot listening", "addr", ln.Addr().String(), "store", a.Store.Backend(),
		"dev", cfg.Dev, "redis", cfg.RedisURL != "", "version", version)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "grace", cfg.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
