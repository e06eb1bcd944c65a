package gateway_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
)

// An account's Idempotency-Key: the retry gets the first answer and is not
// charged again; a failed call keeps the key free; keys are per account.
func TestIdempotencyKeyForAccounts(t *testing.T) {
	e := newEnv(t, func(g *gateway.Gateway) {
		g.Payer = payments.Credits{Store: g.Store}
		g.Prices["priced"] = 10_000
	})
	e.d.targets["priced"] = gateway.Target{ID: "priced"}
	e.d.set("priced", behavior{output: json.RawMessage(`{"n":1}`)})
	c, uid := e.user(t, "idem@example.com", "")
	ctx := context.Background()
	if err := e.Store.AddCredits(ctx, uid, 100_000, "purchase", "p"); err != nil {
		t.Fatal(err)
	}
	first := c.Do("POST", "/api/v1/gateway", map[string]any{"x": 1}, "X-Plugin-Id", "priced", "Idempotency-Key", "k1")
	second := c.Do("POST", "/api/v1/gateway", map[string]any{"x": 1}, "X-Plugin-Id", "priced", "Idempotency-Key", "k1")
	if first.Status != 200 || second.Status != 200 || string(first.Body) != string(second.Body) || second.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry = %d %s; want the first answer %d %s replayed", second.Status, second.Body, first.Status, first.Body)
	}
	if bal, _ := e.Store.Credits(ctx, uid); bal != 90_000 {
		t.Errorf("balance = %d; want 90000 (charged once)", bal)
	}
	if n := e.d.count(); n != 1 {
		t.Errorf("provider called %d times; want 1", n)
	}
	// Another account may use the same key for its own request.
	other, oid := e.user(t, "idem2@example.com", "")
	if err := e.Store.AddCredits(ctx, oid, 100_000, "purchase", "p"); err != nil {
		t.Fatal(err)
	}
	if r := other.Do("POST", "/api/v1/gateway", map[string]any{"x": 2}, "X-Plugin-Id", "priced", "Idempotency-Key", "k1"); r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("another account's k1 = %d replayed=%q; want a fresh call", r.Status, r.Header.Get("Idempotent-Replayed"))
	}
	// A failure is not kept.
	e.d.set("priced", behavior{err: context.DeadlineExceeded})
	c.Do("POST", "/api/v1/gateway", map[string]any{"x": 3}, "X-Plugin-Id", "priced", "Idempotency-Key", "k2").Expect(t, 504, "PLUGIN_TIMEOUT")
	e.d.set("priced", behavior{output: json.RawMessage(`{"n":3}`)})
	if r := c.Do("POST", "/api/v1/gateway", map[string]any{"x": 3}, "X-Plugin-Id", "priced", "Idempotency-Key", "k2"); r.Status != 200 {
		t.Errorf("retry after a failure = %d %s; want 200", r.Status, r.Body)
	}
	c.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced", "Idempotency-Key", strings.Repeat("k", 300)).
		Expect(t, 400, "INVALID_IDEMPOTENCY_KEY")
}
