package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/mpp/mpptest"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
)

var updateWire = flag.Bool("update-wire", false, "rewrite testdata/payment_wire.golden")

// wireClock is a clock the wire test moves by hand, so that every challenge
// and receipt is the same from run to run.
type wireClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *wireClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *wireClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// wireSettler fails while fail is set.
type wireSettler struct {
	mu   sync.Mutex
	fail bool
}

func (s *wireSettler) set(fail bool) { s.mu.Lock(); s.fail = fail; s.mu.Unlock() }

func (s *wireSettler) Settle(ctx context.Context, st *payments.Settlement) (string, error) {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail {
		return "", errors.New("chain unreachable")
	}
	return payments.LocalSettler{}.Settle(ctx, st)
}

// wireDump writes responses in a form that is the same from run to run:
// every header but the per-request ones, base64 payment headers decoded,
// and the random parts (the wallet's address, hashes, request ids) replaced.
type wireDump struct {
	b       strings.Builder
	replace []string
}

var (
	reqIDRE = regexp.MustCompile(`(request_id":"|chatcmpl-)[0-9A-Za-z_]+`)
	hashRE  = regexp.MustCompile(`0x[0-9a-fA-F]{64}`)
	sigRE   = regexp.MustCompile(`0x[0-9a-fA-F]{130}`)
	rcptRE  = regexp.MustCompile(`"receipt":"([A-Za-z0-9_=+/-]+)"`)
)

func (d *wireDump) clean(s string) string {
	s = rcptRE.ReplaceAllStringFunc(s, func(m string) string {
		return `"receipt":` + strconv.Quote(decodeB64(rcptRE.FindStringSubmatch(m)[1]))
	})
	for i := 0; i+1 < len(d.replace); i += 2 {
		s = strings.ReplaceAll(s, d.replace[i], d.replace[i+1])
	}
	s = reqIDRE.ReplaceAllString(s, "${1}X")
	s = sigRE.ReplaceAllString(s, "0xSIG")
	return hashRE.ReplaceAllString(s, "0xHASH")
}

func decodeB64(v string) string {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(v); err == nil && json.Valid(b) {
			return "b64(" + string(b) + ")"
		}
	}
	return v
}

func (d *wireDump) add(name string, status int, h http.Header, body []byte) {
	fmt.Fprintf(&d.b, "=== %s\nstatus %d\n", name, status)
	var keys []string
	for k := range h {
		switch k {
		case "Date", "X-Request-Id", "Content-Length", "Ratelimit-Remaining", "Ratelimit-Reset", "X-Ratelimit-Remaining", "X-Ratelimit-Reset":
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			switch k {
			case "Payment-Required", "Payment-Response", "Payment-Receipt":
				v = decodeB64(v)
			}
			fmt.Fprintf(&d.b, "%s: %s\n", k, d.clean(v))
		}
	}
	fmt.Fprintf(&d.b, "body %s\n\n", d.clean(string(body)))
}

