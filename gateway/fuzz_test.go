package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/mpp/mpptest"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
)

// Fuzz targets for the gateway's request envelopes, driven through the whole
// server (auth, rate limits, payment step, idempotency) in process: whatever
// a caller sends, the answer is never a 5xx, and errors keep their JSON shape.
// `make fuzz` runs each for longer; plain `go test` replays the seeds and
// testdata/fuzz.

// fuzzEnv is a server on SQLite with a gateway over the fake dispatcher,
// machine payments on, and one subscribed user's API key.
type fuzzEnv struct {
	h   http.Handler
	key string
	se  *servertest.Env
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	d := newFakeDispatcher()
	d.targets["priced"] = gateway.Target{ID: "priced"}
	d.set("priced", behavior{output: json.RawMessage(`{"ok":"priced"}`)})
	se, _, _ := serveGateway(f, "sqlite", map[string]string{"AGENTBOT_RATE_LIMITS": "default=100000000-M,/api/v1/gateway=100000000-M"},
		&fakeForwarder{}, func(srv *server.Server) *gateway.Gateway {
			m := &payments.Machine{Issuer: mpp.Issuer{Secret: []byte(strings.Repeat("k", 32)), Realm: "gateway.test"},
				PayTo: payTo, Domain: domain, Decimals: 6, PublicURL: "http://gateway.test",
				Claims: payments.StoreClaims{Store: srv.Store}, Settler: payments.LocalSettler{}, Store: srv.Store, Log: srv.Log}
			prices := gateway.DefaultPrices()
			prices["free-thing"], prices["priced"] = 0, 50_000
			return &gateway.Gateway{Store: srv.Store, Dispatchers: []gateway.Dispatcher{d},
				Payer:  &payments.Step{Platform: payments.Credits{Store: srv.Store}, Machine: m},
				Prices: prices, KeepAlive: time.Hour, Log: srv.Log}
		})

	c := se.Client(f)
	uid, csrf := c.SignUp("fuzz@example.com", "password-fuzz")
	if err := se.Store.SetSubscription(context.Background(), uid, "solo", "active"); err != nil {
		f.Fatal(err)
	}
	key := c.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", csrf).Expect(f, 201, "").Str("key")
	return &fuzzEnv{h: se.Root, key: key, se: se}
}

