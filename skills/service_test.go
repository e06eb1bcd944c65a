package skills

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
	"github.com/agentbot/gateway/internal/memtest"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/skills/internal/testguests"
)

type serviceEnv struct {
	svc  *Service
	st   *store.Store
	a, b string // user ids
}

func newService(t *testing.T, cfg Config, fetch FetchPolicy) *serviceEnv {
	t.Helper()
	st := storetest.Open(t, storetest.SQLite(t))
	e := &serviceEnv{svc: &Service{Store: st, Runtime: newRuntime(t, cfg), Fetch: fetch, Log: quiet}, st: st}
	for _, u := range []struct {
		id    *string
		email string
	}{{&e.a, "a@example.com"}, {&e.b, "b@example.com"}} {
		user, err := st.CreateUser(context.Background(), store.NewUser{Email: u.email, Name: u.email, PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		*u.id = user.ID
	}
	return e
}

// publish stores guest under name with the manifest's extra fields.
func (e *serviceEnv) publish(t *testing.T, guest, name string, extra map[string]any) {
	t.Helper()
	m := map[string]any{"name": name, "version": "1.0.0", "description": "test " + guest, "category": "test"}
	for k, v := range extra {
		m[k] = v
	}
	raw, _ := json.Marshal(m)
	man, err := ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	wasm := testguests.Wasm(t, guest)
	sum := sha256.Sum256(wasm)
	if _, err := e.st.PublishSkill(context.Background(), e.a, "A", store.SkillRelease{Name: name, Version: man.Version,
		Description: man.Description, Category: man.Category, Manifest: raw, PriceMicroUSD: man.PriceMicroUSD(),
		SHA256: hex.EncodeToString(sum[:]), WASM: wasm}); err != nil {
		t.Fatal(err)
	}
}

func (e *serviceEnv) invoke(t *testing.T, user, id, input string) *provider.InvokeResponse {
	t.Helper()
	resp, err := e.svc.Invoke(context.Background(), &provider.InvokeRequest{Capability: id, Input: json.RawMessage(input),
		Caller: provider.Caller{UserID: user, RequestID: "req-1"}})
	if err != nil {
		t.Fatalf("Invoke(%s, %s) = %v", id, input, err)
	}
	return resp
}

func wantError(t *testing.T, resp *provider.InvokeResponse, status int, code string) {
	t.Helper()
	if resp.Error == nil || resp.Error.Status != status || resp.Error.Code != code {
		t.Errorf("response = %s, %+v; want %d %s", resp.Output, resp.Error, status, code)
	}
}

// agents is an AgentOwner: user id → the agent ids they own.
type agents map[string][]string

func (a agents) OwnsAgent(_ context.Context, userID, agentID string) (bool, error) {
	return slices.Contains(a[userID], agentID), nil
}

func TestServiceKVIsScopedToUserAgentAndSkill(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
	e.svc.Agents = agents{e.a: {"agt_1", "agt_2"}, e.b: {"agt_1"}} // agent ids are global in practice; shared here to show the scope
	e.publish(t, "kvuser", "kv-one", map[string]any{"capabilities": []string{"kv"}})
	e.publish(t, "kvuser", "kv-two", map[string]any{"capabilities": []string{"kv"}})
	if r := e.invoke(t, e.a, "skill:kv-one", `{"action":"set","agentId":"agt_1","key":"k","value":"a's"}`); r.Error != nil {
		t.Fatalf("set = %+v", r.Error)
	}
	get := func(user, id, agent string) string {
		r := e.invoke(t, user, id, `{"action":"get","key":"k","agentId":"`+agent+`"}`)
		if r.Error != nil {
			t.Fatalf("get = %+v", r.Error)
		}
		return string(r.Output)
	}
	if got := get(e.a, "skill:kv-one", "agt_1"); got != `{"found":true,"value":"a's"}` {
		t.Errorf("a reads back %s", got)
	}
	for _, tc := range []struct{ who, user, id, agent string }{
		{"b, same skill and agent", e.b, "skill:kv-one", "agt_1"},
		{"a, another agent", e.a, "skill:kv-one", "agt_2"},
		{"a, no agent", e.a, "skill:kv-one", ""},
		{"a, another skill", e.a, "skill:kv-two", "agt_1"},
	} {
		if got := get(tc.user, tc.id, tc.agent); got != `{"found":false,"value":""}` {
			t.Errorf("%s sees %s; want nothing", tc.who, got)
		}
	}
	// No agent is the "default" agent.
	e.invoke(t, e.b, "skill:kv-one", `{"action":"set","key":"k","value":"b's"}`)
	if got := get(e.b, "skill:kv-one", ""); got != `{"found":true,"value":"b's"}` {
		t.Errorf("b's default agent sees %s", got)
	}
	if v, err := e.st.SkillKVGet(context.Background(), store.SkillScope{UserID: e.b, AgentID: "default", Skill: "kv-one"}, "k"); err != nil || string(v) != "b's" {
		t.Errorf("store has %q, %v for b's default scope", v, err)
	}
}

func TestServiceGrantsOnlyTheManifestsCapabilities(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{AllowHosts: []string{"*"}, AllowPrivate: true})
	e.publish(t, "kvuser", "no-kv", nil)
	wantError(t, e.invoke(t, e.a, "skill:no-kv", `{"action":"get","key":"k"}`), 500, "CAPABILITY_NOT_GRANTED")

	srv, _ := fetchServer(t)
	e.publish(t, "fetcher", "no-http", nil)
	// The fetcher guest reports a refused fetch as its output.
	r := e.invoke(t, e.a, "skill:no-http", `{"url":"`+srv.URL+`/ok"}`)
	if r.Error != nil || !strings.Contains(string(r.Output), "CAPABILITY_NOT_GRANTED") {
		t.Errorf("fetch without the http capability = %s, %+v; want it refused", r.Output, r.Error)
	}
	e.publish(t, "fetcher", "with-http", map[string]any{"capabilities": []string{"http"}, "http": map[string]any{"hosts": []string{"127.0.0.1"}}})
	r = e.invoke(t, e.a, "skill:with-http", `{"url":"`+srv.URL+`/ok"}`)
	if r.Error != nil || string(r.Output) != `{"body":"ok","status":200}` {
		t.Errorf("fetch with the capability = %s, %+v; want 200 ok", r.Output, r.Error)
	}
}

func TestServiceErrors(t *testing.T) {
	e := newService(t, Config{MemoryPages: 512}, FetchPolicy{})
	wantError(t, e.invoke(t, e.a, "skill:nope", `{}`), 404, "UNKNOWN_PLUGIN")

	e.publish(t, "spin", "spinner", map[string]any{"limits": map[string]any{"timeoutMs": 200}})
	// The instance's start is not the call's: under -race on a loaded
	// machine, starting a Go module alone can take seconds.
	var startTook time.Duration
	e.svc.Started = func(_ string, took time.Duration) { startTook = took }
	start := time.Now()
	wantError(t, e.invoke(t, e.a, "skill:spinner", `{}`), 504, "SKILL_TIMEOUT")
	if d := time.Since(start) - startTook; d > 3*time.Second {
		t.Errorf("the manifest's 200ms deadline stopped the call after %v (and %v to start the instance)", d, startTook)
	}
	e.svc.Started = nil

	e.publish(t, "hog", "hog", nil)
	r := e.invoke(t, e.a, "skill:hog", `{"chunk":1048576,"times":64}`)
	wantError(t, r, 502, "SKILL_CRASHED")
	if r.Error != nil && r.Error.Message != "The skill crashed: out of memory" {
		t.Errorf("crash message = %q", r.Error.Message)
	}

	e.publish(t, "flood", "flood", map[string]any{"limits": map[string]any{"maxOutputBytes": 1000}})
	wantError(t, e.invoke(t, e.a, "skill:flood", `{"bytes":2000,"chunk":100}`), 502, "OUTPUT_TOO_LARGE")
	// Output that is not JSON.
	wantError(t, e.invoke(t, e.a, "skill:flood", `{"bytes":10,"chunk":10}`), 502, "SKILL_BAD_OUTPUT")
	// The skill's own failure passes through.
	e.publish(t, "kvuser", "router", nil)
	wantError(t, e.invoke(t, e.a, "skill:router", `{"action":"nope"}`), 400, "INVALID_ACTION")
	// Empty output is null.
	r = e.invoke(t, e.a, "skill:flood", `{"bytes":0,"chunk":10}`)
	if r.Error != nil || string(r.Output) != "null" {
		t.Errorf("empty output = %s, %+v; want null", r.Output, r.Error)
	}
}

func TestServiceLookup(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
	e.publish(t, "echo", "priced", map[string]any{"price": "0.25"})
	if p, ok, err := e.svc.Lookup(context.Background(), "skill:priced"); !ok || p != 250_000 || err != nil {
		t.Errorf("Lookup(skill:priced) = %d, %v, %v; want 250000", p, ok, err)
	}
	for _, id := range []string{"skill:nope", "priced", "generate-text"} {
		if _, ok, err := e.svc.Lookup(context.Background(), id); ok || err != nil {
			t.Errorf("Lookup(%s) = found %v, %v; want not found, no error", id, ok, err)
		}
	}
}

// A manifest cannot lift the operator's maxima, even one stored before
// publishing checked them: a guest writing 64 GB under a manifest asking for
// 9e18 bytes of output and 2e9 host calls is stopped at the 1 MiB default,
// and the host never holds more than that.
func TestServiceHoldsManifestsToTheMaxima(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{}) // no maxima configured, as the app had
	huge := map[string]any{"maxOutputBytes": int64(9_000_000_000_000_000_000), "maxHostCalls": 2_000_000_000}
	e.publish(t, "flood", "flood", map[string]any{"limits": huge})
	if got := e.svc.Runtime.limits(abi.Limits{MaxOutput: 9e18, MaxHostCalls: 2e9}); got.MaxOutput != DefaultMaxOutput ||
		got.MaxHostCalls != DefaultMaxHostCalls {
		t.Fatalf("limits(9e18 bytes, 2e9 calls) = %+v; want the defaults %d and %d", got, DefaultMaxOutput, DefaultMaxHostCalls)
	}
	// Compile the module first: what is measured is the call, not loading
	// 13 MB of machine code.
	wantError(t, e.invoke(t, e.a, "skill:flood", `{"bytes":10,"chunk":10}`), 502, "SKILL_BAD_OUTPUT")
	for _, in := range []string{
		`{"bytes":64000000000,"chunk":65536}`,                 // stops at the first refusal
		`{"bytes":64000000000,"chunk":1048576,"ignore":true}`, // writes on regardless
	} {
		var r *provider.InvokeResponse
		start := time.Now()
		grew, how := memtest.PeakGrowth(func() { r = e.invoke(t, e.a, "skill:flood", in) })
		wantError(t, r, 502, "OUTPUT_TOO_LARGE")
		t.Logf("64 GB writer %s: refused in %v; peak memory growth %.1f MiB (%s)", in, time.Since(start), float64(grew)/(1<<20), how)
		if grew >= 64<<20 {
			t.Errorf("64 GB writer %s: the process grew by %d MiB at its peak; want under 64 MiB", in, grew>>20)
		}
	}
}

