package payments_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/mpp/mpptest"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/x402"
	"github.com/agentbot/gateway/payments"
)

// settler settles locally, or fails while fail is set.
type settler struct{ fail atomic.Bool }

func (s *settler) Settle(ctx context.Context, st *payments.Settlement) (string, error) {
	if s.fail.Load() {
		return "", errors.New("chain unreachable")
	}
	return payments.LocalSettler{}.Settle(ctx, st)
}

type penv struct {
	se      *servertest.Env
	step    *payments.Step
	settler *settler
	ctx     context.Context
}

// newStep is the payment step the gateway runs: credits, then machine payments.
func newStep(t *testing.T) *penv {
	t.Helper()
	se := servertest.New(t, "sqlite", nil)
	s := &settler{}
	var tick atomic.Int64
	base := time.Now()
	m := &payments.Machine{Issuer: mpp.Issuer{Secret: []byte(strings.Repeat("k", 32)), Realm: "payments.test"},
		PayTo: payTo, Domain: domain, Decimals: 6, PublicURL: "http://payments.test",
		Claims: payments.StoreClaims{Store: se.Store}, Settler: s, Store: se.Store, Log: se.Log,
		// A millisecond per reading: two challenges are never the same one.
		Now: func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Millisecond) }}
	return &penv{se: se, step: &payments.Step{Platform: payments.Credits{Store: se.Store}, Machine: m},
		settler: s, ctx: context.Background()}
}

