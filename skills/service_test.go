package skills

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
	"github.com/agentbot/gateway/sdk/provider"
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

func TestServiceKVIsScopedToUserAgentAndSkill(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
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
	if got := get(e.b, "skill:kv-one", "default"); got != `{"found":true,"value":"b's"}` {
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
	start := time.Now()
	wantError(t, e.invoke(t, e.a, "skill:spinner", `{}`), 504, "SKILL_TIMEOUT")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the manifest's 200ms deadline stopped the call after %v", d)
	}

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
	if p, ok := e.svc.Lookup(context.Background(), "skill:priced"); !ok || p != 250_000 {
		t.Errorf("Lookup(skill:priced) = %d, %v; want 250000", p, ok)
	}
	for _, id := range []string{"skill:nope", "priced", "generate-text"} {
		if _, ok := e.svc.Lookup(context.Background(), id); ok {
			t.Errorf("Lookup(%s) found a skill", id)
		}
	}
}
