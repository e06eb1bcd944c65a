package heartbeat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/agentbot/gateway/agents/heartbeat"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
)

func apiEnv(t *testing.T, backend string) *servertest.Env {
	return servertest.New(t, backend, nil, func(srv *server.Server) ([]route.Route, error) {
		return (&heartbeat.API{Store: srv.Store}).Routes(), nil
	})
}

// signedIn signs a user up and creates an agent of theirs.
func signedIn(t *testing.T, e *servertest.Env, email string) (c *servertest.Client, userID, agentID string) {
	t.Helper()
	c = e.Client(t)
	userID, csrf := c.SignUp(email, "password-"+email)
	c.Header.Set("X-CSRF-Token", csrf)
	a, err := e.Store.CreateAgent(context.Background(), userID, store.NewAgent{Name: "pulse", Model: "gpt-4o-mini"}, -1)
	if err != nil {
		t.Fatal(err)
	}
	return c, userID, a.ID
}

func TestHeartbeatEndpoints(t *testing.T) {
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := apiEnv(t, backend)
			e.Client(t).Do("GET", "/api/heartbeat", nil).Expect(t, 401, "AUTH_REQUIRED")
			c, owner, id := signedIn(t, e, "owner@example.com")

			// Each invalid field is a 400 that names it; nothing is stored.
			for _, tc := range []struct {
				body  map[string]any
				code  string
				field string
			}{
				{map[string]any{"frequency": "1h"}, "VALIDATION_ERROR", "agentId"},
				{map[string]any{"agentId": id, "frequency": "5m"}, "VALIDATION_ERROR", "frequency"},
				{map[string]any{"agentId": id, "frequency": 3}, "INVALID_FIELD_TYPE", "frequency"},
				{map[string]any{"agentId": id, "enabled": "yes"}, "INVALID_FIELD_TYPE", "enabled"},
				{map[string]any{"agentId": id, "prompt": strings.Repeat("x", heartbeat.MaxPromptChars+1)}, "VALIDATION_ERROR", "prompt"},
			} {
				r := c.Do("POST", "/api/heartbeat", tc.body).Expect(t, 400, tc.code)
				if !strings.Contains(r.Str("error"), tc.field) {
					t.Errorf("POST %v → %q; want the message to name %s", tc.body, r.Str("error"), tc.field)
				}
			}
			c.Do("GET", "/api/heartbeat?agentId="+id, nil).Expect(t, 404, "NOT_FOUND")

			r := c.Do("POST", "/api/heartbeat", map[string]any{"agentId": id}).Expect(t, 200, "")
			hb, _ := r.JSON["heartbeat"].(map[string]any)
			if r.JSON["success"] != true || r.JSON["frequency"] != "3h" || r.JSON["enabled"] != true || r.JSON["nextHeartbeat"] == nil ||
				hb["agentId"] != id || hb["frequency"] != "3h" || hb["nextRunAt"] == nil || hb["lastOutcome"] != nil {
				t.Errorf("POST defaults = %s; want 3h, enabled, a next run", r.Body)
			}
			r = c.Do("POST", "/api/heartbeat", map[string]any{"agentId": id, "frequency": "30m", "prompt": "Check the tour dates"}).
				Expect(t, 200, "")
			if r.JSON["frequency"] != "30m" {
				t.Errorf("POST 30m = %s", r.Body)
			}
			r = c.Do("GET", "/api/heartbeat?agentId="+id, nil).Expect(t, 200, "")
			hb, _ = r.JSON["heartbeat"].(map[string]any)
			if hb["frequency"] != "30m" || hb["prompt"] != "Check the tour dates" || hb["enabled"] != true {
				t.Errorf("GET = %s; want 30m with the prompt", r.Body)
			}
			if runs, ok := r.JSON["runs"].([]any); !ok || len(runs) != 0 {
				t.Errorf("GET runs = %v; want an empty list", r.JSON["runs"])
			}
			r = c.Do("POST", "/api/heartbeat", map[string]any{"agentId": id, "enabled": false}).Expect(t, 200, "")
			if hb, _ := r.JSON["heartbeat"].(map[string]any); hb["enabled"] != false || hb["nextRunAt"] != nil || hb["frequency"] != "30m" {
				t.Errorf("disable = %s; want disabled, no next run, frequency kept", r.Body)
			}
			r = c.Do("GET", "/api/heartbeat", nil).Expect(t, 200, "")
			if r.JSON["count"] != float64(1) {
				t.Errorf("GET list = %s; want one", r.Body)
			}

			// Another user's agent is 404 for every method, and their list is empty.
			other, _, otherAgent := signedIn(t, e, "other@example.com")
			other.Do("GET", "/api/heartbeat?agentId="+id, nil).Expect(t, 404, "AGENT_NOT_FOUND")
			other.Do("POST", "/api/heartbeat", map[string]any{"agentId": id, "frequency": "1h"}).Expect(t, 404, "AGENT_NOT_FOUND")
			other.Do("DELETE", "/api/heartbeat?agentId="+id, nil).Expect(t, 404, "AGENT_NOT_FOUND")
			other.Do("POST", "/api/heartbeat", map[string]any{"agentId": "agt_nope"}).Expect(t, 404, "AGENT_NOT_FOUND")
			if r := other.Do("GET", "/api/heartbeat", nil).Expect(t, 200, ""); r.JSON["count"] != float64(0) {
				t.Errorf("other's list = %s; want none", r.Body)
			}
			c.Do("GET", "/api/heartbeat?agentId="+otherAgent, nil).Expect(t, 404, "AGENT_NOT_FOUND")
			if h, err := e.Store.Heartbeat(context.Background(), owner, id); err != nil || h.Frequency.String() != "30m0s" {
				t.Errorf("after the other user's attempts = %+v, %v; want 30m unchanged", h, err)
			}

			c.Do("DELETE", "/api/heartbeat", nil).Expect(t, 400, "VALIDATION_ERROR")
			if r := c.Do("DELETE", "/api/heartbeat?agentId="+id, nil).Expect(t, 200, ""); r.JSON["removed"] != true {
				t.Errorf("DELETE = %s; want removed", r.Body)
			}
			c.Do("GET", "/api/heartbeat?agentId="+id, nil).Expect(t, 404, "NOT_FOUND")
			if r := c.Do("DELETE", "/api/heartbeat?agentId="+id, nil).Expect(t, 200, ""); r.JSON["removed"] != false {
				t.Errorf("second DELETE = %s; want removed false", r.Body)
			}
		})
	}
}
