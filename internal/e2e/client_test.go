package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/sdk/client"
)

// newClient is the Go SDK's client for the test server, its answers checked
// against the OpenAPI document like servertest's clients'.
func newClient(t *testing.T, se *servertest.Env, opts ...client.Option) *client.Client {
	t.Helper()
	hc := &http.Client{Transport: se.Transport(t)}
	c, err := client.New(se.URL, append([]client.Option{client.WithUserAgent("e2e"), client.WithHTTPClient(hc)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The README's walkthrough, through the Go client against the whole
// gateway: register, sign in (session and CSRF), keys, a JWT, gateway calls
// (JSON and streamed), and typed refusals.
func TestClientWalkthrough(t *testing.T) {
	e := start(t, nil)
	ctx := context.Background()
	anon := newClient(t, e.Env)

	u, err := anon.Register(ctx, &client.RegisterRequest{Email: "ada@example.com", Password: "correct horse battery", Name: "Ada"})
	if err != nil || u.Email != "ada@example.com" || u.EmailVerified {
		t.Fatalf("Register = %+v, %v", u, err)
	}
	if err := e.Store.SetSubscription(ctx, u.ID, "solo", "active"); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Register(ctx, &client.RegisterRequest{Email: "ada@example.com", Password: "correct horse battery"}); client.StatusOf(err) != 409 {
		t.Errorf("registering twice = %v; want 409", err)
	}
	if err := anon.VerifyEmail(ctx, servertest.Token(t, e.Mail.WaitFor(t, "ada@example.com", servertest.VerifySubject))); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Login(ctx, "ada@example.com", "wrong password"); !client.IsCode(err, client.CodeInvalidCredentials) {
		t.Errorf("Login(wrong) = %v", err)
	}
	s, err := anon.Login(ctx, "ada@example.com", "correct horse battery")
	if err != nil || s.CSRFToken == "" || s.User.ID != u.ID || !s.User.EmailVerified {
		t.Fatalf("Login = %+v, %v", s, err)
	}
	// Creating a key changes state: the session's CSRF token goes with it.
	k, err := anon.CreateKey(ctx, "my laptop")
	if err != nil || !strings.HasPrefix(k.Key, "sk_") {
		t.Fatalf("CreateKey = %+v, %v", k, err)
	}
	if err := anon.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Me(ctx); !client.IsCode(err, client.CodeAuthRequired) {
		t.Errorf("Me after Logout = %v; want AUTH_REQUIRED", err)
	}

	c := newClient(t, e.Env, client.WithAPIKey(k.Key))
	keys, err := c.ListKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID || keys[0].KeyPreview == "" {
		t.Fatalf("ListKeys = %+v, %v", keys, err)
	}
	if got, err := c.GetKey(ctx, k.ID); err != nil || got.Name != "my laptop" || got.LastUsed == nil {
		t.Errorf("GetKey = %+v, %v; want it, used", got, err)
	}
	if _, err := c.GetKey(ctx, "key_nope"); client.StatusOf(err) != 404 {
		t.Errorf("GetKey(nope) = %v", err)
	}
	tok, err := c.Token(ctx)
	if err != nil || strings.Count(tok.Token, ".") != 2 {
		t.Fatalf("Token = %+v, %v", tok, err)
	}
	if me, err := newClient(t, e.Env, client.WithAPIKey(tok.Token)).Me(ctx); err != nil || me.Email != "ada@example.com" {
		t.Errorf("Me with the JWT = %+v, %v", me, err)
	}

	// The gateway: a priced id without a plan or credits is 402, typed.
	free, _ := e.user(t, "free@example.com", "")
	_, err = newClient(t, e.Env, client.WithAPIKey(strings.TrimPrefix(free.Header.Get("Authorization"), "Bearer "))).
		Call(ctx, "generate-text", map[string]any{"prompt": "hi"})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 402 || ce.Code != client.CodePaymentRequired || ce.RequestID == "" || ce.Fields["stripe"] == nil {
		t.Fatalf("an unpaid call = %#v; want a 402 *Error with the Stripe offer in Fields", err)
	}
	res, err := c.Call(ctx, "generate-text", map[string]any{"prompt": "hi there"})
	if err != nil || res.Plugin != "generate-text" || !bytes.Contains(res.Result, []byte("echo: hi there")) || res.Payment.Method != "stripe" {
		t.Fatalf("Call(generate-text) = %+v, %v", res, err)
	}
	res, err = c.Call(ctx, "test-echo", json.RawMessage(`{"x":1}`))
	if err != nil || !bytes.Contains(res.Result, []byte(`"x":1`)) || res.Payment.Method != "free" {
		t.Fatalf("Call(test-echo) = %+v (%s), %v", res, res.Result, err)
	}
	if _, err := c.Call(ctx, "nope", nil); !client.IsCode(err, client.CodeUnknownPlugin) {
		t.Errorf("Call(nope) = %v", err)
	}

	st, err := c.CallStream(ctx, "test-stream", map[string]any{"chunks": 3})
	if err != nil {
		t.Fatal(err)
	}
	var data, names []string
	for ev, err := range st.Events() {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, ev.Name)
		if ev.Name == "" {
			data = append(data, string(ev.Data))
		}
	}
	if len(data) != 3 || names[len(names)-1] != "usage" || st.Header.Get("X-Plugin-Id") != "test-stream" {
		t.Errorf("stream: events %q, data %q", names, data)
	}
	// A failure inside the stream arrives as the Stream's error.
	st, err = c.CallStream(ctx, "test-stream", map[string]any{"chunks": 3, "failAt": 2})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = st.Each(func(client.Event) error { n++; return nil })
	if n < 1 || !client.IsCode(err, "UPSTREAM_ERROR") || client.StatusOf(err) != 0 {
		t.Errorf("a failing stream: %d events, then %v", n, err)
	}

	if err := c.DeleteKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListKeys(ctx); !client.IsCode(err, client.CodeInvalidAPIKey) || client.StatusOf(err) != 401 {
		t.Errorf("a deleted key = %v; want 401 INVALID_API_KEY", err)
	}
}

// Skills through the client: publish (streamed, with progress), the
// refusals decoded field by field, the marketplace, and calls.
func TestClientSkills(t *testing.T) {
	se, _ := mountApp(t, map[string]string{"AGENTBOT_SKILL_DIR": t.TempDir(), "AGENTBOT_PLUGIN_DIR": t.TempDir()})
	ctx := context.Background()
	sc := se.Client(t)
	_, csrf := sc.SignUp("ada@example.com", "correct horse battery")
	key := sc.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", csrf).Expect(t, 201, "").Str("key")
	c := newClient(t, se, client.WithAPIKey(key))

	wasm, err := os.ReadFile(filepath.Join(moduleRoot, "examples/skill-hello/hello.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := os.ReadFile(filepath.Join(moduleRoot, "examples/skill-hello/manifest.json"))
	var last, total int64
	pub, err := c.PublishSkill(ctx, &client.PublishRequest{Module: bytes.NewReader(wasm), Size: int64(len(wasm)),
		ModuleName: "hello.wasm", Manifest: manifest, Progress: func(sent, tot int64) { last, total = sent, tot }})
	if err != nil {
		t.Fatal(err)
	}
	if pub.GatewayID != "skill:hello" || pub.Skill.Version != "1.0.0" || len(pub.Skill.SHA256) != 64 ||
		last != total || total < int64(len(wasm)) {
		t.Errorf("PublishSkill = %+v; progress %d of %d", pub, last, total)
	}

	// Refusals carry what was wrong in Fields.
	over := []byte(`{"name":"greedy","version":"1.0.0","description":"d","category":"examples","limits":{"maxOutputBytes":99999999}}`)
	_, err = c.PublishSkill(ctx, &client.PublishRequest{Module: bytes.NewReader(wasm), Size: -1, Manifest: over})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 400 || ce.Code != client.CodeInvalidManifest ||
		ce.Fields["field"] != "limits.maxOutputBytes" || ce.Fields["limit"] != float64(1<<20) {
		t.Errorf("an over-limit manifest = %#v", err)
	}
	schema := []byte(`{"name":"schemed","version":"1.0.0","description":"d","category":"examples","actions":["greet"],
		"inputSchemas":{"greet":{"type":"object","properties":{"action":{"type":"string"}}}}}`)
	if _, err := c.PublishSkill(ctx, &client.PublishRequest{Module: bytes.NewReader(wasm), Size: -1, Manifest: schema}); !errors.As(err, &ce) ||
		ce.Fields["field"] != "inputSchemas.greet" {
		t.Errorf("a schema declaring action = %v (fields %v)", err, ce.Fields)
	}
	if _, err := c.PublishSkill(ctx, &client.PublishRequest{Module: bytes.NewReader(wasm[:100]), Size: 100,
		Manifest: bytes.Replace(manifest, []byte(`"1.0.0"`), []byte(`"1.0.1"`), 1)}); !client.IsCode(err, client.CodeInvalidModule) {
		t.Errorf("a broken module = %v", err)
	}

	list, err := c.ListSkills(ctx, &client.ListSkillsOptions{Category: "examples"})
	if err != nil || len(list.Skills) != 1 || list.Skills[0].Name != "hello" || len(list.Skills[0].Actions) != 2 {
		t.Errorf("ListSkills = %+v, %v", list, err)
	}
	if sk, err := c.GetSkill(ctx, "hello"); err != nil || sk.SHA256 != pub.Skill.SHA256 || len(sk.Capabilities) != 1 {
		t.Errorf("GetSkill = %+v, %v", sk, err)
	}
	if _, err := c.GetSkill(ctx, "nope"); client.StatusOf(err) != 404 {
		t.Errorf("GetSkill(nope) = %v", err)
	}
	out, err := c.CallSkill(ctx, "hello", map[string]string{"action": "hello", "name": "Ada"})
	if err != nil || string(out) != `{"greeting":"Hello, Ada!"}` {
		t.Errorf("CallSkill = %s, %v", out, err)
	}
	res, err := c.Call(ctx, "skill:hello", map[string]string{"action": "count"})
	if err != nil || string(res.Result) != `{"count":1}` {
		t.Errorf("Call(skill:hello) = %+v, %v", res, err)
	}
	if _, err := c.CallSkill(ctx, "hello", map[string]string{"action": "bye"}); !client.IsCode(err, "INVALID_ACTION") {
		t.Errorf("an unknown action = %v", err)
	}
}

// Agents through the client: provision, install a skill, chat (JSON and
// streamed events).
func TestClientAgents(t *testing.T) {
	e := startAgents(t)
	ctx := context.Background()
	sc := e.Client(t)
	_, csrf := sc.SignUp("bo@example.com", "password-bo")
	key := sc.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", csrf).Expect(t, 201, "").Str("key")
	c := newClient(t, e.Env, client.WithAPIKey(key))

	if _, err := c.ProvisionAgent(ctx, &client.ProvisionRequest{Name: "Splitter"}); !client.IsCode(err, client.CodePaymentRequired) {
		t.Fatalf("provisioning without a plan = %v; want 402", err)
	}
	bo, err := c.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.SetSubscription(ctx, bo.ID, "solo", "active"); err != nil {
		t.Fatal(err)
	}
	a, err := c.ProvisionAgent(ctx, &client.ProvisionRequest{Name: "Splitter", Model: "gpt-4o-mini",
		Config: map[string]any{"systemPrompt": "You split royalties."}})
	if err != nil || !strings.HasPrefix(a.ID, "agt_") || a.Status == "" || a.WebsocketURL == "" {
		t.Fatalf("ProvisionAgent = %+v, %v", a, err)
	}
	if in, err := c.InstallSkill(ctx, a.ID, "instant-split", ""); err != nil || !in.Installed || in.Version == "" {
		t.Fatalf("InstallSkill = %+v, %v", in, err)
	}
	got, err := c.GetAgent(ctx, a.ID)
	if err != nil || got.Name != "Splitter" || len(got.Skills) != 1 || got.Skills[0].Skill != "instant-split" {
		t.Errorf("GetAgent = %+v, %v", got, err)
	}
	if _, err := c.GetAgent(ctx, "agt_nope"); !client.IsCode(err, client.CodeAgentNotFound) {
		t.Errorf("GetAgent(nope) = %v", err)
	}

	reply, err := c.Chat(ctx, &client.ChatRequest{AgentID: a.ID, Message: "simulate my streaming earnings"})
	if err != nil || !strings.HasPrefix(reply.Reply, "The simulation says: ") || reply.RunID == "" {
		t.Fatalf("Chat = %+v, %v", reply, err)
	}

	st, err := c.ChatStream(ctx, &client.ChatRequest{AgentID: a.ID, Message: "hello there"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	err = st.Each(func(ev client.Event) error {
		names = append(names, ev.Name)
		if !json.Valid(ev.Data) {
			t.Errorf("event %s: %s is not JSON", ev.Name, ev.Data)
		}
		return nil
	})
	if err != nil || len(names) < 2 || names[len(names)-1] != "run.finished" {
		t.Errorf("ChatStream events = %q, %v; want the run's events ending with run.finished", names, err)
	}
}

// The client's named codes are the server's: each is in core/api's table.
func TestClientCodesAreTheServers(t *testing.T) {
	for _, code := range []string{client.CodeAuthRequired, client.CodeInvalidAPIKey, client.CodeTokenInvalid,
		client.CodeCSRFRequired, client.CodeAdminRequired, client.CodeInvalidCredentials, client.CodeValidationError,
		client.CodeNotFound, client.CodePaymentRequired, client.CodeRateLimited, client.CodeUnknownPlugin,
		client.CodePluginUnavailable, client.CodePluginTimeout, client.CodeInvalidManifest, client.CodeInvalidModule,
		client.CodeVersionExists, client.CodeSkillNameTaken, client.CodeSkillNotFound, client.CodePublishQuotaExceeded,
		client.CodeAgentNotFound, client.CodeAgentNotRunning, client.CodeUserExists} {
		if api.Code(code).Message() == "" {
			t.Errorf("client code %s is not in core/api/codes.go", code)
		}
	}
}
