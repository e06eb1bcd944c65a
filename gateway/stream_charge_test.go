package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/mpp/mpptest"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/sdk/provider"
)

// A credit-paid stream is charged once some of its output has reached the
// client, whatever happens next (the client hangs up, the provider fails):
// reading the first deltas and closing the socket is not free. It is refunded
// only when nothing was delivered. On both stores, on both streaming surfaces.
func TestCreditStreamChargedOnceDelivered(t *testing.T) {
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			testCreditStreamCharge(t, backend)
		})
	}
}

func testCreditStreamCharge(t *testing.T, backend string) {
	const price, funds = 10_000, 1_000_000
	d := newFakeDispatcher()
	f := &fakeForwarder{}
	se, g, rs := serveGateway(t, backend, map[string]string{
		"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/v1/gateway=100000-M,/api/register=100000-M"}, f,
		func(srv *server.Server) *gateway.Gateway {
			return &gateway.Gateway{Store: srv.Store, Dispatchers: []gateway.Dispatcher{d}, Payer: payments.Credits{Store: srv.Store},
				Prices: map[string]int64{"generate-text": price}, KeepAlive: 20 * time.Millisecond, Log: srv.Log}
		})
	e := &tenv{Env: se, g: g, d: d, f: f, routes: rs}

	surfaces := []struct {
		name, path string
		body       map[string]any
		isDelta    func(sseEvent) bool
	}{
		{"gateway", "/api/v1/gateway", map[string]any{"stream": true, "prompt": "hi"},
			func(ev sseEvent) bool { return ev.Data == `{"delta":"a"}` }},
		{"chat completions", "/api/v1/chat/completions", map[string]any{"model": "m", "stream": true,
			"messages": []any{map[string]any{"role": "user", "content": "hi"}}},
			func(ev sseEvent) bool { return strings.Contains(ev.Data, `"content":"a"`) }},
	}
	tests := []struct {
		name string
		b    func() behavior
		// read consumes what the client reads before it hangs up (nil: the
		// whole answer is read).
		read    func(t *testing.T, s *sseStream, isDelta func(sseEvent) bool)
		status  int // of a non-stream answer; 0: a stream
		charged bool
	}{
		{name: "read the first delta and hang up", b: func() behavior {
			b, _ := thenWait(data(`{"delta":"a"}`))
			return b
		}, read: func(t *testing.T, s *sseStream, isDelta func(sseEvent) bool) {
			if ev := s.nextEvent(t); !isDelta(ev) {
				t.Fatalf("event = %+v; want the first delta", ev)
			}
		}, charged: true},
		{name: "provider fails after the first delta", b: func() behavior {
			return behavior{stream: chunks(data(`{"delta":"a"}`), &provider.Chunk{Error: provider.Errorf(502, "UPSTREAM_ERROR", "boom")})}
		}, charged: true},
		{name: "complete", b: func() behavior {
			return behavior{stream: chunks(data(`{"delta":"a"}`), data(`{"finishReason":"stop"}`))}
		}, charged: true},
		{name: "provider fails before any output", b: func() behavior {
			return behavior{stream: chunks(&provider.Chunk{Error: provider.Errorf(502, "UPSTREAM_ERROR", "boom")})}
		}, status: 502},
		{name: "provider unavailable", b: func() behavior {
			return behavior{err: fmt.Errorf("stream: %w", provider.ErrUnavailable)}
		}, status: 502},
		{name: "hang up while waiting for the first chunk", b: func() behavior {
			b, _ := thenWait()
			return b
		}, read: func(t *testing.T, s *sseStream, _ func(sseEvent) bool) {
			if ev := s.next(t); ev.Comment != "keepalive" {
				t.Fatalf("event = %+v; want a keepalive", ev)
			}
		}},
	}
	for _, sf := range surfaces {
		for i, tt := range tests {
			t.Run(sf.name+"/"+tt.name, func(t *testing.T) {
				c, uid := e.user(t, fmt.Sprintf("%s-%d@example.com", strings.ReplaceAll(sf.name, " ", "-"), i), "")
				ctx := context.Background()
				if err := se.Store.AddCredits(ctx, uid, funds, "purchase", "pack-"+uid); err != nil {
					t.Fatal(err)
				}
				d.set("generate-text", tt.b())
				s := e.open(t, c, "POST", sf.path, sf.body)
				switch {
				case tt.status != 0:
					if s.Resp.StatusCode != tt.status {
						t.Fatalf("got %d %s; want %d", s.Resp.StatusCode, s.Body, tt.status)
					}
				case tt.read != nil:
					if s.Resp.StatusCode != 200 {
						t.Fatalf("got %d %s; want a stream", s.Resp.StatusCode, s.Body)
					}
					tt.read(t, s, sf.isDelta)
					s.cancel()
				default:
					for range s.events { // the whole stream
					}
				}
				// Usage is recorded after the payment settled or was refunded.
				if events := e.waitUsage(t, uid, 1); len(events) != 1 {
					t.Fatalf("usage = %+v; want one event", events)
				}
				bal, err := se.Store.Credits(ctx, uid)
				if err != nil {
					t.Fatal(err)
				}
				refunds, err := se.Store.CreditEntries(ctx, uid, 10, "refund")
				if err != nil {
					t.Fatal(err)
				}
				want := int64(funds)
				if tt.charged {
					want -= price
				}
				if bal != want || (len(refunds) > 0) == tt.charged {
					t.Errorf("balance %d with %d refunds; want %d (charged: %v)", bal, len(refunds), want, tt.charged)
				}
			})
		}
	}
}

