package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentbot/gateway/agents"
	"github.com/agentbot/gateway/agents/loop"
	"github.com/agentbot/gateway/channels"
	"github.com/agentbot/gateway/channels/discord"
	"github.com/agentbot/gateway/channels/telegram"
	"github.com/agentbot/gateway/channels/whatsapp"
	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/plugins/ai"
)

// newChannels serves POST /api/provision and the channel webhooks, and,
// unless AGENTBOT_CHANNELS=false, runs this node's share of the receivers
// and answers inbound messages. It stops before the agents service and the
// store it uses (closers run last registered first).
func newChannels(ctx context.Context, srv *server.Server, svc *agents.Service, box *secrets.Box, m *Mounted) ([]route.Route, error) {
	cfg := srv.Config
	ch := cfg.Channels
	drivers := []channels.Driver{
		telegram.New(telegram.Options{ServerURL: ch.TelegramURL, PollTimeout: ch.PollTimeout, Log: srv.Log}),
		discord.New(discord.Options{APIURL: ch.DiscordURL, GatewayURL: ch.DiscordGatewayURL, Logger: srv.Log}),
		whatsapp.New(whatsapp.Options{BaseURL: ch.WhatsAppURL, Log: srv.Log}),
	}
	cs, err := channels.New(channels.Config{Store: srv.Store, Secrets: box, Drivers: drivers, Run: channelRunner(srv, svc),
		PublicURL: cfg.PublicURL, LeaseTTL: ch.LeaseTTL, Tick: ch.Tick, StallAfter: ch.StallAfter, Workers: ch.Workers,
		ClaimTTL: ch.ClaimTTL, ChatPerMinute: ch.ChatPerMinute,
		Log: srv.Log})
	if err != nil {
		return nil, err
	}
	ac, err := aiConfig(cfg)
	if err != nil {
		return nil, err
	}
	table := ac.Models
	if len(table) == 0 {
		table = ai.DefaultModels()
	}
	plans, err := billing.LoadPlans(cfg.Billing)
	if err != nil {
		return nil, err
	}
	svc.Channels = cs
	models := make([]channels.Model, len(table))
	for i, m := range table {
		models[i] = channels.Model{ID: m.ID, Provider: m.Provider, Tier: m.Tier}
	}
	p := channels.Provisioning{ActivePlan: svc.ActivePlan, Plans: plans, RuntimeVersion: RuntimeVersion, AgentURL: svc.WebsocketURL,
		Models: models}
	if ch.Enabled {
		if err := cs.Start(ctx); err != nil {
			return nil, err
		}
		m.onClose(cs.Stop)
	}
	return cs.Routes(p), nil
}

// channelRunner answers a chat message as one run of the agent, as its
// owner; each chat is its own conversation topic.
func channelRunner(srv *server.Server, svc *agents.Service) channels.Runner {
	return func(ctx context.Context, userID, agentID, topic, message string) (*channels.Reply, error) {
		u, err := srv.Store.User(ctx, userID)
		if err != nil {
			return nil, err
		}
		res, err := svc.Run(ctx, agents.RunRequest{Principal: srv.Auth.Owner(u), AgentID: agentID,
			Trigger: agents.TriggerChannel, Topic: topic, Message: message})
		var ae *api.Error
		if errors.As(err, &ae) && ae.Code == api.CodeAgentNotRunning {
			return nil, channels.ErrAgentNotRunning
		}
		if err != nil {
			return nil, err
		}
		reply := &channels.Reply{RunID: res.Run.ID, Text: res.Outcome.Reply}
		if res.Outcome.Status != loop.StatusOK {
			return reply, fmt.Errorf("%s: %s", res.Outcome.Code, res.Outcome.Message)
		}
		return reply, nil
	}
}