// user creates an account with a subscription status and credits.
func (e *penv) user(t *testing.T, email, status string, credits int64, admin bool) *payments.Request {
	t.Helper()
	u, err := e.se.Store.CreateUser(e.ctx, store.NewUser{Email: email, Name: "n", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	u.SubscriptionStatus = status
	if credits > 0 {
		if err := e.se.Store.AddCredits(e.ctx, u.ID, credits, "purchase", "p"); err != nil {
			t.Fatal(err)
		}
	}
	return &payments.Request{Target: "generate-text", PriceMicroUSD: 10_000, Path: "/api/v1/gateway",
		Principal: &auth.Principal{UserID: u.ID, Admin: admin}, User: u}
}

func anon(price int64) *payments.Request {
	return &payments.Request{Target: "generate-text", PriceMicroUSD: price, Path: "/api/v1/gateway"}
}

func with(r *payments.Request, f func(*payments.Request)) *payments.Request {
	c := *r
	f(&c)
	return &c
}

// describe names a decision for failure messages and comparisons.
func describe(d payments.Decision) string {
	switch d := d.(type) {
	case *payments.Covered:
		return "covered " + string(d.Method)
	case *payments.Charged:
		return "charged " + string(d.Method)
	case *payments.Offer:
		if d.Machine != nil {
			return "offer with machine payments"
		}
		return "offer"
	case *payments.Refused:
		return "refused " + string(d.Reason)
	}
	return "nothing"
}

// Every way into the step ends in the decision its rules give.
func TestStepDecisions(t *testing.T) {
	e := newStep(t)
	platformOnly := &payments.Step{Platform: payments.Credits{Store: e.se.Store}}
	subscriber := e.user(t, "sub@example.com", "active", 0, false)
	admin := e.user(t, "admin@example.com", "", 0, true)
	funded := e.user(t, "funded@example.com", "", 1_000_000, false)
	broke := e.user(t, "broke@example.com", "", 0, false)
	tests := []struct {
		name string
		step *payments.Step
		r    *payments.Request
		want string
	}{
		{"no such method", e.step, with(anon(10_000), func(r *payments.Request) { r.Method = "cash" }), "refused invalid-method"},
		{"no such method, free call", e.step, with(anon(0), func(r *payments.Request) { r.Method = "free" }), "refused invalid-method"},
		{"free call, anonymous", e.step, anon(0), "refused auth-required"},
		{"free call, account", e.step, with(broke, func(r *payments.Request) { r.PriceMicroUSD = 0 }), "covered free"},
		{"free call, mpp chosen", e.step, with(broke, func(r *payments.Request) { r.PriceMicroUSD, r.Method = 0, payments.MethodMPP }), "covered free"},
		{"subscription", e.step, subscriber, "covered stripe"},
		{"admin", e.step, admin, "covered stripe"},
		{"credits", e.step, funded, "charged stripe"},
		{"nothing pays", e.step, broke, "offer with machine payments"},
		{"nothing pays, stripe chosen", e.step, with(broke, func(r *payments.Request) { r.Method = payments.MethodStripe }), "offer with machine payments"},
		{"anonymous", e.step, anon(10_000), "offer with machine payments"},
		{"anonymous, stripe chosen", e.step, with(anon(10_000), func(r *payments.Request) { r.Method = payments.MethodStripe }), "refused auth-required"},
		{"mpp chosen, no credential", e.step, with(anon(10_000), func(r *payments.Request) { r.Method = payments.MethodMPP }), "refused credential-missing"},
		{"x402 chosen, no payment", e.step, with(anon(10_000), func(r *payments.Request) { r.Method = payments.MethodX402 }), "refused credential-missing"},
		{"x402 chosen beside an MPP credential", e.step, with(anon(10_000), func(r *payments.Request) {
			r.Method, r.HasMPP, r.MPP = payments.MethodX402, true, "whatever"
		}), "refused credential-missing"},
		{"malformed MPP credential", e.step, with(anon(10_000), func(r *payments.Request) { r.HasMPP = true }), "refused malformed-credential"},
		{"malformed x402 payment", e.step, with(anon(10_000), func(r *payments.Request) { r.X402 = "%%%" }), "refused malformed-credential"},
		{"MPP wins over x402", e.step, with(anon(10_000), func(r *payments.Request) { r.HasMPP, r.X402 = true, "%%%" }), "refused malformed-credential"},
		{"machine payments off: platform", platformOnly, broke, "offer"},
		{"machine payments off: anonymous", platformOnly, anon(10_000), "refused auth-required"},
		{"machine payments off: mpp chosen", platformOnly, with(broke, func(r *payments.Request) { r.Method = payments.MethodMPP }), "refused method-unavailable"},
		{"machine payments off: credential", platformOnly, with(broke, func(r *payments.Request) { r.HasMPP = true }), "refused method-unavailable"},
		{"subscription alone ignores the method", nil, with(broke, func(r *payments.Request) { r.Method = "cash" }), "offer"},
	}
	for _, tt := range tests {
		var p payments.Payer = tt.step
		if tt.step == nil {
			p = payments.Subscription{}
		}
		d, err := p.Authorize(e.ctx, tt.r)
		if err != nil || describe(d) != tt.want {
			t.Errorf("%s: Authorize = %s, %v; want %s", tt.name, describe(d), err, tt.want)
		}
		switch d := d.(type) {
		case *payments.Refused:
			if d.Reason.Problem() != "" && (d.Offer == nil || d.Offer.Challenge == "" || d.Offer.PaymentRequired == "") {
				t.Errorf("%s: a machine payment refused without a fresh offer: %+v", tt.name, d)
			}
			if d.Reason.Problem() == "" && d.Offer != nil {
				t.Errorf("%s: %s carries a machine offer", tt.name, d.Reason)
			}
		case *payments.Offer:
			if d.CheckoutURL != payments.DefaultCheckoutURL || d.Target != "generate-text" || d.PriceMicroUSD != tt.r.PriceMicroUSD {
				t.Errorf("%s: offer = %+v", tt.name, d)
			}
		case *payments.Charged:
			if _, err := p.Settle(e.ctx, d, payments.Outcome{}); err != nil { // refund
				t.Fatal(err)
			}
		}
	}
}

// A machine offer carries what the protocols need, in both forms.
func TestMachineOffer(t *testing.T) {
	e := newStep(t)
	r := with(anon(50_000), func(r *payments.Request) { r.ChallengeHeader = mpp.PaymentAuthorization; r.Path = "/api/v1/x" })
	d, _ := e.step.Authorize(e.ctx, r)
	o, ok := d.(*payments.Offer)
	if !ok || o.Machine == nil {
		t.Fatalf("Authorize = %s; want an offer with machine payments", describe(d))
	}
	m := o.Machine
	chs, err := mpp.ParseChallenges([]string{m.Challenge})
	if err != nil || len(chs) != 1 || chs[0].ID != m.ChallengeID || chs[0].CredentialHeader != mpp.PaymentAuthorization {
		t.Fatalf("Challenge %q = %+v, %v; want one challenge %q asking for Payment-Authorization", m.Challenge, chs, err, m.ChallengeID)
	}
	if exp, _ := chs[0].ExpiresAt(); !exp.Equal(m.ExpiresAt) || m.ExpiresAt.IsZero() {
		t.Errorf("ExpiresAt = %v; want the challenge's %v", m.ExpiresAt, exp)
	}
	var pr x402.PaymentRequired
	if err := x402.DecodeHeader(m.PaymentRequired, &pr); err != nil || pr.Resource.URL != "http://payments.test/api/v1/x" ||
		len(pr.Accepts) != 1 || pr.Accepts[0].Amount != "50000" || pr.Error != "Payment required" {
		t.Errorf("PaymentRequired = %+v, %v", pr, err)
	}
	if m.AmountBaseUnits != "50000" || m.PayTo != payTo || m.Asset != usdc || m.ChainID != 84532 || m.Requirements.Amount != "50000" {
		t.Errorf("terms = %+v", m)
	}
}

func (e *penv) challenge(t *testing.T, r *payments.Request) mpp.Challenge {
	t.Helper()
	d, err := e.step.Authorize(e.ctx, r)
	o, ok := d.(*payments.Offer)
	if !ok || err != nil || o.Machine == nil {
		t.Fatalf("Authorize = %s, %v; want an offer", describe(d), err)
	}
	chs, err := mpp.ParseChallenges([]string{o.Machine.Challenge})
	if err != nil || len(chs) != 1 {
		t.Fatalf("challenge %q: %v", o.Machine.Challenge, err)
	}
	return chs[0]
}

func paying(r *payments.Request, cred string) *payments.Request {
	return with(r, func(r *payments.Request) { r.HasMPP, r.MPP = true, strings.TrimPrefix(cred, "Payment ") })
}

func (e *penv) charge(t *testing.T, r *payments.Request) *payments.Charged {
	t.Helper()
	d, err := e.step.Authorize(e.ctx, r)
	c, ok := d.(*payments.Charged)
	if !ok || err != nil {
		t.Fatalf("Authorize = %s, %v; want charged", describe(d), err)
	}
	return c
}

// An MPP payment: charged once, settled once with a receipt, recorded;
// its replay is refused as such.
func TestMachineChargeSettles(t *testing.T) {
	e := newStep(t)
	w := mpptest.NewWallet(t)
	r := paying(anon(10_000), w.PayMPP(t, domain, e.challenge(t, anon(10_000)), nil))
	c := e.charge(t, r)
	if c.Method != payments.MethodMPP || c.AmountMicroUSD != 10_000 || !c.NeedsReceipt() || c.Settled() || c.Receipt != "" {
		t.Fatalf("charge = %+v; want an unsettled MPP charge of 10000", c)
	}
	if d, _ := e.step.Authorize(e.ctx, r); describe(d) != "refused replayed" || d.(*payments.Refused).Reason.Problem() != "verification-failed" {
		t.Errorf("replay = %s; want refused replayed (verification-failed)", describe(d))
	}
	if refused, err := e.step.Settle(e.ctx, c, payments.Outcome{OK: true, CostMicroUSD: 10_000}); refused != nil || err != nil {
		t.Fatalf("Settle = %+v, %v", refused, err)
	}
	rc, err := mpp.DecodeReceipt(c.Receipt)
	if !c.Settled() || err != nil || rc.Status != "success" {
		t.Errorf("after Settle: settled %v, receipt %+v (%v)", c.Settled(), rc, err)
	}
	// Settling again (a stream settled as it started, then finished) is a no-op.
	receipt := c.Receipt
	if refused, err := e.step.Settle(e.ctx, c, payments.Outcome{}); refused != nil || err != nil || c.Receipt != receipt {
		t.Errorf("second Settle = %+v, %v", refused, err)
	}
	ps, err := e.se.Store.AllPayments(e.ctx, 10)
	if err != nil || len(ps) != 1 || ps[0].Protocol != "mpp" || ps[0].Receipt != receipt || ps[0].Target != "generate-text" {
		t.Errorf("payments = %+v, %v", ps, err)
	}
}

// A failed call releases the authorization; a failed settlement is refused
// (with x402's failure report) and releases it too.
func TestMachineChargeReleased(t *testing.T) {
	e := newStep(t)
	w := mpptest.NewWallet(t)
	r := paying(anon(10_000), w.PayMPP(t, domain, e.challenge(t, anon(10_000)), nil))
	if refused, err := e.step.Settle(e.ctx, e.charge(t, r), payments.Outcome{}); refused != nil || err != nil {
		t.Fatalf("Settle(failed call) = %+v, %v", refused, err)
	}
	e.settler.fail.Store(true)
	c := e.charge(t, r) // released: usable again
	refused, err := e.step.Settle(e.ctx, c, payments.Outcome{OK: true, CostMicroUSD: 10_000})
	if err != nil || refused == nil || refused.Reason != payments.ReasonSettlementFailed || refused.Offer == nil ||
		refused.SettleResponse != "" || c.Settled() || c.Receipt != "" {
		t.Fatalf("Settle(settlement fails) = %+v, %v; want refused settlement-failed with an offer", refused, err)
	}
	e.settler.fail.Store(false)
	e.charge(t, r) // released again

	// x402 reports the failure in PAYMENT-RESPONSE as well.
	d, _ := e.step.Authorize(e.ctx, anon(10_000))
	sig := w.PayX402(t, domain, d.(*payments.Offer).Machine.PaymentRequired, time.Now())
	c = e.charge(t, with(anon(10_000), func(r *payments.Request) { r.X402 = sig }))
	e.settler.fail.Store(true)
	refused, _ = e.step.Settle(e.ctx, c, payments.Outcome{OK: true, CostMicroUSD: 10_000})
	var sr x402.SettleResponse
	if refused == nil || x402.DecodeHeader(refused.SettleResponse, &sr) != nil || sr.Success || sr.ErrorReason != "settlement_failed" {
		t.Errorf("x402 settlement failure = %+v; want a PAYMENT-RESPONSE reporting it", refused)
	}
}

// Twenty concurrent uses of one credential: one is charged, the others are
// refused as replays.
func TestMachineChargeOnceConcurrently(t *testing.T) {
	e := newStep(t)
	r := paying(anon(10_000), mpptest.NewWallet(t).PayMPP(t, domain, e.challenge(t, anon(10_000)), nil))
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := e.step.Authorize(e.ctx, r)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			got[describe(d)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got["charged mpp"] != 1 || got["refused replayed"] != 19 {
		t.Errorf("decisions = %v; want 1 charged, 19 replays", got)
	}
}

// Credits: reserved before, settled after, refunded on failure.
func TestCreditsCharge(t *testing.T) {
	e := newStep(t)
	r := e.user(t, "credits@example.com", "", 25_000, false)
	uid := r.Principal.UserID
	p := payments.Credits{Store: e.se.Store}
	balance := func() int64 { b, _ := e.se.Store.Credits(e.ctx, uid); return b }
	d, _ := p.Authorize(e.ctx, r)
	c, ok := d.(*payments.Charged)
	if !ok || c.Method != payments.MethodStripe || c.NeedsReceipt() || balance() != 15_000 {
		t.Fatalf("Authorize = %s, balance %d; want charged stripe and 15000 left", describe(d), balance())
	}
	if _, err := p.Settle(e.ctx, c, payments.Outcome{}); err != nil || balance() != 25_000 {
		t.Errorf("refund: %v, balance %d; want 25000", err, balance())
	}
	d, _ = p.Authorize(e.ctx, r)
	if _, err := p.Settle(e.ctx, d.(*payments.Charged), payments.Outcome{OK: true, CostMicroUSD: 10_000}); err != nil || balance() != 15_000 {
		t.Errorf("settle: %v, balance %d; want 15000", err, balance())
	}
	p.Authorize(e.ctx, r)
	if d, _ := p.Authorize(e.ctx, r); describe(d) != "offer" || balance() != 5_000 {
		t.Errorf("over the balance: %s, balance %d; want an offer and 5000 left", describe(d), balance())
	}
}

// Every reason of a machine payment refused is an MPP problem type with a
// title; the others are not problems.
func TestReasonProblems(t *testing.T) {
	for _, r := range []payments.Reason{payments.ReasonAuthRequired, payments.ReasonInvalidMethod, payments.ReasonMethodUnavailable} {
		if p := r.Problem(); p != "" {
			t.Errorf("%s.Problem() = %q; want none", r, p)
		}
	}
	for r, want := range map[payments.Reason]string{
		payments.ReasonCredentialMissing:   "payment-required",
		payments.ReasonMalformedCredential: "malformed-credential",
		payments.ReasonMethodUnsupported:   "method-unsupported",
		payments.ReasonInvalidChallenge:    "invalid-challenge",
		payments.ReasonExpired:             "payment-expired",
		payments.ReasonInvalidPayload:      "invalid-payload",
		payments.ReasonInsufficient:        "payment-insufficient",
		payments.ReasonVerificationFailed:  "verification-failed",
		payments.ReasonReplayed:            "verification-failed",
		payments.ReasonSettlementFailed:    "verification-failed",
	} {
		if got := r.Problem(); got != want || mpp.ProblemTitles[got] == "" {
			t.Errorf("%s.Problem() = %q (title %q); want %q", r, got, mpp.ProblemTitles[got], want)
		}
	}
}
