package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/store"
)

// The operator's plan command gives an existing account a plan on the
// configured database, takes it away with "none", and refuses unknown
// plans and addresses without touching the account.
func TestPlanCommandGrantsAndRevokes(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, Migrate: true, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, store.NewUser{Email: "ada@example.com", Name: "Ada", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	user := func() *store.User {
		t.Helper()
		st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, Log: discardLog()})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		got, err := st.User(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	var out bytes.Buffer
	if err := planCmd(ctx, cfg, []string{"ADA@example.com", "solo"}, &out, false); err != nil {
		t.Fatalf("plan solo: %v", err)
	}
	if got := user(); got.Plan != "solo" || got.SubscriptionStatus != "active" {
		t.Errorf("after plan solo: plan=%q status=%q; want solo/active", got.Plan, got.SubscriptionStatus)
	}
	if !strings.Contains(out.String(), "solo") {
		t.Errorf("output %q does not name the plan", out.String())
	}

	for _, args := range [][]string{{"ada@example.com", "platinum"}, {"nobody@example.com", "solo"}, {"ada@example.com"}} {
		if err := planCmd(ctx, cfg, args, &out, false); err == nil {
			t.Errorf("plan %v = nil; want an error", args)
		}
	}
	if got := user(); got.Plan != "solo" {
		t.Errorf("a refused command changed the plan to %q", got.Plan)
	}

	if err := planCmd(ctx, cfg, []string{"ada@example.com", "none"}, &out, false); err != nil {
		t.Fatalf("plan none: %v", err)
	}
	if got := user(); got.Plan != "" {
		t.Errorf("after plan none: plan=%q; want none", got.Plan)
	}
}