func TestServiceAgentIDMustBeTheCallers(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
	e.publish(t, "kvuser", "notes", map[string]any{"capabilities": []string{"kv"}})
	e.publish(t, "echo", "echo", nil)
	// No agents exist: a call naming one is refused, whoever calls.
	wantError(t, e.invoke(t, e.a, "skill:notes", `{"action":"set","agentId":"agt_1","key":"k","value":"v"}`), 404, "AGENT_NOT_FOUND")
	wantError(t, e.invoke(t, "", "skill:notes", `{"action":"get","agentId":"agt_1","key":"k"}`), 404, "AGENT_NOT_FOUND")
	if r := e.invoke(t, e.a, "skill:notes", `{"action":"set","key":"k","value":"v"}`); r.Error != nil {
		t.Errorf("set without agentId = %+v", r.Error)
	}
	// agentId means nothing to a skill without a key-value store.
	if r := e.invoke(t, e.a, "skill:echo", `{"agentId":"agt_1"}`); r.Error != nil {
		t.Errorf("echo with agentId = %+v; want it ignored", r.Error)
	}
	// Once agents exist, only the caller's own.
	e.svc.Agents = agents{e.a: {"agt_a"}}
	if r := e.invoke(t, e.a, "skill:notes", `{"action":"set","agentId":"agt_a","key":"k","value":"v"}`); r.Error != nil {
		t.Errorf("a naming her agent = %+v", r.Error)
	}
	wantError(t, e.invoke(t, e.b, "skill:notes", `{"action":"get","agentId":"agt_a","key":"k"}`), 404, "AGENT_NOT_FOUND")
}

