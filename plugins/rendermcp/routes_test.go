package rendermcp_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/agentbot/gateway/plugins/rendermcp"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

type httpReply struct {
	status  int
	headers map[string]string
	body    []byte
}

func (r *httpReply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func do(t *testing.T, c *provider.Client, method, path, body string) *httpReply {
	t.Helper()
	var r httpReply
	err := c.HandleHTTP(context.Background(), &provider.HTTPRequest{Method: method, Path: path, Body: []byte(body)},
		func(p *provider.HTTPResponsePart) error {
			if p.Status != 0 {
				r.status, r.headers = p.Status, p.Headers
			}
			r.body = append(r.body, p.Body...)
			return nil
		})
	if err != nil {
		t.Fatalf("%s %s = %v", method, path, err)
	}
	if ct := r.headers["Content-Type"]; ct != "application/json" {
		t.Errorf("%s %s Content-Type = %q; want application/json", method, path, ct)
	}
	return &r
}

func TestInformationalRoutes(t *testing.T) {
	c := providertest.Serve(t, rendermcp.New())

	r := do(t, c, "GET", "/api/render-mcp/health", "")
	h := r.json(t)
	if r.status != 200 || h["name"] != "Render MCP Server Gateway" || h["version"] != "1.0.0" || h["status"] != "operational" ||
		h["docker_image"] != "ghcr.io/render-oss/render-mcp-server" ||
		h["official_repo"] != "https://github.com/render-oss/render-mcp-server" ||
		h["documentation"] != "https://render.com/docs/mcp-server" || h["description"] == "" {
		t.Errorf("health = %d %s", r.status, r.body)
	}
	if ts, _ := h["timestamp"].(string); ts == "" {
		t.Errorf("health timestamp missing")
	} else if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Errorf("health timestamp %q: %v", ts, err)
	}

	r = do(t, c, "GET", "/api/render-mcp/info", "")
	in := r.json(t)
	if features, _ := in["features"].([]any); r.status != 200 || in["version"] != "latest" || in["maintained_by"] != "Render" ||
		len(features) != 7 || in["repository"] == nil || in["setup_guide"] == nil {
		t.Errorf("info = %d %s", r.status, r.body)
	}

	r = do(t, c, "GET", "/api/render-mcp/setup", "")
	var setup struct {
		Title      string            `json:"title"`
		QuickStart map[string]string `json:"quick_start"`
		Docker     struct {
			MCPServers map[string]struct {
				Command string            `json:"command"`
				Args    []string          `json:"args"`
				Env     map[string]string `json:"env"`
			} `json:"mcpServers"`
		} `json:"docker_config_example"`
		Links map[string]string `json:"documentation_links"`
	}
	if err := json.Unmarshal(r.body, &setup); err != nil {
		t.Fatal(err)
	}
	render := setup.Docker.MCPServers["render"]
	if r.status != 200 || setup.Title == "" || len(setup.QuickStart) != 3 || setup.QuickStart["step_1"] == "" ||
		render.Command != "docker" || !slices.Contains(render.Args, "ghcr.io/render-oss/render-mcp-server") ||
		render.Env["RENDER_API_KEY"] == "" || setup.Links["official_setup"] != "https://render.com/docs/mcp-server" {
		t.Errorf("setup = %d %s", r.status, r.body)
	}

	r = do(t, c, "GET", "/api/render-mcp/tools", "")
	var tools struct {
		Source     string              `json:"source"`
		Categories map[string][]string `json:"tool_categories"`
		Reference  string              `json:"complete_reference"`
	}
	if err := json.Unmarshal(r.body, &tools); err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{"workspaces": 3, "services": 6, "deployments": 2, "logs": 2, "metrics": 1, "postgres": 4, "key_value": 3}
	if r.status != 200 || tools.Source == "" || tools.Reference == "" || len(tools.Categories) != len(sizes) {
		t.Errorf("tools = %d %s", r.status, r.body)
	}
	for cat, n := range sizes {
		if len(tools.Categories[cat]) != n {
			t.Errorf("tools.tool_categories[%q] = %v; want %d tools", cat, tools.Categories[cat], n)
		}
	}
	for cat, name := range map[string]string{"workspaces": "select_workspace", "services": "list_services", "deployments": "get_deploy",
		"logs": "list_log_label_values", "metrics": "get_metrics", "postgres": "query_render_postgres", "key_value": "create_key_value"} {
		if !slices.Contains(tools.Categories[cat], name) {
			t.Errorf("tools.tool_categories[%q] = %v; want it to hold %s", cat, tools.Categories[cat], name)
		}
	}

	r = do(t, c, "GET", "/api/render-mcp/examples", "")
	ex := r.json(t)
	exs, _ := ex["examples"].(map[string]any)
	if r.status != 200 || ex["description"] == "" || len(exs) != 5 {
		t.Errorf("examples = %d %s", r.status, r.body)
	}
	for _, k := range []string{"service_management", "deployment_monitoring", "database_management", "monitoring_and_logs", "troubleshooting"} {
		if l, _ := exs[k].([]any); len(l) == 0 {
			t.Errorf("examples.examples[%q] = %v; want prompts", k, exs[k])
		}
	}

	for path, loc := range map[string]string{
		"/api/render-mcp/docs":   "https://render.com/docs/mcp-server",
		"/api/render-mcp/github": "https://github.com/render-oss/render-mcp-server",
	} {
		r = do(t, c, "GET", path, "")
		if r.status != 301 || r.headers["Location"] != loc {
			t.Errorf("GET %s = %d Location %q; want 301 %s", path, r.status, r.headers["Location"], loc)
		}
	}

	r = do(t, c, "GET", "/api/render-mcp/nope", "")
	if e := r.json(t); r.status != 404 || e["code"] != "NOT_FOUND" {
		t.Errorf("GET unknown route = %d %s; want 404 NOT_FOUND", r.status, r.body)
	}
}