func (e *fuzzEnv) do(method, path string, body []byte, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.RemoteAddr = "192.0.2.1:1234"
	for k, vs := range header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// validHeader reports whether net/http would let v through as a header value.
func validHeader(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// FuzzGatewayCall posts any body and headers to POST /api/v1/gateway: target
// id, Idempotency-Key, an API key or anything in Authorization, MPP and x402
// credentials and X-Payment-Method.
func FuzzGatewayCall(f *testing.F) {
	e := newFuzzEnv(f)
	// A real 402 and the payments a wallet makes for it.
	offer := e.do("POST", "/api/v1/gateway", []byte(`{}`), http.Header{"X-Plugin-Id": {"priced"}, "Content-Type": {"application/json"}})
	chs, err := mpp.ParseChallenges(offer.Header().Values("WWW-Authenticate"))
	if offer.Code != 402 || err != nil || len(chs) != 1 {
		f.Fatalf("unpaid call = %d %s", offer.Code, offer.Body.Bytes())
	}
	w := mpptest.NewWallet(f)
	mppCred := w.PayMPP(f, domain, chs[0], nil)
	x402Sig := w.PayX402(f, domain, offer.Header().Get("PAYMENT-REQUIRED"), time.Now())

	type seed struct {
		body                            string
		ct, plugin, idem                string
		withKey                         bool
		authz, payAuthz, paySig, method string
	}
	for _, s := range []seed{
		{body: `{}`, ct: "application/json", plugin: "priced"},
		{body: `{}`, ct: "application/json", plugin: "priced", authz: mppCred},
		{body: `{}`, ct: "application/json", plugin: "priced", withKey: true, payAuthz: mppCred, method: "mpp"},
		{body: `{}`, ct: "application/json", plugin: "priced", paySig: x402Sig},
		{body: `{}`, ct: "application/json", plugin: "priced", paySig: x402Sig, method: "x402", idem: "k1"},
		{body: `{"plugin":"agent","prompt":"hi"}`, ct: "application/json", withKey: true},
		{body: `{"plugin":"agent","prompt":"hi"}`, ct: "application/json", withKey: true, idem: "key-1"},
		{body: `{"stream":true,"messages":[]}`, ct: "application/json", plugin: "generate-text", withKey: true},
		{body: `{"plugin":5}`, ct: "application/json", withKey: true},
		{body: `{"stream":"yes"}`, ct: "application/json", plugin: "agent", withKey: true},
		{body: `[]`, ct: "application/json", withKey: true},
		{body: `null`, ct: "application/json", withKey: true},
		{body: ``, plugin: "free-thing"},
		{body: `{}`, ct: "text/plain", plugin: "agent"},
		{body: `{}`, ct: "application/json", plugin: "NOPE/../x"},
		{body: `{}`, ct: "application/json", plugin: "agent", authz: "Bearer sk_not_a_key"},
		{body: `{}`, ct: "application/json", plugin: "priced", authz: "Payment !!!", method: "MPP"},
		{body: `{}`, ct: "application/json", plugin: "priced", paySig: "e30=", method: "paypal"},
		{body: `{}`, ct: "application/json", plugin: "agent", withKey: true, idem: strings.Repeat("k", 256)},
		{body: `{}`, ct: "application/json", plugin: "agent", withKey: true, idem: " "},
	} {
		f.Add([]byte(s.body), s.ct, s.plugin, s.idem, s.withKey, s.authz, s.payAuthz, s.paySig, s.method)
	}
	f.Fuzz(func(t *testing.T, body []byte, ct, plugin, idem string, withKey bool, authz, payAuthz, paySig, method string) {
		h := http.Header{}
		for _, kv := range [][2]string{{"Content-Type", ct}, {"X-Plugin-Id", plugin}, {"Idempotency-Key", idem},
			{"Authorization", authz}, {"Payment-Authorization", payAuthz}, {"PAYMENT-SIGNATURE", paySig}, {"X-Payment-Method", method}} {
			if !validHeader(kv[1]) {
				return
			}
			if kv[1] != "" {
				h.Set(kv[0], kv[1])
			}
		}
		if withKey {
			h.Set("Authorization", "Bearer "+e.key)
		}
		w := e.do("POST", "/api/v1/gateway", body, h)
		if w.Code >= 500 {
			t.Fatalf("POST /api/v1/gateway %q (headers %v) = %d %s", body, h, w.Code, w.Body.Bytes())
		}
		if w.Code >= 400 {
			var out struct{ Error, Code string }
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Error == "" || out.Code == "" {
				t.Fatalf("POST /api/v1/gateway %q (headers %v) = %d %q; want the JSON error shape", body, h, w.Code, w.Body.Bytes())
			}
		}
	})
}

// FuzzChatCompletions posts any body to the OpenAI-compatible chat endpoint
// as a subscribed user: never a 5xx, and errors in OpenAI's shape.
func FuzzChatCompletions(f *testing.F) {
	e := newFuzzEnv(f)
	for _, s := range []string{
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}],"temperature":0.2,"top_p":1,"max_tokens":5}`,
		`{"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"messages":[{"role":"user","content":5}]}`,
		`{"messages":[{"content":null}],"max_completion_tokens":1e400}`,
		`{"messages":[]}`, `{"messages":{}}`, `null`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s), true)
	}
	f.Add([]byte(`{"messages":[{"role":"user","content":"hi"}]}`), false)
	f.Fuzz(func(t *testing.T, body []byte, withKey bool) {
		h := http.Header{"Content-Type": {"application/json"}}
		if withKey {
			h.Set("Authorization", "Bearer "+e.key)
		}
		w := e.do("POST", "/api/v1/chat/completions", body, h)
		if w.Code >= 500 {
			t.Fatalf("POST /api/v1/chat/completions %q = %d %s", body, w.Code, w.Body.Bytes())
		}
		if w.Code >= 400 {
			var out struct {
				Error struct{ Message, Type string } `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Error.Message == "" || out.Error.Type == "" {
				t.Fatalf("POST /api/v1/chat/completions %q = %d %q; want OpenAI's error shape", body, w.Code, w.Body.Bytes())
			}
		}
	})
}
