package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/internal/app"
	"github.com/agentbot/gateway/plugins/plugintest"
)

// nodeEnv marks a run of this test binary as a gateway node of a
// multi-node test (TestGatewayNodeProcess), not as the tests.
const nodeEnv = "AGENTBOT_E2E_NODE"

// TestGatewayNodeProcess is not a test: it is a whole gateway node, run as a
// separate process by the multi-node tests (so that one can be killed with
// SIGKILL), configured by the environment like `agentbot serve`. It serves
// until it is killed.
func TestGatewayNodeProcess(t *testing.T) {
	if os.Getenv(nodeEnv) != "1" {
		t.Skip("a gateway node for the multi-node tests, which start it")
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := context.Background()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Fatal(http.Serve(ln, a.Handler()))
}

// node is a gateway node running as its own process (and process group,
// with its plugins).
type node struct {
	URL  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	dead bool
}

func (n *node) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.Write(p)
}

// Pid is the node's process id.
func (n *node) Pid() int { return n.cmd.Process.Pid }

// Kill kills the node and its plugins with SIGKILL: no shutdown, no lease
// released, connections cut.
func (n *node) Kill() {
	n.mu.Lock()
	if n.dead {
		n.mu.Unlock()
		return
	}
	n.dead = true
	n.mu.Unlock()
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	_ = n.cmd.Wait()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNode starts a gateway node with vars (over a development base: its
// own data dir, quiet mail) and waits until it serves /api/health.
func startNode(t *testing.T, vars map[string]string) *node {
	t.Helper()
	addr := freeAddr(t)
	env := map[string]string{nodeEnv: "1", "AGENTBOT_ADDR": addr, "AGENTBOT_PUBLIC_URL": "http://" + addr,
		"AGENTBOT_DEV": "true", "AGENTBOT_DATA_DIR": t.TempDir(), "AGENTBOT_LOG_LEVEL": "info"}
	maps.Copy(env, vars)
	cmd := exec.Command(os.Args[0], "-test.run=^TestGatewayNodeProcess$", "-test.count=1", "-test.timeout=30m")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	n := &node{URL: "http://" + addr, cmd: cmd}
	cmd.Stdout, cmd.Stderr = n, n
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Kill()
		if t.Failed() {
			n.mu.Lock()
			t.Logf("node %s output:\n%s", addr, n.logs.String())
			n.mu.Unlock()
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(n.URL + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n
			}
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			n.mu.Lock()
			defer n.mu.Unlock()
			t.Fatalf("node %s did not start: %v\n%s", addr, err, n.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// aiPluginsFile writes a plugins.json with the AI plugin, its OpenAI and
// Anthropic upstreams pointed at ms.
func aiPluginsFile(t testing.TB, ms *modelScript) string {
	t.Helper()
	aiPath, aiSum := plugintest.Build(t, aiPkg)
	aiCfg, _ := json.Marshal(map[string]any{"upstreams": map[string]any{
		"openai":    map[string]any{"baseUrl": ms.URL + "/v1", "apiKey": "sk-openai"},
		"anthropic": map[string]any{"baseUrl": ms.URL + "/v1", "apiKey": "sk-ant", "protocol": "anthropic"}}})
	specs, _ := json.Marshal([]map[string]any{{"name": "ai", "path": aiPath, "sha256": aiSum, "config": json.RawMessage(aiCfg)}})
	file := filepath.Join(t.TempDir(), "plugins.json")
	if err := os.WriteFile(file, specs, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// waitFor polls cond every 50ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
