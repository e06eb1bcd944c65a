package app

import (
	"context"
	"errors"

	"github.com/agentbot/gateway/agents"
	"github.com/agentbot/gateway/channels"
	"github.com/agentbot/gateway/channels/discord"
	"github.com/agentbot/gateway/channels/telegram"
	"github.com/agentbot/gateway/channels/whatsapp"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
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
	table, err := modelTable(cfg)
	if err != nil {
		return nil, err
	}
	svc.Channels = cs
	models := make([]channels.Model, len(table))
	for i, m := range table {
		models[i] = channels.Model{ID: m.ID, Provider: m.Provider, Tier: m.Tier}
	}
	p := channels.Provisioning{ActivePlan: svc.ActivePlan, Plans: svc.Plans, RuntimeVersion: RuntimeVersion, AgentURL: svc.WebsocketURL,
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
		runID, text, err := svc.RunOwned(ctx, userID, agents.RunRequest{AgentID: agentID, Trigger: agents.TriggerChannel,
			Topic: topic, Message: message})
		if errors.Is(err, agents.ErrNotRunning) {
			return nil, channels.ErrAgentNotRunning
		}
		if runID == "" {
			return nil, err
		}
		return &channels.Reply{RunID: runID, Text: text}, err
	}
}
