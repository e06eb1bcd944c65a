package agents_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/agentbot/gateway/agents"
	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
)

// env is a server with the agent endpoints mounted (no gateway: these tests
// do not run the loop).
type env struct {
	*servertest.Env
	Agents *agents.Service
}

func newEnv(t *testing.T, backend string) *env {
	t.Helper()
	return newEnvVars(t, backend, nil)
}

// newEnvVars is newEnv with more configuration variables.
func newEnvVars(t *testing.T, backend string, more map[string]string) *env {
	t.Helper()
	return newEnvWith(t, backend, more, nil)
}

// newEnvWith is newEnvVars with configure applied to the service before the
// server starts.
func newEnvWith(t *testing.T, backend string, more map[string]string, configure func(*agents.Service)) *env {
	t.Helper()
	e := &env{}
	vars := map[string]string{"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/agents=100000-M,/api/instance=100000-M",
		"AGENTBOT_PUBLIC_URL": "https://agents.test"}
	maps.Copy(vars, more)
	e.Env = servertest.New(t, backend, vars,
		func(srv *server.Server) ([]route.Route, error) {
			box, err := secrets.New(srv.Config.MasterKey)
			if err != nil {
				return nil, err
			}
			plans, err := billing.LoadPlans(srv.Config.Billing)
			if err != nil {
				return nil, err
			}
			e.Agents = &agents.Service{Store: srv.Store, Secrets: box, Plans: plans, Models: []string{"gpt-4o-mini", "gpt-4o"},
				DefaultModel: "gpt-4o-mini", PublicURL: srv.Config.PublicURL, Version: "test-2"}
			if configure != nil {
				configure(e.Agents)
			}
			return e.Agents.Routes(), nil
		})
	return e
}

func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) { fn(t, newEnv(t, b)) })
	}
}

// user signs up a user, with plan active when plan != "".
func (e *env) user(t *testing.T, email, plan string) (*servertest.Client, string, string) {
	t.Helper()
	c := e.Client(t)
	id, csrf := c.SignUp(email, "password-"+email)
	if plan != "" {
		if err := e.Store.SetSubscription(context.Background(), id, plan, "active"); err != nil {
			t.Fatal(err)
		}
	}
	c.Header.Set("X-CSRF-Token", csrf)
	return c, id, csrf
}

func TestProvisionChecksInOrder(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		anon := e.Client(t)
		anon.Do("POST", "/api/agents/provision", map[string]any{"name": "x"}).Expect(t, 401, "AUTH_REQUIRED")
		free, _, _ := e.user(t, "free@example.com", "")
		free.Do("POST", "/api/agents/provision", map[string]any{"name": "  "}).Expect(t, 400, "VALIDATION_ERROR")
		free.Do("POST", "/api/agents/provision", map[string]any{"name": "x", "model": "gpt-9"}).Expect(t, 400, "VALIDATION_ERROR")
		free.Do("POST", "/api/agents/provision", map[string]any{"name": "x", "config": map[string]any{"maxRoundTrips": 99}}).
			Expect(t, 400, "VALIDATION_ERROR")
		free.Do("POST", "/api/agents/provision", map[string]any{"name": "x", "config": map[string]any{"maxRoundTrip": 9}}).
			Expect(t, 400, "VALIDATION_ERROR")
		free.Do("POST", "/api/agents/provision", map[string]any{"name": "x"}).Expect(t, 402, "PAYMENT_REQUIRED")

		solo, _, _ := e.user(t, "solo@example.com", "solo")
		r := solo.Do("POST", "/api/agents/provision", map[string]any{"name": "Booker", "config": map[string]any{"systemPrompt": "Be brief"}}).
			Expect(t, 201, "")
		a, _ := r.JSON["agent"].(map[string]any)
		id, _ := a["id"].(string)
		if a["status"] != "running" || a["model"] != "gpt-4o-mini" || a["websocketUrl"] != "wss://agents.test/api/agents/"+id+"/live" {
			t.Errorf("provisioned agent = %v", a)
		}
		r = solo.Do("POST", "/api/agents/provision", map[string]any{"name": "Second"}).Expect(t, 429, "TIER_LIMIT")
		if r.JSON["current"] != float64(1) || r.JSON["limit"] != float64(1) {
			t.Errorf("429 body = %s; want current 1, limit 1", r.Body)
		}
		r = solo.Do("GET", "/api/agents", nil).Expect(t, 200, "")
		if r.JSON["count"] != float64(1) || r.JSON["status"] != "ok" {
			t.Errorf("GET /api/agents = %s", r.Body)
		}
		solo.Do("GET", "/api/agents/provision", nil).Expect(t, 200, "")
		r = solo.Do("GET", "/api/agents/"+id+"/config", nil).Expect(t, 200, "")
		if cfg, _ := r.JSON["config"].(map[string]any); cfg["systemPrompt"] != "Be brief" {
			t.Errorf("config = %s", r.Body)
		}
		solo.Do("PUT", "/api/agents/"+id+"/config", map[string]any{"model": "nope"}).Expect(t, 400, "VALIDATION_ERROR")
		solo.Do("PUT", "/api/agents/"+id+"/config", map[string]any{"config": map[string]any{"temperature": 3}}).Expect(t, 400, "VALIDATION_ERROR")
		r = solo.Do("PUT", "/api/agents/"+id+"/config", map[string]any{"model": "gpt-4o", "config": map[string]any{"runBudgetMicroUsd": 20000}}).
			Expect(t, 200, "")
		if r.JSON["model"] != "gpt-4o" || r.JSON["status"] != "updated" {
			t.Errorf("PUT config = %s", r.Body)
		}
	})
}