// The payment step's answers on the wire: status, headers and bodies of
// every offer, refusal and paid answer, compared byte for byte with
// testdata/payment_wire.golden (go test -run TestPaymentWire -update-wire
// rewrites it).
func TestPaymentWire(t *testing.T) {
	d := &wireDump{}
	clk := &wireClock{t: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)}
	fixed := func() time.Time { return time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC) }

	// Machine payments on, over credits.
	settler := &wireSettler{}
	disp := newFakeDispatcher()
	disp.targets["priced"] = gateway.Target{ID: "priced"}
	disp.targets["streamer"] = gateway.Target{ID: "streamer", Streaming: true}
	disp.set("priced", behavior{output: json.RawMessage(`{"ok":"priced"}`)})
	disp.set("streamer", behavior{stream: chunks(data(`{"delta":"a"}`), data(`{"delta":"b"}`))})
	disp.set("generate-text", behavior{output: json.RawMessage(`{"model":"m","message":{"content":"hi"}}`)})
	var m *payments.Machine
	se, g, rs := serveGateway(t, "sqlite", map[string]string{"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/v1/gateway=100000-M"},
		&fakeForwarder{}, func(srv *server.Server) *gateway.Gateway {
			m = newWireMachine(srv, settler, clk.now)
			prices := gateway.DefaultPrices()
			prices["free-thing"], prices["priced"], prices["streamer"] = 0, 50_000, 10_000
			return &gateway.Gateway{Store: srv.Store, Dispatchers: []gateway.Dispatcher{disp}, Payer: newWireStep(srv, m),
				Prices: prices, KeepAlive: time.Hour, Log: srv.Log, Now: fixed}
		})
	e := &tenv{Env: se, g: g, d: disp, routes: rs}
	w := mpptest.NewWallet(t)
	d.replace = []string{w.Address.Hex(), "0xPAYER", strings.ToLower(w.Address.Hex()), "0xpayer"}

	anon := se.Client(t)
	do := func(name string, c *servertest.Client, path string, body any, headers ...string) *servertest.Response {
		t.Helper()
		clk.add(time.Second)
		r := c.Do("POST", path, body, headers...)
		d.add(name, r.Status, r.Header, r.Body)
		return r
	}
	challenge := func(r *servertest.Response) mpp.Challenge {
		t.Helper()
		chs, err := mpp.ParseChallenges(r.Header.Values("WWW-Authenticate"))
		if err != nil || len(chs) != 1 {
			t.Fatalf("%d %s: no challenge", r.Status, r.Body)
		}
		return chs[0]
	}
	gw := "/api/v1/gateway"

	r402 := do("anonymous offer", anon, gw, map[string]any{}, "X-Plugin-Id", "priced")
	ch := challenge(r402)
	keyed, uid := e.user(t, "wire@example.com", "")
	do("account offer", keyed, gw, map[string]any{}, "X-Plugin-Id", "priced")
	do("account offer, stripe asked", keyed, gw, map[string]any{}, "X-Plugin-Id", "priced", "X-Payment-Method", "stripe")
	do("anonymous, stripe asked", anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "X-Payment-Method", "stripe")
	do("unknown method", anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "X-Payment-Method", "cash")
	do("mpp asked, no credential", anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "X-Payment-Method", " MPP ")
	do("x402 asked, no payment", anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "X-Payment-Method", "x402")
	do("free target", anon, gw, map[string]any{}, "X-Plugin-Id", "free-thing")
	do("free target, mpp asked", anon, gw, map[string]any{}, "X-Plugin-Id", "free-thing", "X-Payment-Method", "mpp")
	do("malformed credential", anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "Authorization", "Payment !!!")
	tamper := map[string]func(*evm.TransferAuthorization, map[string]any){
		"other method":  func(_ *evm.TransferAuthorization, e map[string]any) { e["method"] = "tempo" },
		"forged id":     func(_ *evm.TransferAuthorization, e map[string]any) { e["id"] = "AAAA" },
		"underpaid":     func(a *evm.TransferAuthorization, _ map[string]any) { a.Value = big.NewInt(1) },
		"overpaid":      func(a *evm.TransferAuthorization, _ map[string]any) { a.Value = big.NewInt(1 << 40) },
		"unbound nonce": func(a *evm.TransferAuthorization, _ map[string]any) { a.Nonce[0] ^= 1 },
		"not yet valid": func(a *evm.TransferAuthorization, _ map[string]any) { a.ValidAfter = big.NewInt(1 << 40) },
		"expired auth":  func(a *evm.TransferAuthorization, _ map[string]any) { a.ValidBefore = big.NewInt(1) },
		"valid for ever": func(a *evm.TransferAuthorization, _ map[string]any) {
			a.ValidBefore = new(big.Int).Lsh(big.NewInt(1), 200)
		},
		"bad payload": func(_ *evm.TransferAuthorization, e map[string]any) { e["request"] = "e30" },
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range tamper {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		do("mpp "+name, anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "Authorization", w.PayMPP(t, domain, ch, tamper[name]))
	}
	clk.add(10 * time.Minute)
	do("mpp expired challenge", anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "Authorization", w.PayMPP(t, domain, ch, nil))

	ch = challenge(do("offer to pay", anon, gw, map[string]any{}, "X-Plugin-Id", "priced"))
	cred := w.PayMPP(t, domain, ch, nil)
	do("mpp paid", anon, gw, map[string]any{"q": 1}, "X-Plugin-Id", "priced", "Authorization", cred)
	do("mpp replayed", anon, gw, map[string]any{"q": 1}, "X-Plugin-Id", "priced", "Authorization", cred)

	ch = challenge(do("account offer to pay", keyed, gw, map[string]any{}, "X-Plugin-Id", "priced"))
	do("account pays beside its key", keyed, gw, map[string]any{}, "X-Plugin-Id", "priced",
		"Payment-Authorization", w.PayMPP(t, domain, ch, nil))

	ch = challenge(do("offer, settlement to fail", anon, gw, map[string]any{}, "X-Plugin-Id", "priced"))
	settler.set(true)
	do("mpp settlement failed", anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "Authorization", w.PayMPP(t, domain, ch, nil))
	x402req := do("x402 offer, settlement to fail", anon, gw, map[string]any{}, "X-Plugin-Id", "priced").Header.Get("PAYMENT-REQUIRED")
	do("x402 settlement failed", anon, gw, map[string]any{}, "X-Plugin-Id", "priced",
		"PAYMENT-SIGNATURE", w.PayX402(t, domain, x402req, clk.now()))
	settler.set(false)

	x402req = do("x402 offer", anon, gw, map[string]any{}, "X-Plugin-Id", "priced").Header.Get("PAYMENT-REQUIRED")
	sig := w.PayX402(t, domain, x402req, clk.now())
	do("x402 paid", anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "PAYMENT-SIGNATURE", sig)
	do("x402 replayed", anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "X-PAYMENT", sig)
	do("x402 malformed", anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "PAYMENT-SIGNATURE", "%%%")
	cheap := do("x402 offer of the cheaper id", anon, gw, map[string]any{}, "X-Plugin-Id", "generate-text").Header.Get("PAYMENT-REQUIRED")
	do("x402 other terms", anon, gw, map[string]any{}, "X-Plugin-Id", "priced", "PAYMENT-SIGNATURE", w.PayX402(t, domain, cheap, clk.now()))

	ch = challenge(do("offer, idempotent", anon, gw, map[string]any{}, "X-Plugin-Id", "priced"))
	cred = w.PayMPP(t, domain, ch, nil)
	do("idempotent first", anon, gw, map[string]any{"q": 2}, "X-Plugin-Id", "priced", "Authorization", cred, "Idempotency-Key", "k")
	do("idempotent replay", anon, gw, map[string]any{"q": 2}, "X-Plugin-Id", "priced", "Authorization", cred, "Idempotency-Key", "k")

	ch = challenge(do("offer, stream", anon, gw, map[string]any{}, "X-Plugin-Id", "streamer"))
	do("mpp paid stream", anon, gw, map[string]any{"stream": true}, "X-Plugin-Id", "streamer", "Authorization", w.PayMPP(t, domain, ch, nil))

	chat := map[string]any{"model": "m", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}
	r402 = do("chat offer", anon, "/api/v1/chat/completions", chat)
	do("chat mpp refused", anon, "/api/v1/chat/completions", chat, "Authorization", "Payment !!!")
	do("chat mpp paid", anon, "/api/v1/chat/completions", chat, "Authorization", w.PayMPP(t, domain, challenge(r402), nil))
	do("chat account offer", keyed, "/api/v1/chat/completions", chat)

	if err := se.Store.AddCredits(context.Background(), uid, 1_000_000, "purchase", "p"); err != nil {
		t.Fatal(err)
	}
	do("credits paid", keyed, gw, map[string]any{}, "X-Plugin-Id", "priced")
	do("credits paid stream", keyed, gw, map[string]any{"stream": true}, "X-Plugin-Id", "streamer")
	do("credits, mpp asked", keyed, gw, map[string]any{}, "X-Plugin-Id", "priced", "X-Payment-Method", "mpp")
	sub, _ := e.user(t, "wire-sub@example.com", "solo")
	do("subscription", sub, gw, map[string]any{}, "X-Plugin-Id", "priced")
	l := anon.Do("GET", gw, nil)
	fmt.Fprintf(&d.b, "list %d %v\n", l.Status, l.JSON["paymentMethods"])
	var usage []string // one timestamp for all: sorted
	for _, ev := range e.usage(t, uid) {
		usage = append(usage, fmt.Sprintf("usage %s %d %d %s\n", ev.Target, ev.Status, ev.PriceMicroUSD, ev.PaymentMethod))
	}
	slices.Sort(usage)
	d.b.WriteString(strings.Join(usage, ""))
	ps, err := se.Store.Payments(context.Background(), uid, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		fmt.Fprintf(&d.b, "payment %s %s %s %s %d %s\n", p.Protocol, p.Method, p.Target, p.Amount, p.AmountMicroUSD, d.clean(decodeB64(p.Receipt)))
	}

	// The platform alone: a subscription or nothing, no machine payments.
	for _, platform := range []string{"subscription", "credits"} {
		se, g, rs := serveGateway(t, "sqlite", map[string]string{"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/v1/gateway=100000-M"},
			&fakeForwarder{}, func(srv *server.Server) *gateway.Gateway {
				return &gateway.Gateway{Store: srv.Store, Dispatchers: []gateway.Dispatcher{newFakeDispatcher()},
					Payer: newWirePlatform(srv, platform), Prices: gateway.DefaultPrices(), Log: srv.Log, Now: fixed}
			})
		e := &tenv{Env: se, g: g, routes: rs}
		anon := se.Client(t)
		keyed, _ := e.user(t, "wire@example.com", "")
		do(platform+": anonymous", anon, gw, map[string]any{}, "X-Plugin-Id", "agent")
		do(platform+": account", keyed, gw, map[string]any{}, "X-Plugin-Id", "agent")
		do(platform+": mpp asked", keyed, gw, map[string]any{}, "X-Plugin-Id", "agent", "X-Payment-Method", "mpp")
		do(platform+": stripe asked", keyed, gw, map[string]any{}, "X-Plugin-Id", "agent", "X-Payment-Method", "stripe")
		do(platform+": chat", keyed, "/api/v1/chat/completions", chat)
		l := anon.Do("GET", gw, nil)
		fmt.Fprintf(&d.b, "%s: list %d %v\n", platform, l.Status, l.JSON["paymentMethods"])
	}

	got := d.b.String()
	const golden = "testdata/payment_wire.golden"
	if *updateWire {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var a, b string
			if i < len(gl) {
				a = gl[i]
			}
			if i < len(wl) {
				b = wl[i]
			}
			if a != b {
				t.Fatalf("wire differs from %s at line %d:\n got  %s\n want %s", golden, i+1, a, b)
			}
		}
	}
}

func newWireMachine(se *server.Server, s payments.Settler, now func() time.Time) *payments.Machine {
	return &payments.Machine{Issuer: mpp.Issuer{Secret: []byte(strings.Repeat("w", 32)), Realm: "wire.test"},
		PayTo: payTo, Domain: domain, Decimals: 6, PublicURL: "http://wire.test",
		Claims: payments.StoreClaims{Store: se.Store}, Settler: s, Store: se.Store, Log: se.Log, Now: now}
}

func newWireStep(se *server.Server, m *payments.Machine) payments.Payer {
	return &payments.Step{Platform: payments.Credits{Store: se.Store}, Machine: m}
}

func newWirePlatform(se *server.Server, kind string) payments.Payer {
	if kind == "credits" {
		return &payments.Step{Platform: payments.Credits{Store: se.Store}}
	}
	return payments.Subscription{}
}