func TestServiceKVQuota(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
	e.svc.Quota = Quota{KVKeys: 2, KVBytes: 100}
	e.publish(t, "kvuser", "notes", map[string]any{"capabilities": []string{"kv"}})
	for _, k := range []string{"k1", "k2"} {
		if r := e.invoke(t, e.a, "skill:notes", `{"action":"set","key":"`+k+`","value":"v"}`); r.Error != nil {
			t.Fatalf("set %s = %+v", k, r.Error)
		}
	}
	wantError(t, e.invoke(t, e.a, "skill:notes", `{"action":"set","key":"k3","value":"v"}`), 429, "KV_QUOTA_EXCEEDED")
	wantError(t, e.invoke(t, e.a, "skill:notes", `{"action":"set","key":"k1","value":"`+strings.Repeat("v", 100)+`"}`), 429, "KV_QUOTA_EXCEEDED")
	if r := e.invoke(t, e.a, "skill:notes", `{"action":"set","key":"k1","value":"w"}`); r.Error != nil {
		t.Errorf("overwriting within the quota = %+v", r.Error)
	}
	if r := e.invoke(t, e.b, "skill:notes", `{"action":"set","key":"k3","value":"v"}`); r.Error != nil {
		t.Errorf("another user's key = %+v; want a quota of their own", r.Error)
	}
}

// Every skill's http_fetch goes through one transport, which reuses
// connections and closes idle ones, rather than a transport per call that
// leaves its connection open behind it.
func TestServiceFetchSharesOneTransport(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	e := newService(t, Config{}, FetchPolicy{AllowHosts: []string{"127.0.0.1"}, AllowPrivate: true})
	http := map[string]any{"capabilities": []string{"http"}, "http": map[string]any{"hosts": []string{"127.0.0.1"}}}
	e.publish(t, "fetcher", "fetch-one", http)
	e.publish(t, "fetcher", "fetch-two", http)
	for _, id := range []string{"skill:fetch-one", "skill:fetch-two", "skill:fetch-one"} {
		if r := e.invoke(t, e.a, id, `{"url":"`+srv.URL+`/"}`); r.Error != nil || string(r.Output) != `{"body":"ok","status":200}` {
			t.Fatalf("%s = %s, %+v", id, r.Output, r.Error)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("three fetches by two skills opened %d connections; want 1, reused", n)
	}
	if tr := e.svc.fetch.transport; tr == nil || tr.IdleConnTimeout <= 0 || tr.IdleConnTimeout > time.Minute {
		t.Errorf("the shared transport = %+v; want idle connections closed within a minute", tr)
	}
}
