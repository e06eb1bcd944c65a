package app

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/billing/stripetest"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/sdk/provider"
)

// probe is a free gateway id that remembers who called it.
type probe struct {
	mu   sync.Mutex
	last provider.Caller
}

func (p *probe) Target(_ context.Context, id string) (gateway.Target, bool, error) {
	return gateway.Target{ID: id}, id == "probe", nil
}

func (p *probe) Invoke(_ context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	p.mu.Lock()
	p.last = req.Caller
	p.mu.Unlock()
	return &provider.InvokeResponse{Output: json.RawMessage(`{}`)}, nil
}

func (p *probe) InvokeStream(context.Context, *provider.InvokeRequest, func(*provider.Chunk) error) error {
	return errors.New("probe does not stream")
}

func (p *probe) caller() provider.Caller {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// The wiring: a key enabled through billing is the key the gateway hands the
// provider on the very next call (sealed with the gateway's own context, and
// its cached caller dropped), and a plan set by a webhook is seen at once.
func TestBillingWiredToGateway(t *testing.T) {
	const whsec = "whsec_wiring"
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			pr := &probe{}
			se := servertest.New(t, backend, map[string]string{"STRIPE_WEBHOOK_SECRET": whsec}, func(srv *server.Server) ([]route.Route, error) {
				box, err := secrets.New(srv.Config.MasterKey)
				if err != nil {
					return nil, err
				}
				g := &gateway.Gateway{Store: srv.Store, Dispatchers: []gateway.Dispatcher{pr},
					Payer: payments.Credits{Store: srv.Store}, Secrets: box, CallerTTL: time.Minute, Log: srv.Log}
				t.Cleanup(func() { g.Close(context.Background()) })
				br, err := billingRoutes(srv, g, box, srv.Log)
				return append(g.Routes(), br...), err
			})

			c := se.Client(t)
			uid, csrf := c.SignUp("wired@example.com", "password-w")
			call := func() provider.Caller {
				t.Helper()
				c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "probe"}, "X-CSRF-Token", csrf).Expect(t, 200, "")
				return pr.caller()
			}
			if got := call(); len(got.Credentials) != 0 || got.Plan != "" {
				t.Fatalf("first call's caller = %+v; want no keys, no plan", got)
			}

			const key = "sk-ant-api03-wired-0123456789"
			c.Do("POST", "/api/billing", map[string]any{"action": "enable-byok", "provider": "anthropic", "apiKey": key},
				"X-CSRF-Token", csrf).Expect(t, 200, "")
			if got := call(); got.Credentials["anthropic"] != key {
				t.Errorf("after enable-byok the provider got credentials %v; want the anthropic key at once", got.Credentials)
			}
			c.Do("POST", "/api/billing", map[string]any{"action": "disable-byok"}, "X-CSRF-Token", csrf).Expect(t, 200, "")
			if got := call(); len(got.Credentials) != 0 {
				t.Errorf("after disable-byok the provider got credentials %v; want none", got.Credentials)
			}

			ev := stripetest.Event("evt_wired", "checkout.session.completed", time.Now().Unix(), map[string]any{
				"id": "cs_wired", "mode": "subscription", "payment_status": "paid", "client_reference_id": uid,
				"subscription": "sub_wired", "metadata": map[string]string{"kind": "plan", "plan": "collective", "user_id": uid}})
			se.Client(t).Do("POST", "/api/webhooks/stripe", ev, "Stripe-Signature", stripetest.Sign(ev, whsec)).Expect(t, 200, "")
			if got := call(); got.Plan != "collective" || got.SubscriptionStatus != "active" {
				t.Errorf("after the webhook the caller is %q/%q; want collective/active at once", got.Plan, got.SubscriptionStatus)
			}
		})
	}
}
