// Package app wires the gateway onto the core server: it declares the
// plugins, starts their host, and mounts the gateway, the plugins' routes and
// the OpenAI-compatible surface. cmd/agentbot and end-to-end tests share it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/plugins"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/skills"
)

// hostDispatcher adapts the plugin host to the gateway's Dispatcher.
type hostDispatcher struct{ h *plugins.Host }

func (d hostDispatcher) Target(id string) (gateway.Target, bool) {
	c, ok := d.h.Lookup(id)
	return gateway.Target{ID: c.ID, Streaming: c.Streaming, PriceMicroUSD: c.PriceMicroUSD}, ok
}

func (d hostDispatcher) Targets() []gateway.Target {
	var out []gateway.Target
	for _, c := range d.h.Capabilities() {
		out = append(out, gateway.Target{ID: c.ID, Streaming: c.Streaming, PriceMicroUSD: c.PriceMicroUSD})
	}
	return out
}

func (d hostDispatcher) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	return d.h.Invoke(ctx, req)
}

func (d hostDispatcher) InvokeStream(ctx context.Context, req *provider.InvokeRequest, fn func(*provider.Chunk) error) error {
	return d.h.InvokeStream(ctx, req, fn)
}

// Mounted is what Mount started; Close stops it.
type Mounted struct {
	Host    *plugins.Host
	Gateway *gateway.Gateway
	Skills  *skills.Service

	closers []func() error
}

// Close writes queued usage and stops the plugins.
func (m *Mounted) Close(ctx context.Context) error {
	errs := []error{m.Gateway.Close(ctx), m.Host.Close(ctx), m.Skills.Runtime.Close(ctx)}
	for _, c := range m.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Mount starts the plugins and registers the gateway, the plugins'
// routes and the OpenAI-compatible surface. The result must be closed.
func Mount(ctx context.Context, srv *server.Server, log *slog.Logger) (*Mounted, error) {
	cfg := srv.Config
	specs, err := pluginSpecs(cfg, log)
	if err != nil {
		return nil, err
	}
	host, err := plugins.New(specs, plugins.Options{Log: log, CallTimeout: cfg.PluginTimeout})
	if err != nil {
		return nil, err
	}
	host.Start(ctx)
	box, err := secrets.New(cfg.MasterKey)
	if err != nil {
		host.Close(ctx)
		return nil, err
	}
	skillSvc, err := newSkills(ctx, cfg, srv.Store, log)
	if err != nil {
		host.Close(ctx)
		return nil, err
	}
	machine, closeMachine, err := machinePayments(ctx, cfg, srv.Store, log)
	if err != nil {
		host.Close(ctx)
		skillSvc.Runtime.Close(ctx)
		return nil, err
	}
	prices := gateway.DefaultPrices()
	for id, p := range cfg.GatewayPrices {
		prices[id] = p
	}
	g := &gateway.Gateway{Store: srv.Store, Dispatchers: []gateway.Dispatcher{hostDispatcher{host}, skillDispatcher{skillSvc}},
		Payer: &payments.Step{Platform: payments.Credits{Store: srv.Store}, Machine: machine}, Prices: prices, Secrets: box, KeepAlive: cfg.StreamKeepAlive, Log: log}
	g.Routes(srv.Router, srv.Adapter)
	var routes []gateway.PluginRoute
	aiPlugin := ""
	for _, r := range host.Routes() {
		routes = append(routes, gateway.PluginRoute{Plugin: r.Plugin, Route: r.Route})
		if r.Method == "GET" && r.Path == "/api/ai/models" {
			aiPlugin = r.Plugin
		}
	}
	if err := g.MountRoutes(srv.Router, srv.Adapter, host, routes); err != nil {
		host.Close(ctx)
		skillSvc.Runtime.Close(ctx)
		_ = closeMachine()
		return nil, fmt.Errorf("plugin routes: %w", err)
	}
	g.OpenAIRoutes(srv.Router, host, aiPlugin)
	mountSkills(srv, g, skillSvc)
	for _, s := range host.Status() {
		log.Info("plugin", "name", s.Name, "up", s.Up, "error", s.Error)
	}
	m := &Mounted{Host: host, Gateway: g, Skills: skillSvc, closers: []func() error{closeMachine}}
	if err := mountBilling(srv, g, box, log); err != nil {
		return nil, errors.Join(err, m.Close(ctx))
	}
	return m, nil
}