func TestAnotherUsersAgentIsNotFoundEverywhere(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		owner, _, _ := e.user(t, "owner@example.com", "solo")
		id := owner.Do("POST", "/api/agents/provision", map[string]any{"name": "Mine"}).Expect(t, 201, "").JSON["agent"].(map[string]any)["id"].(string)
		other, _, _ := e.user(t, "other@example.com", "network")
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/agents/" + id}, {"GET", "/api/agents/" + id + "/config"}, {"PUT", "/api/agents/" + id + "/config"},
			{"GET", "/api/agents/" + id + "/messages"}, {"GET", "/api/agents/" + id + "/stats"},
			{"GET", "/api/instance/" + id}, {"GET", "/api/instance/" + id + "/stats"}, {"GET", "/api/instance/" + id + "/token"},
			{"POST", "/api/instance/" + id + "/token"}, {"POST", "/api/instance/" + id + "/stop"},
			{"POST", "/api/instance/" + id + "/reset-memory"}, {"GET", "/api/memory?agentId=" + id},
		} {
			var body any
			if c.method != "GET" {
				body = map[string]any{}
			}
			other.Do(c.method, c.path, body).Expect(t, 404, "AGENT_NOT_FOUND")
		}
		other.Do("POST", "/api/memory", map[string]any{"agentId": id, "key": "k", "memory": "v"}).Expect(t, 404, "AGENT_NOT_FOUND")
		other.Do("POST", "/api/skills", map[string]any{"agentId": id, "skillId": "x"}).Expect(t, 404, "AGENT_NOT_FOUND")
		if r := other.Do("GET", "/api/agents", nil).Expect(t, 200, ""); r.JSON["count"] != float64(0) {
			t.Errorf("other's list = %s", r.Body)
		}
		// The owner's agent is untouched.
		if r := owner.Do("GET", "/api/agents/"+id, nil).Expect(t, 200, ""); r.JSON["agent"].(map[string]any)["status"] != "running" {
			t.Errorf("owner's agent = %s", r.Body)
		}
	})
}

