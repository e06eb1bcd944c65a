package wallets_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
	"github.com/agentbot/gateway/plugins/wallet"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
	"github.com/agentbot/gateway/wallets"
)

// plugin is the real wallet plugin behind gRPC (no chain configured), with
// a count of transfer calls and a switch that loses their answers.
type plugin struct {
	c         *provider.Client
	transfers atomic.Int64
	lose      atomic.Bool
}

func (p *plugin) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	if req.Capability == wallet.CapTransfer {
		p.transfers.Add(1)
		if p.lose.Load() {
			return nil, errors.New("connection reset")
		}
	}
	return p.c.Invoke(ctx, req)
}

func setup(t *testing.T) (*wallets.Service, *plugin, string) {
	t.Helper()
	c := providertest.Serve(t, wallet.New())
	cfg, _ := json.Marshal(wallet.Config{SealKey: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"})
	if r, err := c.Configure(context.Background(), &provider.ConfigureRequest{Config: cfg}); err != nil || r.Error != nil {
		t.Fatalf("Configure = %v, %v", r, err)
	}
	s := storetest.Open(t, storetest.SQLite(t))
	u, err := s.CreateUser(context.Background(), store.NewUser{Email: "a@example.com", Name: "a", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	p := &plugin{c: c}
	return &wallets.Service{Store: s, Plugin: p, DailyCap: 100, Network: "base"}, p, u.ID
}

func invoke(t *testing.T, svc *wallets.Service, uid, id string, in map[string]any) *provider.InvokeResponse {
	t.Helper()
	b, _ := json.Marshal(in)
	resp, err := svc.Invoke(context.Background(), &provider.InvokeRequest{Capability: id, Input: b, Caller: provider.Caller{UserID: uid}})
	if err != nil {
		t.Fatalf("Invoke(%s) = %v", id, err)
	}
	return resp
}

func code(r *provider.InvokeResponse) string {
	if r.Error == nil {
		return ""
	}
	return r.Error.Code
}

func TestAddressIsMadeOnceUnderConcurrency(t *testing.T) {
	svc, _, uid := setup(t)
	var wg sync.WaitGroup
	addrs := make([]string, 8)
	for i := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _ := json.Marshal(map[string]any{})
			r, err := svc.Invoke(context.Background(), &provider.InvokeRequest{Capability: wallet.CapAddress, Input: b, Caller: provider.Caller{UserID: uid}})
			if err != nil || r.Error != nil {
				t.Errorf("wallet-address = %v, %v", r, err)
				return
			}
			var out struct{ Address string }
			_ = json.Unmarshal(r.Output, &out)
			addrs[i] = out.Address
		}()
	}
	wg.Wait()
	for _, a := range addrs {
		if a == "" || a != addrs[0] {
			t.Fatalf("concurrent first calls answered %v; want one address", addrs)
		}
	}
	if r := invoke(t, svc, "", wallet.CapAddress, map[string]any{}); code(r) != "AUTH_REQUIRED" {
		t.Errorf("no caller = %v; want AUTH_REQUIRED", r.Error)
	}
	if r := invoke(t, svc, uid, wallet.CapAddress, map[string]any{"agentId": "agt_nope"}); code(r) != "AGENT_NOT_FOUND" {
		t.Errorf("unknown agent = %v; want AGENT_NOT_FOUND", r.Error)
	}
}

// A transfer the plugin refuses (here: no chain) releases its amount and
// replays its failure for the same key without calling the plugin again.
func TestFailedTransferReleasesTheCap(t *testing.T) {
	svc, p, uid := setup(t)
	to := "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
	r := invoke(t, svc, uid, wallet.CapTransfer, map[string]any{"to": to, "amount": "100", "idempotencyKey": "a"})
	if code(r) != "CHAIN_UNAVAILABLE" {
		t.Fatalf("transfer = %v; want CHAIN_UNAVAILABLE", r.Error)
	}
	r = invoke(t, svc, uid, wallet.CapTransfer, map[string]any{"to": to, "amount": "100", "idempotencyKey": "a"})
	if code(r) != "CHAIN_UNAVAILABLE" || p.transfers.Load() != 1 {
		t.Errorf("replay = %v after %d plugin calls; want the same failure after 1", r.Error, p.transfers.Load())
	}
	// The whole cap is still available.
	if r := invoke(t, svc, uid, wallet.CapTransfer, map[string]any{"to": to, "amount": "100", "idempotencyKey": "b"}); code(r) != "CHAIN_UNAVAILABLE" {
		t.Errorf("second transfer = %v; want it let through to the plugin", r.Error)
	}
	if r := invoke(t, svc, uid, wallet.CapTransfer, map[string]any{"to": to, "amount": "101", "idempotencyKey": "c"}); code(r) != "SPEND_CAP_EXCEEDED" {
		t.Errorf("transfer over the cap = %v; want SPEND_CAP_EXCEEDED", r.Error)
	}
}

// A transfer whose answer was lost may have been sent: the key stays taken
// and the amount keeps counting.
func TestLostAnswerKeepsTheReservation(t *testing.T) {
	svc, p, uid := setup(t)
	to := "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
	p.lose.Store(true)
	b, _ := json.Marshal(map[string]any{"to": to, "amount": "60", "idempotencyKey": "a"})
	if _, err := svc.Invoke(context.Background(), &provider.InvokeRequest{Capability: wallet.CapTransfer, Input: b, Caller: provider.Caller{UserID: uid}}); err == nil {
		t.Fatal("lost answer = nil error; want one")
	}
	p.lose.Store(false)
	if r := invoke(t, svc, uid, wallet.CapTransfer, map[string]any{"to": to, "amount": "60", "idempotencyKey": "a"}); code(r) != "TRANSFER_IN_PROGRESS" {
		t.Errorf("retry = %v; want TRANSFER_IN_PROGRESS", r.Error)
	}
	if r := invoke(t, svc, uid, wallet.CapTransfer, map[string]any{"to": to, "amount": "41", "idempotencyKey": "b"}); code(r) != "SPEND_CAP_EXCEEDED" {
		t.Errorf("41 more = %v; want SPEND_CAP_EXCEEDED (60 may be spent)", r.Error)
	}
	if p.transfers.Load() != 1 {
		t.Errorf("plugin saw %d transfers; want 1", p.transfers.Load())
	}
}
