// Package e2e runs the real plugin binaries behind the real gateway: the core
// server, the plugin host, the gateway and a local upstream that speaks the
// OpenAI protocol.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/internal/app"
	"github.com/agentbot/gateway/plugins"
	"github.com/agentbot/gateway/plugins/plugintest"
	"github.com/agentbot/gateway/skills"
	"github.com/tetratelabs/wazero"
)

func TestMain(m *testing.M) { plugintest.Main(m) }

// upstream is a local server speaking OpenAI's chat-completions protocol. A
// streamed answer sends its first chunk, then waits for release.
type upstream struct {
	*httptest.Server
	mu      sync.Mutex
	auth    []string
	models  []string
	release chan struct{}
	hold    bool

	// maxTokens is each request's max_tokens (nil when absent).
	maxTokens []any
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{release: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(func() {
		u.mu.Lock()
		if u.hold {
			select {
			case <-u.release:
			default:
				close(u.release)
			}
		}
		u.mu.Unlock()
		u.Close()
	})
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Role, Content string
		} `json:"messages"`

		MaxTokens any `json:"max_tokens"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	u.mu.Lock()
	u.auth = append(u.auth, r.Header.Get("Authorization"))
	u.models = append(u.models, req.Model)
	u.maxTokens = append(u.maxTokens, req.MaxTokens)
	hold := u.hold
	u.mu.Unlock()
	last := req.Messages[len(req.Messages)-1].Content
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-up", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": "echo: " + last},
				"finish_reason": "stop"}},
			"usage": map[string]any{"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(delta string) {
		b, _ := json.Marshal(map[string]any{"id": "chatcmpl-up", "object": "chat.completion.chunk", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": delta}, "finish_reason": nil}}})
		io.WriteString(w, "data: "+string(b)+"\n\n")
		w.(http.Flusher).Flush()
	}
	chunk("Hello")
	if hold {
		select {
		case <-u.release:
		case <-r.Context().Done():
			return
		}
	}
	chunk(", ")
	chunk("world")
	b, _ := json.Marshal(map[string]any{"id": "chatcmpl-up", "object": "chat.completion.chunk", "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
	io.WriteString(w, "data: "+string(b)+"\n\ndata: [DONE]\n\n")
}

const (
	aiPkg   = "github.com/agentbot/gateway/plugins/ai/cmd/agentbot-ai"
	mcpPkg  = "github.com/agentbot/gateway/plugins/rendermcp/cmd/agentbot-rendermcp"
	testPkg = "github.com/agentbot/gateway/plugins/internal/testplugin"
)

type env struct {
	*servertest.Env
	host   *plugins.Host
	gw     *gateway.Gateway
	skills *skills.Service
	up     *upstream
}

// start builds the plugins and runs the whole gateway against a fake upstream;
// tweaks adjust what was mounted before the server serves.
func start(t *testing.T, vars map[string]string, tweaks ...func(*app.Mounted)) *env {
	t.Helper()
	up := newUpstream(t)
	aiPath, aiSum := plugintest.Build(t, aiPkg)
	mcpPath, mcpSum := plugintest.Build(t, mcpPkg)
	tpPath, tpSum := plugintest.Build(t, testPkg)
	aiCfg, _ := json.Marshal(map[string]any{"upstreams": map[string]any{
		"openai": map[string]any{"baseUrl": up.URL + "/v1", "apiKey": "sk-platform"}}})
	specs := []map[string]any{
		{"name": "ai", "path": aiPath, "sha256": aiSum, "config": json.RawMessage(aiCfg)},
		{"name": "rendermcp", "path": mcpPath, "sha256": mcpSum},
		{"name": "test", "path": tpPath, "sha256": tpSum, "timeout": "300ms"},
	}
	b, _ := json.Marshal(specs)
	file := filepath.Join(t.TempDir(), "plugins.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"AGENTBOT_PLUGINS": file, "AGENTBOT_RATE_LIMITS": "default=100000-M,/api/v1/gateway=100000-M"}
	for k, v := range vars {
		all[k] = v
	}
	se, m := mountApp(t, all, tweaks...)
	return &env{Env: se, host: m.Host, up: up, gw: m.Gateway, skills: m.Skills}
}

// mountApp runs the whole application on SQLite with vars, as app.New
// assembles it, on a test server.
// wasmCache keeps the skills every test's application compiles: instant-split
// alone takes seconds to compile under the race detector, and a dozen tests
// ship it.
var wasmCache = wazero.NewCompilationCache()

func mountApp(t testing.TB, vars map[string]string, tweaks ...func(*app.Mounted)) (*servertest.Env, *app.Mounted) {
	t.Helper()
	var m *app.Mounted
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	se := servertest.New(t, "sqlite", vars, func(srv *server.Server) ([]route.Route, error) {
		var err error
		if m, err = app.Mount(context.Background(), srv, log, app.SharedSkillCache(wasmCache)); err != nil {
			return nil, err
		}
		t.Cleanup(func() { m.Close(context.Background()) })
		for _, tw := range tweaks {
			tw(m)
		}
		return m.Routes, nil
	})
	se.ValidateResponses(t)
	return se, m
}

// user signs up a user with an API key and the given plan ("" for none).
func (e *env) user(t *testing.T, email, plan string) (*servertest.Client, string) {
	t.Helper()
	c := e.Client(t)
	uid, csrf := c.SignUp(email, "password-"+email)
	if plan != "" {
		if err := e.Store.SetSubscription(context.Background(), uid, plan, "active"); err != nil {
			t.Fatal(err)
		}
	}
	key := c.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", csrf).Expect(t, 201, "").Str("key")
	kc := e.Client(t)
	kc.Header.Set("Authorization", "Bearer "+key)
	return kc, uid
}

func TestGatewayCallReachesUpstream(t *testing.T) {
	e := start(t, nil)
	c, uid := e.user(t, "paid@example.com", "solo")
	r := c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "generate-text", "messages": []any{map[string]any{"role": "user", "content": "hi there"}}}).Expect(t, 200, "")
	if r.Header.Get("X-Plugin-Id") != "generate-text" || r.Str("plugin") != "generate-text" {
		t.Errorf("plugin id = %q / %q", r.Header.Get("X-Plugin-Id"), r.Str("plugin"))
	}
	res := r.JSON["result"].(map[string]any)
	if res["message"].(map[string]any)["content"] != "echo: hi there" || res["provider"] != "openai" {
		t.Errorf("result = %v; want the upstream's answer", res)
	}
	if p := r.JSON["payment"].(map[string]any); p["method"] != "stripe" {
		t.Errorf("payment = %v", p)
	}
	// Default id when none is named; the header wins over the body.
	c.Do("POST", "/api/v1/gateway", map[string]any{"prompt": "default"}).Expect(t, 200, "")
	if r := c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "nope", "input": "x"}, "X-Plugin-Id", "test-echo").Expect(t, 200, ""); r.Str("plugin") != "test-echo" {
		t.Errorf("X-Plugin-Id did not win over the body: %s", r.Body)
	}
	usage, err := waitUsage(t, e, uid, 3)
	if err != nil || len(usage) != 3 || usage[0].Target != "generate-text" || usage[0].InputTokens != 11 ||
		usage[0].OutputTokens != 7 || usage[0].PriceMicroUSD != 10_000 || usage[0].Status != 200 {
		t.Errorf("usage = %+v, %v; want three records, the first with the upstream's tokens and the price", usage, err)
	}
	if got := e.up.auth[0]; got != "Bearer sk-platform" {
		t.Errorf("upstream saw %q; want the platform key", got)
	}
}

func TestGatewayRefusals(t *testing.T) {
	e := start(t, nil)
	anon := e.Client(t)
	anon.Do("POST", "/api/v1/gateway", map[string]any{"prompt": "x"}).Expect(t, 401, "AUTH_REQUIRED")
	free, _ := e.user(t, "free@example.com", "")
	r := free.Do("POST", "/api/v1/gateway", map[string]any{"prompt": "x"}).Expect(t, 402, "PAYMENT_REQUIRED")
	if r.Str("error") != "payment_required" || r.JSON["stripe"].(map[string]any)["amount"] != "0.01" {
		t.Errorf("402 body = %s; want the seed's shape", r.Body)
	}
	// Free ids need only authentication.
	free.Do("POST", "/api/v1/gateway", map[string]any{"method": "tools/list"}, "X-Plugin-Id", "render-mcp").Expect(t, 400, "RENDER_KEY_REQUIRED")

	c, _ := e.user(t, "solo@example.com", "solo")
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "nope"}).Expect(t, 404, "UNKNOWN_PLUGIN")
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "Bad Id!"}).Expect(t, 400, "INVALID_PLUGIN_ID")
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": 5}).Expect(t, 400, "INVALID_FIELD_TYPE")
	c.Do("POST", "/api/v1/gateway", map[string]any{"stream": "yes"}).Expect(t, 400, "INVALID_FIELD_TYPE")
	c.Do("POST", "/api/v1/gateway", `[1]`).Expect(t, 400, "INVALID_JSON")
	c.Do("POST", "/api/v1/gateway", `{"prompt":`).Expect(t, 400, "INVALID_JSON")
	r = c.Do("POST", "/api/v1/gateway", map[string]any{"model": "gpt-4o", "prompt": "x"}).Expect(t, 403, "MODEL_RESTRICTED")
	if allowed, _ := r.JSON["allowedModels"].([]any); len(allowed) == 0 {
		t.Errorf("403 body = %s; want allowedModels", r.Body)
	}
	c.Do("POST", "/api/v1/gateway", map[string]any{"messages": []any{map[string]any{"role": "robot", "content": "x"}}}).Expect(t, 400, "VALIDATION_ERROR")
	// A hung plugin call ends at its deadline (300ms for the test plugin).
	start := time.Now()
	c.Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "test-hang").Expect(t, 504, "PLUGIN_TIMEOUT")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("hung call answered after %v", d)
	}
}

func TestAdminAndBYOK(t *testing.T) {
	e := start(t, map[string]string{"ADMIN_EMAILS": "root@example.com"})
	admin, _ := e.user(t, "root@example.com", "")
	admin.Do("POST", "/api/v1/gateway", map[string]any{"model": "gpt-4-turbo", "prompt": "x"}).Expect(t, 200, "")

	c, uid := e.user(t, "byok@example.com", "network")
	box := e.secretsBox(t)
	if err := e.Store.SetBYOKKey(context.Background(), uid, "openai", box.Seal([]byte("sk-users-own"), secrets.BYOKLabel(uid, "openai"))); err != nil {
		t.Fatal(err)
	}
	c.Do("POST", "/api/v1/gateway", map[string]any{"prompt": "mine"}).Expect(t, 200, "")
	if got := e.up.auth[len(e.up.auth)-1]; got != "Bearer sk-users-own" {
		t.Errorf("upstream saw %q; want the user's own key", got)
	}
}

// readEvents reads SSE events from r, sending each "data" payload (and
// comments as ":comment") on a channel.
func readEvents(body io.Reader) <-chan string {
	out := make(chan string, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, ":"):
				out <- line
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				d := strings.TrimPrefix(line, "data: ")
				if event != "" {
					d = event + " " + d
				}
				out <- d
				event = ""
			}
		}
	}()
	return out
}

func streamReq(t *testing.T, e *env, key, id string, body map[string]any) (*http.Response, <-chan string) {
	t.Helper()
	body["stream"] = true
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.URL+"/api/v1/gateway", strings.NewReader(string(b)))
	req.Header.Set("Authorization", key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Plugin-Id", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, readEvents(resp.Body)
}

// The first chunk reaches the client while the upstream is still holding the rest.
func TestStreamingIsUnbuffered(t *testing.T) {
	e := start(t, nil)
	c, _ := e.user(t, "stream@example.com", "solo")
	e.up.mu.Lock()
	e.up.hold = true
	e.up.mu.Unlock()
	resp, events := streamReq(t, e, c.Header.Get("Authorization"), "generate-text", map[string]any{"prompt": "go"})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream answer = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	select {
	case first := <-events:
		if first != `{"delta":"Hello"}` {
			t.Fatalf("first event = %q", first)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no chunk reached the client while the upstream held the rest: the stream is buffered")
	}
	close(e.up.release)
	var rest []string
	for ev := range events {
		rest = append(rest, ev)
	}
	joined := strings.Join(rest, "\n")
	if !strings.Contains(joined, `{"delta":", "}`) || !strings.Contains(joined, `{"delta":"world"}`) ||
		!strings.Contains(joined, "usage {") || rest[len(rest)-1] != "[DONE]" {
		t.Errorf("rest of stream = %q", rest)
	}
}

func TestStreamKeepaliveAndInStreamErrors(t *testing.T) {
	e := start(t, map[string]string{"AGENTBOT_STREAM_KEEPALIVE": "50ms"})
	c, _ := e.user(t, "keep@example.com", "solo")
	_, events := streamReq(t, e, c.Header.Get("Authorization"), "test-stream", map[string]any{"chunks": 3, "firstMs": 250, "failAt": 2})
	var got []string
	for ev := range events {
		got = append(got, ev)
	}
	if len(got) < 4 || got[0] != ": keepalive" {
		t.Fatalf("events = %q; want keepalive comments before the first chunk", got)
	}
	last := got[len(got)-1]
	if !strings.HasPrefix(last, "error ") || !strings.Contains(last, "UPSTREAM_ERROR") {
		t.Errorf("last event = %q; want the upstream's error inside the stream", last)
	}
	// A stream that fails before sending anything is an ordinary error.
	c.Do("POST", "/api/v1/gateway", map[string]any{"stream": true, "model": "gpt-4o", "prompt": "x"}).Expect(t, 403, "MODEL_RESTRICTED")
}

func TestPluginRoutes(t *testing.T) {
	e := start(t, nil)
	c, _ := e.user(t, "routes@example.com", "collective")
	r := c.Do("GET", "/api/ai/models", nil).Expect(t, 200, "")
	if n, _ := r.JSON["count"].(float64); n < 5 {
		t.Errorf("GET /api/ai/models = %s", r.Body)
	}
	r = c.Do("POST", "/api/ai/estimate-cost", map[string]any{"model": "gpt-4o-mini", "inputTokens": 1000, "outputTokens": 500}).Expect(t, 200, "")
	if r.JSON["estimatedCost"] != 0.00045 {
		t.Errorf("estimate = %v; want 0.00045 (1000×0.15 + 500×0.6 per 1k, in $)", r.JSON["estimatedCost"])
	}
	c.Do("POST", "/api/ai/estimate-cost", map[string]any{"model": "gpt-4o-mini"}).Expect(t, 400, "VALIDATION_ERROR")
	r = c.Do("POST", "/api/ai/chat", map[string]any{"messages": []any{map[string]any{"role": "user", "content": "route"}}}).Expect(t, 200, "")
	if r.JSON["message"].(map[string]any)["content"] != "echo: route" {
		t.Errorf("POST /api/ai/chat = %s", r.Body)
	}
	free, _ := e.user(t, "noplan@example.com", "")
	free.Do("POST", "/api/ai/chat", map[string]any{"messages": []any{map[string]any{"role": "user", "content": "x"}}}).Expect(t, 402, "PLAN_REQUIRED")
	e.Client(t).Do("GET", "/api/ai/models", nil).Expect(t, 401, "AUTH_REQUIRED")
	r = c.Do("POST", "/api/render-mcp/validate-config", map[string]any{"api_key": "nope"})
	if r.Status != 400 || r.JSON["valid"] != false {
		t.Errorf("validate-config = %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", "/api/render-mcp/health", nil).Expect(t, 200, ""); r.Str("status") != "operational" {
		t.Errorf("render-mcp health = %s", r.Body)
	}
	if r := c.Do("GET", "/api/v1/gateway", nil).Expect(t, 200, ""); !strings.Contains(string(r.Body), `"id":"generate-text"`) {
		t.Errorf("GET /api/v1/gateway = %s", r.Body)
	}
}

func TestOpenAICompatibleSurface(t *testing.T) {
	e := start(t, nil)
	c, _ := e.user(t, "oa@example.com", "solo")
	r := c.Do("POST", "/api/v1/chat/completions", map[string]any{"model": "gpt-4o-mini",
		"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "parts"}}}}}).Expect(t, 200, "")
	ch := r.JSON["choices"].([]any)[0].(map[string]any)
	if r.Str("object") != "chat.completion" || ch["message"].(map[string]any)["content"] != "echo: parts" ||
		r.JSON["usage"].(map[string]any)["total_tokens"] != float64(18) {
		t.Errorf("chat completion = %s", r.Body)
	}
	if r := c.Do("GET", "/api/v1/models", nil).Expect(t, 200, ""); r.Str("object") != "list" {
		t.Errorf("models = %s", r.Body)
	}
	r = e.Client(t).Do("POST", "/api/v1/chat/completions", map[string]any{"messages": []any{}}, "Authorization", "Bearer sk_"+strings.Repeat("0", 64))
	if r.Status != 401 || r.JSON["error"].(map[string]any)["type"] != "authentication_error" {
		t.Errorf("bad key = %d %s; want an OpenAI-shaped 401", r.Status, r.Body)
	}
}

func (e *env) secretsBox(t *testing.T) interface {
	Seal([]byte, string) []byte
} {
	b, err := newBox(e.Config.MasterKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pidOf(t *testing.T, h *plugins.Host, name string) int {
	for _, s := range h.Status() {
		if s.Name == name && s.Up {
			return s.Pid
		}
	}
	return 0
}

// kill -9 of a provider under load: only its ids fail, with 502, it serves
// again within a second, and every other route keeps answering.
func TestKilledProviderUnderLoad(t *testing.T) {
	e := start(t, nil)
	c, _ := e.user(t, "load@example.com", "solo")
	pid := pidOf(t, e.host, "ai")
	if pid == 0 {
		t.Fatal("ai plugin not up")
	}
	ctx, stop := context.WithCancel(context.Background())
	var mu sync.Mutex
	statuses := map[string]map[int]int{}
	record := func(what string, status int) {
		mu.Lock()
		defer mu.Unlock()
		if statuses[what] == nil {
			statuses[what] = map[int]int{}
		}
		statuses[what][status]++
	}
	var wg sync.WaitGroup
	load := func(what string, do func() int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				record(what, do())
			}
		}()
	}
	for range 3 {
		load("generate-text", func() int {
			return c.Do("POST", "/api/v1/gateway", map[string]any{"prompt": "load"}).Status
		})
	}
	load("test-echo", func() int {
		return c.Do("POST", "/api/v1/gateway", map[string]any{"x": 1}, "X-Plugin-Id", "test-echo").Status
	})
	load("health", func() int { return c.Do("GET", "/api/health", nil).Status })
	// Every kind of load is flowing before the kill.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := min(len(statuses["generate-text"]), len(statuses["test-echo"]), len(statuses["health"]))
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the load did not start")
		}
	}

	if err := killPID(pid); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var back time.Duration
	for time.Since(killed) < 5*time.Second {
		if np := pidOf(t, e.host, "ai"); np != 0 && np != pid {
			if c.Do("POST", "/api/v1/gateway", map[string]any{"prompt": "back?"}).Status == 200 {
				back = time.Since(killed)
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	stop()
	wg.Wait()
	t.Logf("statuses under load: %v; served again after %v", statuses, back)
	if back == 0 || back > time.Second {
		t.Errorf("AI provider served again after %v; want within 1s", back)
	}
	for status := range statuses["generate-text"] {
		if status != 200 && status != 502 {
			t.Errorf("generate-text answered %d during the crash; want only 200 or 502", status)
		}
	}
	if statuses["generate-text"][502] == 0 {
		t.Error("no 502 observed: the crash went unnoticed by callers")
	}
	for _, other := range []string{"test-echo", "health"} {
		for status, n := range statuses[other] {
			if status != 200 {
				t.Errorf("%s answered %d ×%d while another provider was down; want only 200", other, status, n)
			}
		}
	}
}

// The official openai npm client, unmodified, against /api/v1 with an sk_ key.
func TestOpenAINodeClient(t *testing.T) {
	dir, err := filepath.Abs("js")
	if err != nil {
		t.Fatal(err)
	}
	requireNode(t, dir, "openai")
	e := start(t, nil)
	c, _ := e.user(t, "node@example.com", "solo")
	key := strings.TrimPrefix(c.Header.Get("Authorization"), "Bearer ")
	out, err := runNode(dir, "openai-client.mjs", e.URL+"/api/v1", key)
	if err != nil {
		t.Fatalf("openai client: %v\n%s", err, out)
	}
	var got struct {
		Models      []string
		Chat        string
		StreamText  string
		StreamUsage struct{ Total_tokens int }
		Denied      struct {
			Status int
			Name   string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("client output %s: %v", out, err)
	}
	if got.Chat != "echo: from the openai client" || got.StreamText != "Hello, world" || got.StreamUsage.Total_tokens != 8 {
		t.Errorf("openai client saw %s", out)
	}
	if len(got.Models) == 0 || got.Denied.Status != 401 || got.Denied.Name != "AuthenticationError" {
		t.Errorf("openai client saw %s; want models and an AuthenticationError for a bad key", out)
	}
}

// waitUsage waits until the user's usage (written in the background) has n events.
func waitUsage(t *testing.T, e *env, uid string, n int) ([]store.UsageEvent, error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		u, err := e.Store.Usage(context.Background(), uid, time.Time{})
		if err != nil || len(u) >= n || time.Now().After(deadline) {
			return u, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
