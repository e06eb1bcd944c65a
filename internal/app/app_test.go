package app

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/ratelimit/ratelimittest"
	"github.com/agentbot/gateway/payments"
)

// New assembles the whole application from the configuration, opening Redis
// once for everything that shares state between nodes (rate limits and
// payment claims), and serves its route table.
func TestNewAssemblesOnceAndServes(t *testing.T) {
	vars := map[string]string{"AGENTBOT_DEV": "true", "AGENTBOT_DATA_DIR": t.TempDir(),
		"AGENTBOT_PLUGIN_DIR": t.TempDir(), "AGENTBOT_SKILL_DIR": t.TempDir(),
		"REDIS_URL": ratelimittest.RedisURL(t), "PAY_TO_ADDRESS": "0x742d35cc6634c0532925a3b844bc9e7595f8fe00"}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	step, ok := a.Mounted.Gateway.Payer.(*payments.Step)
	if !ok || step.Machine == nil {
		t.Fatalf("payer = %T; want machine payments on", a.Mounted.Gateway.Payer)
	}
	claims, ok := step.Machine.Claims.(payments.RedisClaims)
	if !ok || a.Redis == nil || claims.Client != a.Redis {
		t.Errorf("payment claims = %T on client %p; want Redis claims on the application's one client %p", step.Machine.Claims, claims.Client, a.Redis)
	}
	for path, want := range map[string]int{"/api/health": 200, "/api/v1/gateway": 200, "/api/skills": 200, "/nope": 404} {
		w := httptest.NewRecorder()
		a.Handler().ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("GET %s = %d; want %d", path, w.Code, want)
		}
	}
}