func TestInstanceStateMachine(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		c, _, _ := e.user(t, "i@example.com", "solo")
		id := c.Do("POST", "/api/agents/provision", map[string]any{"name": "A"}).Expect(t, 201, "").JSON["agent"].(map[string]any)["id"].(string)
		base := "/api/instance/" + id + "/"
		r := c.Do("POST", base+"start", nil).Expect(t, 409, "INVALID_TRANSITION")
		if r.JSON["status"] != "running" {
			t.Errorf("409 names the current status: %s", r.Body)
		}
		c.Do("POST", base+"stop", nil).Expect(t, 200, "")
		c.Do("POST", base+"stop", nil).Expect(t, 409, "INVALID_TRANSITION")
		if r := c.Do("POST", base+"start", nil).Expect(t, 200, ""); r.JSON["status"] != "running" {
			t.Errorf("start = %s", r.Body)
		}
		c.Do("POST", base+"restart", nil).Expect(t, 200, "")
		if r := c.Do("POST", base+"update", nil).Expect(t, 200, ""); r.JSON["version"] != "test-2" {
			t.Errorf("update = %s", r.Body)
		}
		if r := c.Do("POST", base+"repair", nil).Expect(t, 200, ""); r.JSON["message"] != "Agent repaired successfully" {
			t.Errorf("repair = %s", r.Body)
		}
		r = c.Do("GET", "/api/instance/"+id+"/stats", nil).Expect(t, 200, "")
		if r.JSON["restarts"] != float64(1) || r.JSON["status"] != "running" || r.JSON["plan"] != "solo" {
			t.Errorf("stats = %s", r.Body)
		}
		if _, ok := r.JSON["cpu"]; ok {
			t.Errorf("stats invent a CPU figure: %s", r.Body)
		}
	})
}

func TestInstanceTokenOpensOnlyItsAgent(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		c, uid, _ := e.user(t, "t@example.com", "collective")
		a := c.Do("POST", "/api/agents/provision", map[string]any{"name": "A"}).Expect(t, 201, "").JSON["agent"].(map[string]any)["id"].(string)
		b := c.Do("POST", "/api/agents/provision", map[string]any{"name": "B"}).Expect(t, 201, "").JSON["agent"].(map[string]any)["id"].(string)
		// Concurrent first uses agree on one token.
		toks := make([]string, 8)
		var wg sync.WaitGroup
		for i := range toks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				toks[i] = c.Do("GET", "/api/instance/"+a+"/token", nil).Expect(t, 200, "").Str("token")
			}()
		}
		wg.Wait()
		for _, tok := range toks {
			if tok != toks[0] || len(tok) != 64 {
				t.Fatalf("first uses returned %q; want one 64-hex token", toks)
			}
		}
		ctx := context.Background()
		if got, err := e.Agents.ResolveToken(ctx, a, toks[0]); err != nil || got != uid {
			t.Errorf("ResolveToken(a, a's token) = %q, %v", got, err)
		}
		if _, err := e.Agents.ResolveToken(ctx, b, toks[0]); err == nil {
			t.Error("a's token opened b")
		}
		rotated := c.Do("POST", "/api/instance/"+a+"/token", nil).Expect(t, 200, "").Str("token")
		if _, err := e.Agents.ResolveToken(ctx, a, toks[0]); err == nil || rotated == toks[0] {
			t.Error("the rotated-out token still opens the agent")
		}
		if got := c.Do("GET", "/api/instance/"+a+"/token", nil).Str("token"); got != rotated {
			t.Errorf("token after rotation = %q; want %q", got, rotated)
		}
		// At rest the token is sealed: the row holds neither it nor its hex.
		sealed, err := e.Store.InstanceToken(ctx, uid, a)
		if err != nil || strings.Contains(string(sealed), rotated) {
			t.Errorf("stored token = %q, %v", sealed, err)
		}
	})
}

