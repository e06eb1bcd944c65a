package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/store"
)

// planCmd: agentbot plan <email> <plan|none> gives an account a plan
// without Stripe (an operator's complimentary plan, or a self-hosted gateway
// with no billing at all), or takes it away. It works on the configured
// database directly, beside a running server. With asJSON it prints
// {"email", "plan"} (plan null for none).
func planCmd(ctx context.Context, cfg *config.Config, args []string, out io.Writer, asJSON bool) error {
	if len(args) != 2 {
		return usageErrorf("usage: agentbot plan <email> <plan|none>")
	}
	email, name := strings.ToLower(strings.TrimSpace(args[0])), strings.ToLower(strings.TrimSpace(args[1]))
	status := "active"
	if name == "none" {
		name, status = "", ""
	} else {
		plans, err := billing.LoadPlans(cfg.Billing)
		if err != nil {
			return err
		}
		if _, ok := plans.Get(name); !ok {
			var names []string
			for _, p := range plans.All() {
				names = append(names, p.Name)
			}
			return usageErrorf("unknown plan %q (plans: %s, or none)", name, strings.Join(names, ", "))
		}
	}
	st, err := store.Open(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, MigrateURL: cfg.DatabaseMigrateURL,
		DataDir: cfg.DataDir, Migrate: true, Log: discardLog()})
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.CredentialByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return withCode(exitNotFound, fmt.Errorf("no account with the address %s", email))
	}
	if err != nil {
		return err
	}
	if err := st.SetSubscription(ctx, c.UserID, name, status); err != nil {
		return err
	}
	if asJSON {
		var plan any
		if name != "" {
			plan = name
		}
		return json.NewEncoder(out).Encode(map[string]any{"email": email, "plan": plan})
	}
	if name == "" {
		fmt.Fprintf(out, "%s has no plan now\n", email)
	} else {
		fmt.Fprintf(out, "%s is on the %s plan (active, not billed through Stripe)\n", email, name)
	}
	return nil
}
