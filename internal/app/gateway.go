// Package app assembles the application: the core server, then the plugins,
// skills, machine payments, the gateway and billing on it, their routes in
// one table, and the one handler that serves them (New). cmd/agentbot and the
// end-to-end tests share it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/agentbot/gateway/agents"
	"github.com/agentbot/gateway/agents/heartbeat"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/plugins"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/skills"
	"github.com/agentbot/gateway/wallets"
)

// hostDispatcher adapts the plugin host to the gateway's Dispatcher.
type hostDispatcher struct{ h *plugins.Host }

func (d hostDispatcher) Target(_ context.Context, id string) (gateway.Target, bool, error) {
	c, ok := d.h.Lookup(id)
	return gateway.Target{ID: c.ID, Streaming: c.Streaming, PriceMicroUSD: c.PriceMicroUSD}, ok, nil
}

func (d hostDispatcher) Targets(context.Context) ([]gateway.Target, error) {
	var out []gateway.Target
	for _, c := range d.h.Capabilities() {
		out = append(out, gateway.Target{ID: c.ID, Streaming: c.Streaming, PriceMicroUSD: c.PriceMicroUSD})
	}
	return out, nil
}

func (d hostDispatcher) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	return d.h.Invoke(ctx, req)
}

func (d hostDispatcher) InvokeStream(ctx context.Context, req *provider.InvokeRequest, fn func(*provider.Chunk) error) error {
	return d.h.InvokeStream(ctx, req, fn)
}

// walletDispatcher sends the wallet ids through the wallet service, which
// adds the caller's sealed key and enforces the spend cap, to the plugin.
type walletDispatcher struct {
	svc  *wallets.Service
	host *plugins.Host
}

func (d walletDispatcher) Target(_ context.Context, id string) (gateway.Target, bool, error) {
	if !wallets.Serves(id) {
		return gateway.Target{}, false, nil
	}
	c, ok := d.host.Lookup(id)
	return gateway.Target{ID: c.ID, PriceMicroUSD: c.PriceMicroUSD}, ok, nil
}

func (d walletDispatcher) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	return d.svc.Invoke(ctx, req)
}

func (d walletDispatcher) InvokeStream(context.Context, *provider.InvokeRequest, func(*provider.Chunk) error) error {
	return errors.New("wallet ids do not stream")
}

// Mounted is what Mount started. Routes are its entries in the route table;
// Close stops what it started, last started first.
type Mounted struct {
	Host    *plugins.Host
	Gateway *gateway.Gateway
	Skills  *skills.Service
	Agents  *agents.Service
	// Heartbeats is the heartbeat scheduler; nil when AGENTBOT_HEARTBEATS=false.
	Heartbeats *heartbeat.Scheduler
	Routes     []route.Route

	closers []func(context.Context) error
}

func (m *Mounted) onClose(fn func(context.Context) error) { m.closers = append(m.closers, fn) }

// Close releases what Mount started, in reverse order: queued usage is
// written before the plugins and the skills runtime stop. Safe after a
// partial Mount.
func (m *Mounted) Close(ctx context.Context) error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		errs = append(errs, m.closers[i](ctx))
	}
	m.closers = nil
	return errors.Join(errs...)
}

// Mount starts the plugins, the skills runtime and machine payments on the
// core server srv, and returns the gateway's, plugins', skills', billing and
// OpenAI-compatible routes. The result must be closed, also when srv's
// handler could not be built.
func Mount(ctx context.Context, srv *server.Server, log *slog.Logger, opts ...Option) (*Mounted, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	m := &Mounted{}
	fail := func(err error) (*Mounted, error) { return nil, errors.Join(err, m.Close(ctx)) }
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
	m.Host = host
	m.onClose(host.Close)
	box, err := secrets.New(cfg.MasterKey)
	if err != nil {
		return fail(err)
	}
	skillSvc, err := newSkills(ctx, cfg, srv.Store, log, o)
	if err != nil {
		return fail(err)
	}
	m.Skills = skillSvc
	m.onClose(skillSvc.Runtime.Close)
	machine, err := machinePayments(cfg, srv.Store, srv.Redis, log)
	if err != nil {
		return fail(err)
	}
	prices := gateway.DefaultPrices()
	for id, p := range cfg.GatewayPrices {
		prices[id] = p
	}
	walletSvc := &wallets.Service{Store: srv.Store, Plugin: hostDispatcher{host}, DailyCap: cfg.Wallet.DailyCap,
		Network: cfg.Wallet.Network, CDP: cfg.Wallet.CDPAPIKeyID != "", Log: log}
	g := &gateway.Gateway{Store: srv.Store, Dispatchers: []gateway.Dispatcher{walletDispatcher{walletSvc, host}, hostDispatcher{host}, skillDispatcher{skillSvc}},
		Payer: &payments.Step{Platform: payments.Credits{Store: srv.Store}, Machine: machine}, Prices: prices, Secrets: box, KeepAlive: cfg.StreamKeepAlive, Log: log}
	m.Gateway = g
	m.onClose(g.Close)

	var pluginRoutes []gateway.PluginRoute
	aiPlugin := ""
	for _, r := range host.Routes() {
		pluginRoutes = append(pluginRoutes, gateway.PluginRoute{Plugin: r.Plugin, Route: r.Route})
		if r.Method == "GET" && r.Path == "/api/ai/models" {
			aiPlugin = r.Plugin
		}
	}
	// Plugins start concurrently: list their routes in a stable order.
	slices.SortStableFunc(pluginRoutes, func(a, b gateway.PluginRoute) int { return strings.Compare(a.Plugin, b.Plugin) })
	fromPlugins, err := g.PluginRoutes(host, pluginRoutes)
	if err != nil {
		return fail(fmt.Errorf("plugin routes: %w", err))
	}
	billingRoutes, err := billingRoutes(srv, g, box, log)
	if err != nil {
		return fail(err)
	}
	agentSvc, err := newAgents(srv, g, skillSvc, box)
	if err != nil {
		return fail(err)
	}
	m.Agents = agentSvc
	if err := newLive(srv, agentSvc, m); err != nil {
		return fail(err)
	}
	heartbeatRoutes, err := newHeartbeats(ctx, srv, agentSvc, m)
	if err != nil {
		return fail(err)
	}
	channelRoutes, err := newChannels(ctx, srv, agentSvc, box, m)
	if err != nil {
		return fail(err)
	}
	metricRoutes, err := newMetrics(srv, host, g, m)
	if err != nil {
		return fail(err)
	}
	skillSvc.Agents = srv.Store
	m.Routes = slices.Concat([]route.Route{openAPIRoute(srv, m)}, g.Routes(), g.OpenAIRoutes(host, aiPlugin), skillRoutes(g, skillSvc), billingRoutes,
		agentSvc.Routes(), heartbeatRoutes, channelRoutes, walletSvc.Routes(), metricRoutes, adminPluginRoutes(host), fromPlugins)
	for _, s := range host.Status() {
		log.Info("plugin", "name", s.Name, "up", s.Up, "error", s.Error)
	}
	return m, nil
}
