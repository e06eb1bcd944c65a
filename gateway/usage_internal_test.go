package gateway

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
)

// A request that outlives the drain still has its usage recorded, not a panic.
func TestUsageRecordedAfterClose(t *testing.T) {
	env := servertest.New(t, "sqlite", nil)
	w := newUsageWriter(env.Store, slog.Default())
	if err := w.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	u, err := env.Store.CreateUser(context.Background(), store.NewUser{Email: "late@example.com", Name: "l", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	w.record(store.UsageEvent{UserID: u.ID, Target: "late", Status: 200})
	got, err := env.Store.Usage(context.Background(), u.ID, time.Time{})
	if err != nil || len(got) != 1 || got[0].Target != "late" {
		t.Errorf("usage after close = %+v, %v; want the event written synchronously", got, err)
	}
}
