package app

import (
	"log/slog"

	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/gateway"
)

// billingRoutes are the plans, Stripe and /api/billing endpoints. A plan or
// key change drops the gateway's cached caller.
func billingRoutes(srv *server.Server, g *gateway.Gateway, box *secrets.Box, log *slog.Logger) ([]route.Route, error) {
	svc, err := billing.New(srv.Config, srv.Store, box,
		billing.Hooks{ForgetCaller: g.ForgetCaller}, log)
	if err != nil {
		return nil, err
	}
	return svc.Routes(), nil
}