// A machine-paid stream is settled as its response starts (the receipt goes
// out with the headers), so a client that reads the first delta and hangs up
// has paid, and its authorization is spent. A stream that fails before
// anything was sent settles nothing and releases the authorization, which the
// payer may use again. On both stores.
func TestMachineStreamSettledWhenItStarts(t *testing.T) {
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := newMachineEnv(t, backend, nil)
			w := mpptest.NewWallet(t)
			anon := e.se.Client(t)
			ctx := context.Background()
			payments := func() []store.MachinePayment {
				t.Helper()
				ps, err := e.se.Store.AllPayments(ctx, 100)
				if err != nil {
					t.Fatal(err)
				}
				return ps
			}

			// Refused before any output (as a plugin refuses a request over
			// its plan's caps): nothing settled, no receipt.
			e.d.set("streamer", behavior{stream: chunks(&provider.Chunk{Error: provider.Errorf(400, "MAX_TOKENS_EXCEEDED", "too many")})})
			ch, _ := e.challenge(t, "streamer")
			cred := w.PayMPP(t, domain, ch, nil)
			s := e.open(t, anon, "POST", "/api/v1/gateway", map[string]any{"stream": true}, "X-Plugin-Id", "streamer",
				"Authorization", cred)
			if s.Resp.StatusCode != 400 || s.Resp.Header.Get("Payment-Receipt") != "" || !strings.Contains(string(s.Body), "MAX_TOKENS_EXCEEDED") {
				t.Fatalf("refused stream = %d %s, receipt %q; want the 400 and no receipt", s.Resp.StatusCode, s.Body,
					s.Resp.Header.Get("Payment-Receipt"))
			}
			if ps := payments(); len(ps) != 0 {
				t.Fatalf("payments = %+v; want none for a stream that sent nothing", ps)
			}

			// The same authorization pays for a stream whose client reads the
			// first delta and hangs up: settled, and spent.
			b, stopped := thenWait(data(`{"delta":"a"}`))
			e.d.set("streamer", b)
			s = e.open(t, anon, "POST", "/api/v1/gateway", map[string]any{"stream": true}, "X-Plugin-Id", "streamer",
				"Authorization", cred)
			if s.Resp.StatusCode != 200 || s.Resp.Header.Get("Payment-Receipt") == "" {
				t.Fatalf("paid stream = %d %s, receipt %q; want a stream with its receipt (the authorization was released)",
					s.Resp.StatusCode, s.Body, s.Resp.Header.Get("Payment-Receipt"))
			}
			if ev := s.nextEvent(t); ev.Data != `{"delta":"a"}` {
				t.Fatalf("event = %+v; want the first delta", ev)
			}
			s.cancel()
			if err := <-stopped; err == nil {
				t.Fatal("the stream was not canceled when the client left")
			}
			if ps := payments(); len(ps) != 1 || ps[0].Target != "streamer" || ps[0].AmountMicroUSD != 10_000 {
				t.Fatalf("payments = %+v; want the stream's payment", ps)
			}
			e.d.set("streamer", behavior{stream: chunks(data(`{"delta":"b"}`))})
			again := anon.Do("POST", "/api/v1/gateway", map[string]any{"stream": true}, "X-Plugin-Id", "streamer", "Authorization", cred)
			problemCode(t, again, 402, "verification-failed")
			if ps := payments(); len(ps) != 1 {
				t.Errorf("payments = %d; want still 1", len(ps))
			}
		})
	}
}

// A stream whose settlement fails answers 402 before anything is sent, with
// no output, and leaves the authorization unspent.
func TestMachineStreamSettlementFailure(t *testing.T) {
	fs := &failingSettler{}
	e := newMachineEnv(t, "sqlite", fs)
	w := mpptest.NewWallet(t)
	e.d.set("streamer", behavior{stream: chunks(data(`{"delta":"secret"}`))})
	ch, _ := e.challenge(t, "streamer")
	cred := w.PayMPP(t, domain, ch, nil)
	s := e.open(t, e.se.Client(t), "POST", "/api/v1/gateway", map[string]any{"stream": true}, "X-Plugin-Id", "streamer",
		"Authorization", cred)
	if s.Resp.StatusCode != 402 || strings.Contains(string(s.Body), "secret") || s.Resp.Header.Get("Payment-Receipt") != "" {
		t.Fatalf("stream with a failed settlement = %d %s; want a 402 without output", s.Resp.StatusCode, s.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(s.Body, &body); err != nil || !strings.HasSuffix(fmt.Sprint(body["type"]), "verification-failed") {
		t.Errorf("body = %s; want the verification-failed problem", s.Body)
	}
	e.m.Settler = payments.LocalSettler{}
	if resp := e.se.Client(t).Do("POST", "/api/v1/gateway", map[string]any{"stream": true}, "X-Plugin-Id", "streamer",
		"Authorization", cred); resp.Status != 200 || resp.Header.Get("Payment-Receipt") == "" {
		t.Errorf("retry after the failed settlement = %d %s; want 200 with a receipt", resp.Status, resp.Body)
	}
}