func TestValidateConfig(t *testing.T) {
	c := providertest.Serve(t, rendermcp.New())
	for _, tc := range []struct {
		name, body string
		status     int
		wantErr    string // the single entry of errors, or the error code for malformed bodies
	}{
		{"valid", `{"api_key": "rnd_abcdefghijklmnopqrstuvwxyz0123456789"}`, 200, ""},
		{"valid with endpoint", `{"api_key": "rnd_abcdefghijklmnop", "endpoint": "https://mcp.render.com/mcp"}`, 200, ""},
		{"missing", `{}`, 400, "api_key is required"},
		{"empty body", ``, 400, "api_key is required"},
		{"empty key", `{"api_key": ""}`, 400, "api_key is required"},
		{"null key", `{"api_key": null}`, 400, "api_key is required"},
		{"not a string", `{"api_key": 42}`, 400, "api_key must be a string"},
		{"wrong prefix", `{"api_key": "sk_abcdefghijklmnopqrstuvwxyz"}`, 400, "api_key must start with rnd_"},
		{"too short", `{"api_key": "rnd_short"}`, 400, "api_key appears too short"},
		{"malformed JSON", `{"api_key": `, 400, "INVALID_JSON"},
		{"not an object", `[1]`, 400, "INVALID_JSON"},
	} {
		r := do(t, c, "POST", "/api/render-mcp/validate-config", tc.body)
		m := r.json(t)
		if r.status != tc.status {
			t.Errorf("validate-config %s (%q) = %d %s; want %d", tc.name, tc.body, r.status, r.body, tc.status)
			continue
		}
		switch {
		case tc.status == 200:
			steps, _ := m["next_steps"].([]any)
			if m["valid"] != true || m["message"] != "Configuration looks valid" || len(steps) != 3 {
				t.Errorf("validate-config %s = %s; want valid with 3 next_steps", tc.name, r.body)
			}
		case tc.wantErr == "INVALID_JSON":
			if m["code"] != "INVALID_JSON" || m["error"] != "Malformed JSON body" {
				t.Errorf("validate-config %s = %s; want Malformed JSON body / INVALID_JSON", tc.name, r.body)
			}
		default:
			errs, _ := m["errors"].([]any)
			if m["valid"] != false || len(errs) != 1 || errs[0] != tc.wantErr || m["help"] == "" || m["help"] == nil {
				t.Errorf("validate-config %s = %s; want valid:false, errors [%q], help", tc.name, r.body, tc.wantErr)
			}
		}
	}
}
