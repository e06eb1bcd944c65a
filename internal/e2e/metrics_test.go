package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// /metrics after known traffic: each series counts exactly what was sent.
func TestMetricsAfterKnownTraffic(t *testing.T) {
	e := start(t, map[string]string{"ADMIN_EMAILS": "root@example.com",
		"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/v1/gateway=100000-M,/api/agents=3-M", "AGENTBOT_SKILL_DIR": t.TempDir()})
	c, _ := e.user(t, "paid@example.com", "solo")
	for range 4 { // three allowed, the fourth refused
		c.Do("GET", "/api/agents", nil)
	}
	for range 2 {
		c.Do("POST", "/api/v1/gateway", map[string]any{"x": 1}, "X-Plugin-Id", "test-echo").Expect(t, 200, "")
	}
	publish(t, c, skillWasm(t, guestDir+"echo"), manifest("echo", "1.0.0", nil)).Expect(t, 201, "")
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:echo", "agentId": "agt_1", "text": "hi"}).Expect(t, 200, "")
	publish(t, c, skillWasm(t, guestDir+"flood"), manifest("flood", "1.0.0", nil)).Expect(t, 201, "")
	publish(t, c, skillWasm(t, guestDir+"hog"), manifest("hog", "1.0.0", nil)).Expect(t, 201, "")
	c.Do("POST", "/api/skills/flood", map[string]any{"bytes": 4 << 20, "chunk": 64 << 10}).Expect(t, 502, "OUTPUT_TOO_LARGE")
	c.Do("POST", "/api/skills/hog", map[string]any{"chunk": 256 << 20, "times": 1}).Expect(t, 502, "SKILL_CRASHED")
	c.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "test-hang").Expect(t, 504, "PLUGIN_TIMEOUT")

	c.Do("GET", "/metrics", nil).Expect(t, 403, "ADMIN_REQUIRED")
	admin, _ := e.user(t, "root@example.com", "")
	r := admin.Do("GET", "/metrics", nil).Expect(t, 200, "")
	body := string(r.Body)
	for _, want := range []string{
		`agentbot_http_requests_total{code="200",method="GET",route="/api/agents"} 3`,
		`agentbot_http_requests_total{code="429",method="GET",route="/api/agents"} 1`,
		`agentbot_http_requests_total{code="403",method="GET",route="/metrics"} 1`,
		`agentbot_rate_limited_total{rule="agents"} 1`,
		`agentbot_plugin_calls_total{outcome="ok",plugin="test-echo"} 2`,
		`agentbot_plugin_call_duration_seconds_count{plugin="test-echo"} 2`,
		`agentbot_skill_calls_total{outcome="ok",skill="echo"} 1`,
		`agentbot_skill_calls_total{outcome="failed",skill="flood"} 1`,
		`agentbot_skill_instance_start_seconds_count{skill="echo"} 1`,
		`agentbot_skill_calls_total{outcome="crashed",skill="hog"} 1`,
		`agentbot_plugin_calls_total{outcome="timeout",plugin="test-hang"} 1`,
		`agentbot_payments_total{method="free",outcome="covered"} 6`, // this test's ids are free
		`agentbot_plugin_up{plugin="test"} 1`,
		`agentbot_plugin_restarts{plugin="test"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want+" ") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "agentbot_") && !strings.Contains(l, "_bucket") {
				t.Log(l)
			}
		}
	}
}

// With AGENTBOT_METRICS_ADDR, /metrics moves to its own listener (no
// credentials: it is meant for a private address) and leaves the API's.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	addr := freeAddr(t)
	e := start(t, map[string]string{"AGENTBOT_METRICS_ADDR": addr})
	c, _ := e.user(t, "m@example.com", "solo")
	c.Do("GET", "/api/agents", nil).Expect(t, 200, "")
	c.Do("GET", "/metrics", nil).Expect(t, 404, "")
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `agentbot_http_requests_total{code="200",method="GET",route="/api/agents"} 1`) {
		t.Errorf("metrics listener = %d:\n%.500s", resp.StatusCode, b)
	}
}

// The plugins' state for admins (what `agentbot plugins status` shows).
func TestAdminPluginsStatus(t *testing.T) {
	e := start(t, map[string]string{"ADMIN_EMAILS": "root@example.com"})
	c, _ := e.user(t, "plain@example.com", "solo")
	c.Do("GET", "/api/admin/plugins", nil).Expect(t, 403, "ADMIN_REQUIRED")
	admin, _ := e.user(t, "root@example.com", "")
	list := admin.Do("GET", "/api/admin/plugins", nil).Expect(t, 200, "").JSON["plugins"].([]any)
	names := map[string]bool{}
	for _, p := range list {
		m := p.(map[string]any)
		if m["up"] != true || m["pid"].(float64) <= 0 {
			t.Errorf("plugin %v", m)
		}
		names[m["name"].(string)] = true
	}
	if !names["ai"] || !names["test"] || len(list) != 3 {
		t.Errorf("plugins = %v", list)
	}
}

// /api/health reports the node's plugins and job engine.
func TestHealthReportsPluginsAndJobs(t *testing.T) {
	e := start(t, nil)
	r := e.Client(t).Do("GET", "/api/health", nil).Expect(t, 200, "")
	parts, _ := r.JSON["components"].(map[string]any)
	plugins, _ := parts["plugins"].(map[string]any)
	jobs, _ := parts["jobs"].(map[string]any)
	if plugins["up"] != 3.0 || plugins["total"] != 3.0 || jobs["state"] != "running" || jobs["queued"] == nil {
		t.Errorf("components = %v", parts)
	}
}
