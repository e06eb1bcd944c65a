package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/mpp/mpptest"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/sdk/provider"
)

// priced is a gateway id that costs $0.02.
type priced struct{ probe }

func (p *priced) Target(_ context.Context, id string) (gateway.Target, bool, error) {
	return gateway.Target{ID: id, PriceMicroUSD: 20_000}, id == "priced", nil
}

func (p *priced) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	return &provider.InvokeResponse{Output: json.RawMessage(`{"done":true}`)}, nil
}

// Machine payments wired from the configuration: a payment an account makes
// with Payment-Authorization (beside its session) is listed with its receipt
// by GET /api/billing, next to its Stripe credit purchases.
func TestBillingListsPayments(t *testing.T) {
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var m *payments.Machine
			se := servertest.New(t, backend, map[string]string{"PAY_TO_ADDRESS": "0x742d35cc6634c0532925a3b844bc9e7595f8fe00",
				"ADMIN_EMAILS": "ops@example.com"}, func(srv *server.Server) ([]route.Route, error) {
				var err error
				m, err = machinePayments(srv.Config, srv.Store, srv.Redis, srv.Log)
				if err != nil || m == nil {
					t.Fatalf("machinePayments = %v, %v; want them on", m, err)
				}
				box, _ := secrets.New(srv.Config.MasterKey)
				g := &gateway.Gateway{Store: srv.Store, Dispatchers: []gateway.Dispatcher{&priced{}},
					Payer: &payments.Step{Platform: payments.Credits{Store: srv.Store}, Machine: m}, Secrets: box, Log: srv.Log}
				t.Cleanup(func() { g.Close(context.Background()) })
				br, err := billingRoutes(srv, g, box, srv.Log)
				return append(g.Routes(), br...), err
			})
			c := se.Client(t)
			uid, csrf := c.SignUp("buyer@example.com", "password-b")
			if err := se.Store.AddCredits(ctx, uid, 10_000_000, "purchase", "cs_test_pack"); err != nil {
				t.Fatal(err)
			}

			resp402 := se.Client(t).Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced")
			chs, _ := mpp.ParseChallenges(resp402.Header.Values("WWW-Authenticate"))
			if resp402.Status != 402 || len(chs) != 1 {
				t.Fatalf("unpaid call = %d with %d challenges", resp402.Status, len(chs))
			}
			if chs[0].Realm != "127.0.0.1" {
				t.Errorf("realm = %q; want the public URL's host", chs[0].Realm)
			}
			cred := mpptest.NewWallet(t).PayMPP(t, m.Domain, chs[0], nil)
			paid := c.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced", "X-CSRF-Token", csrf,
				"Payment-Authorization", cred)
			if paid.Status != 200 || paid.Header.Get("Payment-Receipt") == "" {
				t.Fatalf("paid call = %d %s", paid.Status, paid.Body)
			}
			var billing struct {
				Payments []struct {
					Method, Kind, Target, Receipt, Reference string
					AmountMicroUsd                           int64
				}
			}
			b := c.Do("GET", "/api/billing", nil).Expect(t, 200, "")
			if err := json.Unmarshal(b.Body, &billing); err != nil {
				t.Fatal(err)
			}
			if len(billing.Payments) != 2 {
				t.Fatalf("payments = %+v; want the machine payment and the purchase", billing.Payments)
			}
			p := billing.Payments[0]
			if p.Method != "mpp" || p.Kind != "call" || p.Target != "priced" || p.AmountMicroUsd != 20_000 ||
				p.Receipt != paid.Header.Get("Payment-Receipt") {
				t.Errorf("newest payment = %+v; want the MPP call with its receipt", p)
			}
			if q := billing.Payments[1]; q.Method != "stripe" || q.Reference != "cs_test_pack" {
				t.Errorf("older payment = %+v; want the Stripe purchase", q)
			}

			// An anonymous payer; then the operators' view lists both payments.
			anon := se.Client(t)
			r402 := anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced")
			chs, _ = mpp.ParseChallenges(r402.Header.Values("WWW-Authenticate"))
			anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced",
				"Authorization", mpptest.NewWallet(t).PayMPP(t, m.Domain, chs[0], nil)).Expect(t, 200, "")
			c.Do("GET", "/api/admin/payments", nil).Expect(t, 403, "ADMIN_REQUIRED")
			ops := se.Client(t)
			ops.SignUp("ops@example.com", "password-ops")
			all := ops.Do("GET", "/api/admin/payments", nil).Expect(t, 200, "")
			var list struct {
				Payments []struct {
					UserID *string `json:"userId"`
				}
				TotalMicroUsd int64
			}
			if err := json.Unmarshal(all.Body, &list); err != nil {
				t.Fatal(err)
			}
			if len(list.Payments) != 2 || list.TotalMicroUsd != 40_000 || list.Payments[0].UserID != nil ||
				list.Payments[1].UserID == nil || *list.Payments[1].UserID != uid {
				t.Errorf("admin payments = %s; want the anonymous payment then the account's, $0.04 in all", all.Body)
			}
			ops.Do("GET", "/api/admin/payments?limit=0", nil).Expect(t, 400, "INVALID_LIMIT")
		})
	}
}

// The local recorder moves no money: outside dev mode machine payments are
// refused without a facilitator, even for a configuration not made by
// config.Load.
func TestMachinePaymentsNeedAFacilitatorOutsideDev(t *testing.T) {
	cfg := &config.Config{PublicURL: "https://gateway.example.com", MasterKey: make([]byte, 32),
		Payments: config.PaymentsConfig{PayTo: "0x742d35cc6634c0532925a3b844bc9e7595f8fe00", ChainID: 8453,
			Asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", AssetName: "USD Coin", AssetVersion: "2", AssetDecimals: 6}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := machinePayments(cfg, nil, nil, log)
	if err == nil || m != nil || !strings.Contains(err.Error(), "X402_FACILITATOR_URL") {
		t.Errorf("machinePayments(not dev, no facilitator) = %v, %v; want an error naming X402_FACILITATOR_URL", m, err)
	}
	cfg.Payments.FacilitatorURL = "https://facilitator.example.com"
	m, err = machinePayments(cfg, nil, nil, log)
	if err != nil || m == nil {
		t.Fatalf("machinePayments(not dev, facilitator) = %v, %v; want them on", m, err)
	}
	if _, ok := m.Settler.(payments.FacilitatorSettler); !ok {
		t.Errorf("settler = %T; want the facilitator", m.Settler)
	}
	cfg.Dev, cfg.Payments.FacilitatorURL = true, ""
	if m, err = machinePayments(cfg, nil, nil, log); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Settler.(payments.LocalSettler); !ok {
		t.Errorf("dev settler = %T; want the local recorder", m.Settler)
	}
}
