package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/mpp/mpptest"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/x402"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
)

// The test terms (mpptest): Base Sepolia USDC and a recipient.
var (
	payTo  = mpptest.PayTo
	usdc   = mpptest.USDC
	domain = mpptest.Domain
)

type failingSettler struct{ calls atomic.Int64 }

func (f *failingSettler) Settle(context.Context, *payments.Settlement) (string, error) {
	f.calls.Add(1)
	return "", errors.New("chain unreachable")
}

type menv struct {
	*tenv
	se    *servertest.Env
	m     *payments.Machine
	clock *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

// now ticks a millisecond per reading: challenges are a pure function of
// their terms and expiry, so a frozen clock would issue the same one twice.
func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newMachineEnv is a gateway with three priced targets (cheap $0.01, priced
// $0.05, broken $0.05 and failing) and machine payments on.
func newMachineEnv(t *testing.T, backend string, settler payments.Settler) *menv {
	d := newFakeDispatcher()
	for _, id := range []string{"cheap", "priced", "broken", "streamer"} {
		d.targets[id] = gateway.Target{ID: id, Streaming: id == "streamer"}
	}
	d.set("cheap", behavior{output: json.RawMessage(`{"ok":"cheap"}`)})
	d.set("priced", behavior{output: json.RawMessage(`{"ok":"priced"}`)})
	d.set("broken", behavior{output: json.RawMessage(`{"ok":"priced"}`)})
	clk := &clock{t: time.Now().UTC()}
	if settler == nil {
		settler = payments.LocalSettler{}
	}
	var m *payments.Machine
	se, g, rs := serveGateway(t, backend, map[string]string{"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/v1/gateway=100000-M"}, nil,
		func(srv *server.Server) *gateway.Gateway {
			m = &payments.Machine{Issuer: mpp.Issuer{Secret: []byte(strings.Repeat("k", 32)), Realm: "gateway.test"},
				PayTo: payTo, Domain: domain, Decimals: 6, PublicURL: "http://gateway.test",
				Claims: payments.StoreClaims{Store: srv.Store}, Settler: settler, Store: srv.Store, Log: srv.Log, Now: clk.now}
			return &gateway.Gateway{Store: srv.Store, Dispatchers: []gateway.Dispatcher{d},
				Payer:  &payments.Step{Platform: payments.Credits{Store: srv.Store}, Machine: m},
				Prices: map[string]int64{"cheap": 10_000, "priced": 50_000, "broken": 50_000, "streamer": 10_000}, Log: srv.Log}
		})
	return &menv{tenv: &tenv{Env: se, d: d, g: g, routes: rs}, se: se, m: m, clock: clk}
}

// challenge asks for id anonymously and returns the 402's MPP challenge.
func (e *menv) challenge(t *testing.T, id string) (mpp.Challenge, *servertest.Response) {
	t.Helper()
	resp := e.se.Client(t).Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", id)
	if resp.Status != 402 {
		t.Fatalf("unpaid call of %s = %d %s; want 402", id, resp.Status, resp.Body)
	}
	chs, err := mpp.ParseChallenges(resp.Header.Values("WWW-Authenticate"))
	if err != nil || len(chs) != 1 {
		t.Fatalf("WWW-Authenticate %q: %d challenges, %v", resp.Header.Values("WWW-Authenticate"), len(chs), err)
	}
	return chs[0], resp
}

func problemCode(t *testing.T, resp *servertest.Response, status int, code string) {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("status = %d %s; want %d %s", resp.Status, resp.Body, status, code)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q; want application/problem+json", ct)
	}
	if got := resp.Str("type"); got != mpp.ProblemType(code) {
		t.Errorf("problem type = %q; want %q (body %s)", got, mpp.ProblemType(code), resp.Body)
	}
	chs, _ := mpp.ParseChallenges(resp.Header.Values("WWW-Authenticate"))
	if len(chs) != 1 || resp.Str("challengeId") != chs[0].ID || resp.Header.Get("PAYMENT-REQUIRED") == "" {
		t.Errorf("a refusal must carry a fresh challenge (id %q in body) and PAYMENT-REQUIRED; got %q", resp.Str("challengeId"), chs)
	}
}

func TestMachinePayments(t *testing.T) {
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			testMachinePayments(t, backend)
		})
	}
}

