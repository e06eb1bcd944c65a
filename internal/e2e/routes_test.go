package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/ratelimit"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/plugins/plugintest"
)

const (
	endpointsStart = "<!-- endpoints:start (generated from the route table: make endpoints) -->\n"
	endpointsEnd   = "<!-- endpoints:end -->\n"
)

// The README's endpoint list is the route table of the whole application
// (core, gateway, skills, billing and the first-party plugins' routes),
// rendered. `make endpoints` (UPDATE_README=1) rewrites it.
func TestREADMEListsEveryRoute(t *testing.T) {
	routes, _ := wholeTable(t)
	// The README documents the default rate limits, whatever the test sets.
	table := route.Markdown(routes, ratelimit.New(nil, ratelimit.Defaults()))

	path := filepath.Join("..", "..", "README.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	before, rest, ok1 := strings.Cut(readme, endpointsStart)
	_, after, ok2 := strings.Cut(rest, endpointsEnd)
	if !ok1 || !ok2 {
		t.Fatalf("README.md has no %q … %q markers", endpointsStart, endpointsEnd)
	}
	want := before + endpointsStart + table + endpointsEnd + after
	if want == readme {
		return
	}
	if os.Getenv("UPDATE_README") == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md endpoint list rewritten")
		return
	}
	t.Errorf("README.md's endpoint list differs from the route table; run `make endpoints`. The table:\n%s", table)
}

// wholeTable returns the route table of the whole application with the
// first-party plugins' routes, and the running application.
func wholeTable(t *testing.T) ([]route.Route, *servertest.Env) {
	t.Helper()
	aiPath, aiSum := plugintest.Build(t, aiPkg)
	mcpPath, mcpSum := plugintest.Build(t, mcpPkg)
	specs, _ := json.Marshal([]map[string]any{
		{"name": "ai", "path": aiPath, "sha256": aiSum},
		{"name": "rendermcp", "path": mcpPath, "sha256": mcpSum},
	})
	file := filepath.Join(t.TempDir(), "plugins.json")
	if err := os.WriteFile(file, specs, 0o600); err != nil {
		t.Fatal(err)
	}
	se, m := mountApp(t, map[string]string{"AGENTBOT_PLUGINS": file, "AGENTBOT_SKILL_DIR": t.TempDir()})
	return append(se.Server.Routes(), m.Routes...), se
}