func TestMemoryBoundsStoreNothing(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		c, _, _ := e.user(t, "m@example.com", "solo")
		id := c.Do("POST", "/api/agents/provision", map[string]any{"name": "A"}).Expect(t, 201, "").JSON["agent"].(map[string]any)["id"].(string)
		c.Do("POST", "/api/memory", map[string]any{"agentId": id, "key": "venue", "memory": map[string]any{"name": "Fabric", "cap": 1500}}).
			Expect(t, 200, "")
		many := map[string]any{}
		for i := range 51 {
			many[fmt.Sprint("k", i)] = i
		}
		c.Do("POST", "/api/memory", map[string]any{"agentId": id, "memory": many}).Expect(t, 400, "VALIDATION_ERROR")
		big := map[string]any{"ok": 1, "huge": strings.Repeat("x", agents.MaxMemoryValueBytes)}
		r := c.Do("POST", "/api/memory", map[string]any{"agentId": id, "memory": big}).Expect(t, 400, "VALIDATION_ERROR")
		if !strings.Contains(r.Str("error"), "huge") {
			t.Errorf("the error names the key: %s", r.Body)
		}
		c.Do("POST", "/api/memory", map[string]any{"memory": map[string]any{"a": 1}}).Expect(t, 400, "VALIDATION_ERROR")
		c.Do("POST", "/api/memory", map[string]any{"agentId": id, "key": "", "memory": 1}).Expect(t, 400, "VALIDATION_ERROR")
		r = c.Do("GET", "/api/memory?agentId="+id, nil).Expect(t, 200, "")
		mem, _ := r.JSON["memory"].(map[string]any)
		if r.JSON["count"] != float64(1) || len(mem) != 1 || mem["venue"].(map[string]any)["cap"] != float64(1500) {
			t.Errorf("memory after refused writes = %s; want only venue", r.Body)
		}
		if r := c.Do("GET", "/api/memory", nil).Expect(t, 200, ""); r.JSON["agentId"] != "all" {
			t.Errorf("all memory = %s", r.Body)
		}
		if r := c.Do("POST", "/api/instance/"+id+"/reset-memory", nil).Expect(t, 200, ""); r.JSON["cleared"] != float64(1) {
			t.Errorf("reset-memory = %s", r.Body)
		}
		if r := c.Do("GET", "/api/memory?agentId="+id, nil).Expect(t, 200, ""); r.JSON["count"] != float64(0) {
			t.Errorf("memory after reset = %s", r.Body)
		}
	})
}

func TestSkillInstallsPinAndCount(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, v := range []string{"1.0.0", "1.1.0"} {
			if _, err := e.Store.PublishSkill(ctx, "", "Agentbot", store.SkillRelease{Name: "splitter", Version: v,
				Description: "d", Category: "payments", Manifest: []byte(`{}`), SHA256: "sha" + v, WASM: []byte(v)}); err != nil {
				t.Fatal(err)
			}
		}
		c, _, _ := e.user(t, "s@example.com", "solo")
		id := c.Do("POST", "/api/agents/provision", map[string]any{"name": "A"}).Expect(t, 201, "").JSON["agent"].(map[string]any)["id"].(string)
		c.Do("POST", "/api/skills", map[string]any{"agentId": id}).Expect(t, 400, "VALIDATION_ERROR")
		c.Do("POST", "/api/skills", map[string]any{"agentId": id, "skillId": "nope"}).Expect(t, 404, "SKILL_NOT_FOUND")
		r := c.Do("POST", "/api/skills", map[string]any{"agentId": id, "skillId": "splitter", "version": "1.0.0"}).Expect(t, 201, "")
		if r.JSON["version"] != "1.0.0" || r.JSON["latest"] != "1.1.0" {
			t.Errorf("install = %s", r.Body)
		}
		c.Do("POST", "/api/skills", map[string]any{"agentId": id, "skillId": "splitter"}).Expect(t, 200, "")
		sk, _ := e.Store.Skill(ctx, "splitter")
		if sk.Downloads != 1 {
			t.Errorf("downloads = %d; want 1", sk.Downloads)
		}
		r = c.Do("GET", "/api/agents/"+id, nil).Expect(t, 200, "")
		skills := r.JSON["agent"].(map[string]any)["skills"].([]any)
		if len(skills) != 1 || skills[0].(map[string]any)["version"] != "1.0.0" || skills[0].(map[string]any)["upgradeAvailable"] != true {
			t.Errorf("installed skills = %s", r.Body)
		}
		if r := c.Do("POST", "/api/skills", map[string]any{"agentId": id, "skillId": "splitter", "upgrade": true}).Expect(t, 200, ""); r.JSON["version"] != "1.1.0" {
			t.Errorf("upgrade = %s", r.Body)
		}
		c.Do("DELETE", "/api/skills?agentId="+id+"&skillId=splitter", nil).Expect(t, 200, "")
		c.Do("DELETE", "/api/skills", map[string]any{"agentId": id, "skillId": "splitter"}).Expect(t, 404, "SKILL_NOT_INSTALLED")
	})
}