func testMachinePayments(t *testing.T, backend string) {
	e := newMachineEnv(t, backend, nil)
	w := mpptest.NewWallet(t)
	anon := e.se.Client(t)

	t.Run("the list names the payment methods", func(t *testing.T) {
		l := anon.Do("GET", "/api/v1/gateway", nil).Expect(t, 200, "")
		if m, _ := l.JSON["paymentMethods"].([]any); len(m) != 3 || m[1] != "mpp" || m[2] != "x402" {
			t.Errorf("paymentMethods = %v; want [stripe mpp x402]", l.JSON["paymentMethods"])
		}
	})

	t.Run("402 offers every method", func(t *testing.T) {
		ch, resp := e.challenge(t, "priced")
		if ch.Method != "evm" || ch.Intent != "charge" || ch.Realm != "gateway.test" || ch.Expires == "" {
			t.Errorf("challenge = %+v", ch)
		}
		var terms map[string]any
		_ = ch.DecodeRequest(&terms)
		if terms["amount"] != "50000" || terms["recipient"] != payTo.Hex() || terms["currency"] != usdc.Hex() {
			t.Errorf("challenge terms = %v; want 50000 base units to %s in %s", terms, payTo.Hex(), usdc.Hex())
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q; want no-store", resp.Header.Get("Cache-Control"))
		}
		var pr x402.PaymentRequired
		if err := x402.DecodeHeader(resp.Header.Get("PAYMENT-REQUIRED"), &pr); err != nil || pr.X402Version != 2 ||
			len(pr.Accepts) != 1 || pr.Accepts[0].Amount != "50000" || pr.Accepts[0].Network != "eip155:84532" {
			t.Errorf("PAYMENT-REQUIRED = %+v, %v", pr, err)
		}
		if resp.Str("error") != "payment_required" || resp.JSON["mpp"] == nil || resp.JSON["stripe"] == nil {
			t.Errorf("402 body = %s; want the seed's shape (error, mpp, stripe)", resp.Body)
		}
	})

	t.Run("MPP pays once", func(t *testing.T) {
		ch, _ := e.challenge(t, "priced")
		cred := w.PayMPP(t, domain, ch, nil)
		before := e.d.count()
		resp := anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced", "Authorization", cred)
		if resp.Status != 200 {
			t.Fatalf("paid call = %d %s", resp.Status, resp.Body)
		}
		rc, err := mpp.DecodeReceipt(resp.Header.Get("Payment-Receipt"))
		if err != nil || rc.Status != "success" || rc.Method != "evm" || !strings.HasPrefix(rc.Reference, "0x") {
			t.Errorf("Payment-Receipt = %+v, %v", rc, err)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "private") {
			t.Errorf("Cache-Control = %q; want private", cc)
		}
		if p, _ := resp.JSON["payment"].(map[string]any); p["method"] != "mpp" || p["receipt"] != resp.Header.Get("Payment-Receipt") {
			t.Errorf("payment = %v", resp.JSON["payment"])
		}
		again := anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced", "Authorization", cred)
		problemCode(t, again, 402, "verification-failed")
		if n := e.d.count() - before; n != 1 {
			t.Errorf("provider called %d times for one payment; want 1", n)
		}
	})

	t.Run("credential for a cheaper route is refused", func(t *testing.T) {
		ch, _ := e.challenge(t, "cheap")
		resp := anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced", "Authorization", w.PayMPP(t, domain, ch, nil))
		problemCode(t, resp, 402, "invalid-challenge")
	})

	t.Run("expired challenge is refused", func(t *testing.T) {
		ch, _ := e.challenge(t, "cheap")
		cred := w.PayMPP(t, domain, ch, nil)
		e.clock.add(6 * time.Minute)
		defer e.clock.add(-6 * time.Minute)
		problemCode(t, anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "cheap", "Authorization", cred), 402, "payment-expired")
	})

	t.Run("bad credentials", func(t *testing.T) {
		ch, _ := e.challenge(t, "cheap")
		other := mpptest.NewWallet(t)
		for name, tc := range map[string]struct {
			cred   string
			status int
			code   string
		}{
			"malformed":      {"Payment !!!", 402, "malformed-credential"},
			"forged id":      {w.PayMPP(t, domain, ch, func(_ *evm.TransferAuthorization, e map[string]any) { e["id"] = "AAAA" }), 402, "invalid-challenge"},
			"tampered price": {w.PayMPP(t, domain, ch, func(_ *evm.TransferAuthorization, e map[string]any) { e["request"] = reprice(t, ch, "1") }), 402, "invalid-challenge"},
			"other method":   {w.PayMPP(t, domain, ch, func(_ *evm.TransferAuthorization, e map[string]any) { e["method"] = "tempo" }), 400, "method-unsupported"},
			"underpaid":      {w.PayMPP(t, domain, ch, func(a *evm.TransferAuthorization, _ map[string]any) { a.Value = big.NewInt(1) }), 402, "payment-insufficient"},
			"other payee":    {w.PayMPP(t, domain, ch, func(a *evm.TransferAuthorization, _ map[string]any) { a.To = other.Address }), 402, "verification-failed"},
			"unbound nonce":  {w.PayMPP(t, domain, ch, func(a *evm.TransferAuthorization, _ map[string]any) { a.Nonce[0] ^= 1 }), 402, "verification-failed"},
			"valid for ever": {w.PayMPP(t, domain, ch, func(a *evm.TransferAuthorization, _ map[string]any) {
				a.ValidBefore = new(big.Int).Lsh(big.NewInt(1), 200)
			}), 402, "verification-failed"},
			"not valid yet": {w.PayMPP(t, domain, ch, func(a *evm.TransferAuthorization, _ map[string]any) {
				a.ValidAfter = big.NewInt(time.Now().Add(time.Hour).Unix())
			}), 402, "verification-failed"},
			"already expired": {w.PayMPP(t, domain, ch, func(a *evm.TransferAuthorization, _ map[string]any) {
				a.ValidBefore = big.NewInt(time.Now().Add(-time.Minute).Unix())
			}), 402, "payment-expired"},
			"impostor": {w.PayMPP(t, domain, ch, func(a *evm.TransferAuthorization, _ map[string]any) { a.From = other.Address }), 402,
				"verification-failed"},
		} {
			t.Run(name, func(t *testing.T) {
				problemCode(t, anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "cheap", "Authorization", tc.cred), tc.status, tc.code)
			})
		}
	})

	t.Run("concurrent replays: one call", func(t *testing.T) {
		ch, _ := e.challenge(t, "cheap")
		cred := w.PayMPP(t, domain, ch, nil)
		var ok atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "cheap", "Authorization", cred).Status == 200 {
					ok.Add(1)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Errorf("%d of 20 concurrent uses of one credential succeeded; want 1", ok.Load())
		}
	})

	t.Run("a failed call does not spend the authorization", func(t *testing.T) {
		e.d.set("broken", behavior{err: errors.New("provider down")})
		ch, _ := e.challenge(t, "broken")
		cred := w.PayMPP(t, domain, ch, nil)
		if resp := anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "broken", "Authorization", cred); resp.Status != 502 {
			t.Fatalf("failing call = %d %s; want 502", resp.Status, resp.Body)
		}
		e.d.set("broken", behavior{output: json.RawMessage(`{"ok":"fixed"}`)})
		if resp := anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "broken", "Authorization", cred); resp.Status != 200 {
			t.Errorf("retry with the unspent credential = %d %s; want 200", resp.Status, resp.Body)
		}
	})

	t.Run("account pays with Payment-Authorization beside its API key; payment recorded", func(t *testing.T) {
		c, uid := e.user(t, "payer@example.com", "")
		r402 := c.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "cheap")
		chs, _ := mpp.ParseChallenges(r402.Header.Values("WWW-Authenticate"))
		if r402.Status != 402 || len(chs) != 1 || chs[0].CredentialHeader != "Payment-Authorization" {
			t.Fatalf("402 to a key holder = %d %+v; want a challenge asking for Payment-Authorization", r402.Status, chs)
		}
		ch := chs[0]
		cred := w.PayMPP(t, domain, ch, nil)
		resp := c.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "cheap", "Payment-Authorization", cred)
		if resp.Status != 200 {
			t.Fatalf("paid call = %d %s", resp.Status, resp.Body)
		}
		ps, err := e.se.Store.Payments(context.Background(), uid, 10)
		if err != nil || len(ps) != 1 || ps[0].Protocol != "mpp" || ps[0].AmountMicroUSD != 10_000 || ps[0].Payer != w.Address.Hex() ||
			ps[0].Receipt != resp.Header.Get("Payment-Receipt") || ps[0].Target != "cheap" {
			t.Errorf("recorded payments = %+v, %v", ps, err)
		}
		if bal, _ := e.se.Store.Credits(context.Background(), uid); bal != 0 {
			t.Errorf("credits balance = %d; a machine payment must not touch credits", bal)
		}
	})

	t.Run("x402 pays once", func(t *testing.T) {
		_, resp402 := e.challenge(t, "priced")
		sig := w.PayX402(t, domain, resp402.Header.Get("PAYMENT-REQUIRED"), e.clock.now())
		resp := anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced", "PAYMENT-SIGNATURE", sig)
		if resp.Status != 200 {
			t.Fatalf("x402 call = %d %s", resp.Status, resp.Body)
		}
		var sr x402.SettleResponse
		if err := x402.DecodeHeader(resp.Header.Get("PAYMENT-RESPONSE"), &sr); err != nil || !sr.Success ||
			sr.Network != "eip155:84532" || sr.Payer != w.Address.Hex() || sr.Transaction == "" {
			t.Errorf("PAYMENT-RESPONSE = %+v, %v", sr, err)
		}
		problemCode(t, anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced", "PAYMENT-SIGNATURE", sig), 402, "verification-failed")
		// Signed for the cheap route's requirements, presented to the dear one.
		_, cheap402 := e.challenge(t, "cheap")
		problemCode(t, anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced", "PAYMENT-SIGNATURE",
			w.PayX402(t, domain, cheap402.Header.Get("PAYMENT-REQUIRED"), e.clock.now())), 402, "invalid-challenge")
		problemCode(t, anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "priced", "PAYMENT-SIGNATURE", "%%%"),
			402, "malformed-credential")
	})

	t.Run("Idempotency-Key replays the paid answer", func(t *testing.T) {
		ch, _ := e.challenge(t, "cheap")
		cred := w.PayMPP(t, domain, ch, nil)
		before := e.d.count()
		first := anon.Do("POST", "/api/v1/gateway", map[string]any{"q": 1}, "X-Plugin-Id", "cheap", "Authorization", cred, "Idempotency-Key", "abc")
		second := anon.Do("POST", "/api/v1/gateway", map[string]any{"q": 1}, "X-Plugin-Id", "cheap", "Authorization", cred, "Idempotency-Key", "abc")
		if first.Status != 200 || second.Status != 200 || string(first.Body) != string(second.Body) ||
			second.Header.Get("Payment-Receipt") != first.Header.Get("Payment-Receipt") || second.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay = %d %s %q; want the first answer (%d %s)", second.Status, second.Body,
				second.Header.Get("Payment-Receipt"), first.Status, first.Body)
		}
		if n := e.d.count() - before; n != 1 {
			t.Errorf("provider called %d times; want 1", n)
		}
		other := anon.Do("POST", "/api/v1/gateway", map[string]any{"q": 2}, "X-Plugin-Id", "cheap", "Authorization", cred, "Idempotency-Key", "abc")
		other.Expect(t, 422, "IDEMPOTENCY_KEY_REUSED")
	})

	t.Run("stream: receipt in the headers", func(t *testing.T) {
		e.d.set("streamer", behavior{stream: chunks(data(`{"delta":"a"}`), data(`{"delta":"b"}`))})
		ch, _ := e.challenge(t, "streamer")
		s := e.open(t, anon, "POST", "/api/v1/gateway", map[string]any{"stream": true}, "X-Plugin-Id", "streamer",
			"Authorization", w.PayMPP(t, domain, ch, nil))
		if s.Resp.StatusCode != 200 || s.Resp.Header.Get("Payment-Receipt") == "" {
			t.Errorf("paid stream = %d, receipt %q", s.Resp.StatusCode, s.Resp.Header.Get("Payment-Receipt"))
		}
	})

	t.Run("a free target needs no payment, a bad method name is a 400", func(t *testing.T) {
		anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "cheap", "X-Payment-Method", "cash").
			Expect(t, 400, "INVALID_PAYMENT_METHOD")
		problemCode(t, anon.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "cheap", "X-Payment-Method", "mpp"),
			402, "payment-required")
	})
}

