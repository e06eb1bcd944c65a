package app

import (
	"log/slog"

	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/gateway"
)

// mountBilling registers the plans, Stripe and /api/billing endpoints. A plan
// or key change drops the gateway's cached caller.
func mountBilling(srv *server.Server, g *gateway.Gateway, box *secrets.Box, log *slog.Logger) error {
	svc, err := billing.New(srv.Config, srv.Store, box,
		billing.Hooks{ForgetCaller: g.ForgetCaller}, log)
	if err != nil {
		return err
	}
	svc.Routes(srv.Router, srv.Adapter)
	return nil
}
