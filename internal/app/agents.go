package app

import (
	"time"

	"github.com/agentbot/gateway/agents"
	"github.com/agentbot/gateway/agents/live"
	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/plugins/ai"
	"github.com/agentbot/gateway/skills"
)

// RuntimeVersion is the agent runtime's version: `update` moves an agent to
// it. It changes when the agent loop's behaviour does.
const RuntimeVersion = "2026.12.0"

// newAgents is the agents service over the gateway (model and tool calls are
// paid and recorded like the owner's own calls) and the skills runtime.
func newAgents(srv *server.Server, g *gateway.Gateway, sk *skills.Service, box *secrets.Box) (*agents.Service, error) {
	cfg := srv.Config
	plans, err := billing.LoadPlans(cfg.Billing)
	if err != nil {
		return nil, err
	}
	table, err := modelTable(cfg)
	if err != nil {
		return nil, err
	}
	models := make([]string, len(table))
	for i, m := range table {
		models[i] = m.ID
	}
	def := cfg.AI.DefaultModel
	if def == "" {
		def = models[0]
	}
	svc := &agents.Service{Store: srv.Store, Auth: srv.Auth, Gateway: g, Skills: sk, Secrets: box, Plans: plans,
		Models: models, DefaultModel: def, PublicURL: cfg.PublicURL, Version: RuntimeVersion, Log: srv.Log,
		Verify: verification(srv)}
	// paid_fetch follows the skills' sandbox rules, with their development
	// switch for private addresses; the agent's config lists its hosts.
	svc.PaidFetch = skills.FetchPolicy{AllowHosts: []string{"*"}, AllowPrivate: cfg.Skills.HTTPAllowPrivate,
		MaxBytes: 256 << 10, Timeout: 15 * time.Second}
	return svc, nil
}

// modelTable is the AI provider's model table, cheapest first: its
// configuration's, else the built-in one.
func modelTable(cfg *config.Config) ([]ai.Model, error) {
	ac, err := aiConfig(cfg)
	if err != nil {
		return nil, err
	}
	if len(ac.Models) == 0 {
		return ai.DefaultModels(), nil
	}
	return ac.Models, nil
}

// verification is agent verification's configuration: EAS and Coinbase on
// the EVM_RPC_URL chain, ENS on ENS_RPC_URL's (else the same one).
func verification(srv *server.Server) agents.Verification {
	vc := srv.Config.EVM.Verify
	v := agents.Verification{EAS: vc.EAS, Schemas: vc.Schemas, Attesters: vc.Attesters,
		CoinbaseIndexer: vc.CoinbaseIndexer, CoinbaseAttester: vc.CoinbaseAttester, CoinbaseSchema: vc.CoinbaseSchema,
		ENSRegistry: vc.ENSRegistry}
	if srv.Chain != nil { // a nil *chain.Client in the interface would not compare equal to nil
		v.Chain, v.ENSChain = srv.Chain, srv.Chain
	}
	if vc.ENSRPCURL != "" {
		v.ENSChain = &chain.Client{URL: vc.ENSRPCURL, Timeout: srv.Config.EVM.RPCTimeout}
	}
	return v
}

// newLive starts the agents' live channels: events travel through Redis
// when it is configured (a run on one node reaches sockets on every node),
// else in process. The closers stop the sockets, then the hub.
func newLive(srv *server.Server, svc *agents.Service, m *Mounted) error {
	var hub live.Hub
	if srv.Redis != nil {
		rh := live.NewRedisHub(srv.Redis, live.DefaultRedisPrefix)
		m.onClose(rh.Close)
		hub = rh
	} else {
		hub = live.NewMemoryHub()
	}
	ls, err := live.New(live.Config{Hub: hub, Tokens: svc.LiveChannel(), Chatter: svc.LiveChannel(), Log: srv.Log})
	if err != nil {
		return err
	}
	m.onClose(ls.Close)
	svc.Events, svc.Live = hub, ls
	return nil
}