// reprice re-encodes a challenge's request with another amount.
func reprice(t *testing.T, ch mpp.Challenge, amount string) string {
	var terms map[string]any
	if err := ch.DecodeRequest(&terms); err != nil {
		t.Fatal(err)
	}
	terms["amount"] = amount
	s, err := mpp.EncodeRequest(terms)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A settlement that fails answers 402, delivers nothing and leaves the
// authorization unspent.
func TestMachinePaymentSettlementFailure(t *testing.T) {
	fs := &failingSettler{}
	e := newMachineEnv(t, "sqlite", fs)
	w := mpptest.NewWallet(t)
	ch, _ := e.challenge(t, "cheap")
	cred := w.PayMPP(t, domain, ch, nil)
	resp := e.se.Client(t).Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "cheap", "Authorization", cred)
	problemCode(t, resp, 402, "verification-failed")
	if strings.Contains(string(resp.Body), "cheap\"}") || resp.Header.Get("Payment-Receipt") != "" {
		t.Errorf("a failed settlement delivered the output or a receipt: %s", resp.Body)
	}
	ok, err := e.se.Store.ClaimPayment(context.Background(), "probe", time.Now().Add(time.Hour))
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	e.m.Settler = payments.LocalSettler{}
	if resp := e.se.Client(t).Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "cheap", "Authorization", cred); resp.Status != 200 {
		t.Errorf("retry after the failed settlement = %d %s; want 200 (the claim was released)", resp.Status, resp.Body)
	}
	if fs.calls.Load() != 1 {
		t.Errorf("settler called %d times; want 1", fs.calls.Load())
	}

	// Over x402 the failure is reported in PAYMENT-RESPONSE as well.
	e.m.Settler = fs
	_, r402 := e.challenge(t, "cheap")
	xr := e.se.Client(t).Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "cheap",
		"PAYMENT-SIGNATURE", w.PayX402(t, domain, r402.Header.Get("PAYMENT-REQUIRED"), e.clock.now()))
	problemCode(t, xr, 402, "verification-failed")
	var sr x402.SettleResponse
	if err := x402.DecodeHeader(xr.Header.Get("PAYMENT-RESPONSE"), &sr); err != nil || sr.Success || sr.ErrorReason == "" {
		t.Errorf("PAYMENT-RESPONSE of a failed settlement = %+v, %v; want success false with a reason", sr, err)
	}
}
