package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentbot/gateway/channels/telegram/telegramtest"
	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store/storetest"
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

// Two gateway nodes, one PostgreSQL, one Telegram bot: exactly one node
// polls it. Killing that node with SIGKILL (no lease released, a poll cut
// mid-flight) hands the bot to the other within the lease's life, and every
// message — including those sent while no node polled — is answered exactly
// once.
func TestChannelsTwoNodesOneTelegramBot(t *testing.T) {
	pg := storetest.Postgres(t)
	tg := telegramtest.New(t)
	tg.AddBot(tgToken, 7011223344, "gig_helper_bot")
	ms := newModelScript(t)
	vars := map[string]string{"DATABASE_URL": pg.Serving, "DATABASE_MIGRATE_URL": pg.Owner,
		"AGENTBOT_MASTER_KEY": strings.Repeat("ab", 32), "JWT_SECRET": strings.Repeat("j", 40),
		"AGENTBOT_PLUGINS": aiPluginsFile(t, ms), "AGENTBOT_HEARTBEATS": "false",
		"TELEGRAM_API_URL": tg.URL(), "TELEGRAM_POLL_TIMEOUT": "1s",
		"AGENTBOT_CHANNEL_LEASE": "3s", "AGENTBOT_CHANNEL_TICK": "300ms", "AGENTBOT_CHANNEL_CLAIM": "3s",
		"AGENTBOT_RATE_LIMITS": channelVars["AGENTBOT_RATE_LIMITS"]}
	a, b := startNode(t, vars), startNode(t, vars)

	st := storetest.Open(t, pg.Config())
	c := (&servertest.Env{URL: a.URL}).Client(t)
	uid, csrf := c.SignUpUnverified("nodes@example.com", "password-nodes")
	if err := st.SetSubscription(context.Background(), uid, "solo", "active"); err != nil {
		t.Fatal(err)
	}
	c.Header.Set("X-CSRF-Token", csrf)
	r := c.Do("POST", "/api/provision", map[string]any{"telegramToken": tgToken, "plan": "solo"}).Expect(t, 201, "")
	bindingID := r.JSON["channels"].([]any)[0].(map[string]any)["id"].(string)

	// Who holds the bot: the lease's owner names its process.
	owner := func() string {
		var o string
		var exp time.Time
		conn, err := pgx.Connect(context.Background(), pg.Owner)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		err = conn.QueryRow(context.Background(), `SELECT owner, expires_at FROM channel_leases WHERE binding_id = $1`, bindingID).Scan(&o, &exp)
		if err != nil || exp.Before(time.Now()) {
			return ""
		}
		return o
	}
	holder := func() (*node, *node) {
		o := owner()
		for _, n := range []*node{a, b} {
			if strings.Contains(o, fmt.Sprintf("-%d-", n.Pid())) {
				if n == a {
					return a, b
				}
				return b, a
			}
		}
		return nil, nil
	}
	var polling, other *node
	waitFor(t, 30*time.Second, "a node to take the bot", func() bool { polling, other = holder(); return polling != nil })

	// Messages flow; answered once each.
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	for i := range 3 {
		tg.UserMessage(tgToken, 5550001, 5550001, fmt.Sprintf("echo: before %d", i))
	}
	if _, err := tg.WaitSent(ctx, tgToken, 3); err != nil {
		t.Fatal(err)
	}
	if tg.Conflicts(tgToken) != 0 {
		t.Fatalf("%d conflicting polls with both nodes up; want none (one poller)", tg.Conflicts(tgToken))
	}
	// Wait until the answers are recorded: a node killed between Telegram
	// taking a reply and the database recording it would answer that
	// message again (the one window docs/channels.md names).
	answered := func() int {
		conn, err := pgx.Connect(context.Background(), pg.Owner)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM channel_inbound WHERE status = 'answered'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, 10*time.Second, "three recorded answers", func() bool { return answered() == 3 })

	// A message in flight: accepted, its model call under way when the
	// node dies; its claim expires and the survivor answers it.
	tg.UserMessage(tgToken, 5550003, 5550003, "echo: hold-once")
	waitFor(t, 10*time.Second, "the held model call", ms.holding)

	// SIGKILL the poller; messages sent while nobody polls wait at Telegram.
	polling.Kill()
	for i := range 3 {
		tg.UserMessage(tgToken, 5550001, 5550001, fmt.Sprintf("echo: during %d", i))
	}
	tg.UserMessage(tgToken, 5550002, 5550002, "echo: another chat")
	sent, err := tg.WaitSent(ctx, tgToken, 8)
	if err != nil {
		t.Fatal(err)
	}
	if now, _ := holder(); now != other {
		t.Errorf("the bot's lease is held by %q; want the surviving node", owner())
	}
	time.Sleep(2 * time.Second) // room for a duplicate answer to show up, if there were one
	sent = tg.Sent(tgToken)
	seen := map[string]int{}
	for _, m := range sent {
		seen[m.Text]++
	}
	for _, want := range []string{"before 0", "before 1", "before 2", "hold-once", "during 0", "during 1", "during 2", "another chat"} {
		if seen["You said "+want] != 1 {
			t.Errorf("%q answered %d times; want once", want, seen["You said "+want])
		}
	}
	if len(sent) != 8 {
		t.Errorf("%d replies; want 8: %+v", len(sent), sent)
	}
	// One chat's answers keep its order across the takeover.
	var order []string
	for _, m := range sent {
		if m.ChatID == 5550001 {
			order = append(order, strings.TrimPrefix(m.Text, "You said "))
		}
	}
	if fmt.Sprint(order) != "[before 0 before 1 before 2 during 0 during 1 during 2]" {
		t.Errorf("chat 5550001 answered in the order %q", order)
	}
}
