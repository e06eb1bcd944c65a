package billing_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/billing/stripetest"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
)

const whsec = "whsec_test_billing"

// stripeCall is one request billing made to Stripe.
type stripeCall struct {
	Method, Path string
	Form         url.Values
}

// recorder sits between billing and stripe-mock and keeps every request's
// form, so tests see exactly what was asked of Stripe.
type recorder struct {
	mu    sync.Mutex
	calls []stripeCall
}

func (r *recorder) all() []stripeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]stripeCall(nil), r.calls...)
}

// last returns the last call to path, failing the test if there is none.
func (r *recorder) last(t *testing.T, path string) url.Values {
	t.Helper()
	calls := r.all()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Path == path {
			return calls[i].Form
		}
	}
	t.Fatalf("no request to Stripe %s among %d", path, len(calls))
	return nil
}

func (r *recorder) count(path string) int {
	n := 0
	for _, c := range r.all() {
		if c.Path == path {
			n++
		}
	}
	return n
}

// env is a running server with billing mounted on a real stripe-mock.
type env struct {
	*servertest.Env
	Billing   *billing.Service
	Box       *secrets.Box
	Stripe    *recorder
	forgotten sync.Map // user ids passed to ForgetCaller
}

// stripeMock starts one stripe-mock for a test and its subtests.
func stripeMock(t *testing.T) string { return stripetest.Start(t) }

// newEnv starts the server on backend with billing configured for mockURL
// ("" leaves STRIPE_SECRET_KEY unset: billing disabled); vars override.
func newEnv(t testing.TB, backend, mockURL string, vars map[string]string) *env {
	t.Helper()
	e := &env{Stripe: &recorder{}}
	all := map[string]string{
		"AGENTBOT_RATE_LIMITS":    "default=100000-M",
		"AGENTBOT_PUBLIC_URL":     "https://agentbot.test",
		"STRIPE_WEBHOOK_SECRET":   whsec,
		"STRIPE_PRICE_SOLO":       "price_solo",
		"STRIPE_PRICE_COLLECTIVE": "price_collective",
		"STRIPE_PRICE_LABEL":      "price_label",
		"STRIPE_PRICE_NETWORK":    "price_network",
		"STRIPE_PRICE_STORAGE":    "price_storage",
		"STRIPE_CREDIT_PACKS":     "price_pack10=10,price_pack50=50",
	}
	if mockURL != "" {
		target, _ := url.Parse(mockURL)
		proxy := httputil.NewSingleHostReverseProxy(target)
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			e.Stripe.mu.Lock()
			e.Stripe.calls = append(e.Stripe.calls, stripeCall{Method: r.Method, Path: r.URL.Path, Form: form})
			e.Stripe.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(front.Close)
		all["STRIPE_SECRET_KEY"] = stripetest.Key
		all["STRIPE_API_BASE"] = front.URL
	}
	for k, v := range vars {
		all[k] = v
	}
	e.Env = servertest.New(t, backend, all, func(srv *server.Server) ([]route.Route, error) {
		box, err := secrets.New(srv.Config.MasterKey)
		if err != nil {
			return nil, err
		}
		e.Box = box
		svc, err := billing.New(srv.Config, srv.Store, box, billing.Hooks{
			ForgetCaller: func(id string) { e.forgotten.Store(id, true) }}, srv.Log)
		if err != nil {
			return nil, err
		}
		e.Billing = svc
		return svc.Routes(), nil
	})
	return e
}

// user signs up a user whose client does not follow redirects.
func (e *env) user(t *testing.T, email string) (c *servertest.Client, id, csrf string) {
	t.Helper()
	c = e.Client(t)
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	id, csrf = c.SignUp(email, "password-"+email)
	return c, id, csrf
}

func (e *env) forgot(id string) bool { _, ok := e.forgotten.Load(id); return ok }

// each runs fn on both store backends with one stripe-mock shared by both.
func each(t *testing.T, vars map[string]string, fn func(t *testing.T, e *env)) {
	mock := stripeMock(t)
	for _, b := range servertest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, b, mock, vars))
		})
	}
}

func location(t *testing.T, r *servertest.Response) string {
	t.Helper()
	if r.Status != http.StatusSeeOther {
		t.Fatalf("got %d %s; want 303", r.Status, r.Body)
	}
	return r.Header.Get("Location")
}

func customerOf(t *testing.T, e *env, userID string) string {
	t.Helper()
	c, err := e.Store.BillingContact(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return c.StripeCustomerID
}

func hasPrefix(s, p string) bool { return strings.HasPrefix(s, p) }
