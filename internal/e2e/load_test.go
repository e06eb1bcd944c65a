package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/agentbot/gateway/plugins/plugintest"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/tools/load"
)

// TestLoad is `make bench-load`: the gateway under concurrent load, each
// scenario beside its floor measured in the same run — a bare net/http
// handler, the raw provider call over gRPC, the raw wazero call — and 512
// concurrent SSE streams with the longest stall between two chunks. It
// prints the figures against the goals of RATIONALE.md ("Performance"); it
// fails only when calls fail. It runs only with AGENTBOT_LOAD=1.
func TestLoad(t *testing.T) {
	if os.Getenv("AGENTBOT_LOAD") != "1" {
		t.Skip("load test: run it with `make bench-load`")
	}
	ctx := context.Background()
	cfg := load.Config{Concurrency: 32, Duration: 3 * time.Second}
	if d, err := time.ParseDuration(os.Getenv("AGENTBOT_LOAD_DURATION")); err == nil {
		cfg.Duration = d
	}

	path, sum := plugintest.BuildModule(t, filepath.Join(moduleRoot, "examples/provider-echo"))
	specs, _ := json.Marshal([]map[string]any{{"name": "echo", "path": path, "sha256": sum}})
	file := filepath.Join(t.TempDir(), "plugins.json")
	if err := os.WriteFile(file, specs, 0o600); err != nil {
		t.Fatal(err)
	}
	se, m := mountApp(t, map[string]string{"AGENTBOT_PLUGINS": file, "AGENTBOT_SKILL_DIR": t.TempDir(),
		"AGENTBOT_LOG_LEVEL":   "error",
		"AGENTBOT_RATE_LIMITS": "default=1000000000-M,/api/v1/gateway=1000000000-M", "AGENTBOT_GATEWAY_PRICES": "echo=0,echo-stream=0"})
	c := se.Client(t)
	_, csrf := c.SignUp("load@example.com", "password-load")
	key := c.Do("POST", "/api/keys", map[string]any{"name": "load"}, "X-CSRF-Token", csrf).Str("key")
	c.Header.Set("Authorization", "Bearer "+key)
	wasm := skillWasm(t, guestDir+"echo")
	publish(t, c, wasm, manifest("echo", "1.0.0", nil)).Expect(t, 201, "")

	// Calls go through load.Client, which makes each on the calling
	// goroutine; net/http's client hands every call to two goroutines of its
	// own, whose wake-ups would count against the server (one scenario
	// below is measured through it, to show how much).
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency * 2, MaxConnsPerHost: 0}}
	clients := map[string]*load.Client{}
	client := func(base string) *load.Client {
		if c := clients[base]; c != nil {
			return c
		}
		c, err := load.NewClient(base, http.Header{"Authorization": {"Bearer " + key}, "Content-Type": {"application/json"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		clients[base] = c
		return c
	}
	do := func(ctx context.Context, method, url, body string) error {
		base, path := url, "/"
		if i := strings.Index(strings.TrimPrefix(url, "http://"), "/"); i >= 0 {
			base, path = url[:len("http://")+i], url[len("http://")+i:]
		}
		var b []byte
		if body != "" {
			b = []byte(body)
		}
		return client(base).Expect(200, method, path, b)(ctx)
	}
	doNetHTTP := func(ctx context.Context, method, url, body string) error {
		req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s %s: %d", method, url, resp.StatusCode)
		}
		return nil
	}

	hello := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer hello.Close()
	direct, ok := m.Host.DirectClient("echo")
	if !ok {
		t.Fatal("echo plugin not up")
	}
	rawSkill := rawWazeroCall(t, wasm, []byte(`{"agentId":"agt_1","text":"hello"}`))
	// The floor of any Go HTTP gateway in front of the plugin: a bare
	// net/http handler making the raw gRPC call.
	grpcFloor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if _, err := direct.Invoke(r.Context(), &provider.InvokeRequest{Capability: "echo", Input: json.RawMessage(`{"text":"hello"}`)}); err != nil {
			w.WriteHeader(http.StatusBadGateway)
		}
		w.Write([]byte(`{}`))
	}))
	defer grpcFloor.Close()

	// Throughput is measured with many callers at once; added latency with
	// one, so that it is the calls' cost and not 32 callers queueing on
	// the machine's cores.
	latency := cfg
	latency.Concurrency = 1
	runWith := func(cfg load.Config, name string, call func(context.Context) error) load.Result {
		r := load.Run(ctx, name, cfg, call)
		if r.Errors > 0 || r.Requests == 0 {
			t.Errorf("%s: %d of %d calls failed", name, r.Errors, r.Requests)
		}
		return r
	}
	run := func(name string, call func(context.Context) error) load.Result { return runWith(cfg, name, call) }
	lat := func(name string, call func(context.Context) error) load.Result { return runWith(latency, name, call) }
	for _, base := range []string{hello.URL, grpcFloor.URL, se.URL} {
		client(base) // made before the calls, which only read the map
	}
	bare := run("net/http hello (floor)", func(ctx context.Context) error { return do(ctx, "GET", hello.URL, "") })
	// `make profile`: CPU and allocation profiles of every scenario after
	// the floor (the raw provider and raw wazero run in this process too:
	// read the profiles by function).
	if dir := os.Getenv("AGENTBOT_LOAD_PROFILE"); dir != "" {
		stop := startProfiles(t, dir)
		defer stop()
	}
	health := run("GET /api/health", func(ctx context.Context) error { return do(ctx, "GET", se.URL+"/api/health", "") })
	read := run("GET /api/keys (API key)", func(ctx context.Context) error { return do(ctx, "GET", se.URL+"/api/keys", "") })
	rawEcho := lat("echo over gRPC (raw provider), 1 caller", func(ctx context.Context) error {
		_, err := direct.Invoke(ctx, &provider.InvokeRequest{Capability: "echo", Input: json.RawMessage(`{"text":"hello"}`)})
		return err
	})
	echoFloor := lat("net/http handler → raw provider (floor), 1 caller", func(ctx context.Context) error {
		return do(ctx, "POST", grpcFloor.URL, `{"text":"hello"}`)
	})
	echo := lat("gateway → echo, 1 caller", func(ctx context.Context) error {
		return do(ctx, "POST", se.URL+"/api/v1/gateway", `{"plugin":"echo","text":"hello"}`)
	})
	echoNetHTTP := lat("gateway → echo, 1 caller, net/http's client", func(ctx context.Context) error {
		return doNetHTTP(ctx, "POST", se.URL+"/api/v1/gateway", `{"plugin":"echo","text":"hello"}`)
	})
	raw := lat("echo skill in raw wazero (warm), 1 caller", rawSkill)
	skill := lat("gateway → echo skill, 1 caller", func(ctx context.Context) error {
		return do(ctx, "POST", se.URL+"/api/v1/gateway", `{"plugin":"skill:echo","agentId":"agt_1","text":"hello"}`)
	})

	words := strings.TrimSpace(strings.Repeat("word ", 50))
	streams := load.Streams(ctx, 512, func(ctx context.Context) (io.ReadCloser, error) {
		// 50 words 20 ms apart, as a model streams its tokens: a second
		// per stream, all 512 opened at once.
		body := fmt.Sprintf(`{"plugin":"echo-stream","stream":true,"delayMs":20,"text":%q}`, words)
		req, _ := http.NewRequestWithContext(ctx, "POST", se.URL+"/api/v1/gateway", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			return nil, fmt.Errorf("stream: %d", resp.StatusCode)
		}
		return resp.Body, nil
	})
	if streams.Failed > 0 {
		t.Errorf("%d of %d streams failed", streams.Failed, streams.Streams)
	}

	perConn := idleConnMemory(t, se.URL, 1000)

	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", load.Table(bare, health, read, rawEcho, echoFloor, echo, echoNetHTTP, raw, skill))
	fmt.Fprintf(&b, "%-58s %-12s %s\n", "goal", "figure", "")
	goal := func(name, figure string, ok bool) {
		verdict := "met"
		if !ok {
			verdict = "MISSED"
		}
		fmt.Fprintf(&b, "%-58s %-12s %s\n", name, figure, verdict)
	}
	goal("health throughput ≥ 0.7× bare net/http", fmt.Sprintf("%.2f×", health.RPS()/bare.RPS()), health.RPS() >= 0.7*bare.RPS())
	goal("authenticated read throughput (vs bare net/http)", fmt.Sprintf("%.2f×", read.RPS()/bare.RPS()), true)
	goal("gateway → echo: p50 added ≤ +100µs over raw provider", fmt.Sprintf("+%.0fµs", us(echo.P50-rawEcho.P50)), echo.P50-rawEcho.P50 <= 100*time.Microsecond)
	goal("  of which the gateway's own (over the net/http floor)", fmt.Sprintf("+%.0fµs", us(echo.P50-echoFloor.P50)), echo.P50-echoFloor.P50 <= 100*time.Microsecond)
	goal("gateway → echo: p99 added ≤ +1ms over raw provider", fmt.Sprintf("+%.0fµs", us(echo.P99-rawEcho.P99)), echo.P99-rawEcho.P99 <= time.Millisecond)
	goal("skill through the gateway: p50 ≤ 1.5× raw wazero", fmt.Sprintf("%.2f×", float64(skill.P50)/float64(raw.P50)), float64(skill.P50) <= 1.5*float64(raw.P50))
	goal("512 SSE streams: longest stall ≤ 100ms", fmt.Sprintf("%.1fms", us(streams.MaxStall)/1e3), streams.MaxStall <= 100*time.Millisecond)
	fmt.Fprintf(&b, "(%d streams, %d chunks, p99 stall %.1fms, all done in %s; %d goroutines calling per scenario for %s)\n",
		streams.Streams, streams.Chunks, us(streams.P99Stall)/1e3, streams.TotalTime.Round(time.Millisecond), cfg.Concurrency, cfg.Duration)
	fmt.Fprintf(&b, "memory per idle keep-alive connection: %.1f KiB (heap and stacks, 1000 connections after one request each;\n"+
		"  the client's side of each socket, ≈ 0.3 KiB, is in the figure); per warm skill instance: `go test -bench WarmInstanceMemory ./skills`\n",
		float64(perConn)/1024)
	t.Log(b.String())
}

// idleConnMemory opens n connections to url, makes one request on each and
// leaves it idle (kept alive), and returns the growth of the process's heap
// and stacks per connection: what the server holds for an idle client (with
// the client's socket, which is small: no buffers are kept on this side).
func idleConnMemory(t *testing.T, url string, n int) int64 {
	t.Helper()
	addr := strings.TrimPrefix(url, "http://")
	before := memInUse()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("idle connections: %v", err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, "GET /api/health HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReaderSize(c, 1024), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("idle connections: GET /api/health = %d, close %v; want 200 kept alive", resp.StatusCode, resp.Close)
		}
	}
	return (memInUse() - before) / int64(n)
}

// memInUse is the process's heap and stack memory in use after a collection.
func memInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}

// startProfiles starts a CPU profile into dir/cpu.pprof; the returned
// function stops it and writes the allocations to dir/allocs.pprof.
func startProfiles(t *testing.T, dir string) func() {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	runtime.MemProfileRate = 64 << 10
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		a, err := os.Create(filepath.Join(dir, "allocs.pprof"))
		if err != nil {
			t.Error(err)
			return
		}
		defer a.Close()
		if err := pprof.Lookup("allocs").WriteTo(a, 0); err != nil {
			t.Error(err)
		}
	}
}

// rawWazeroCall is a skill call on a warm instance without the platform:
// the module compiled as it was published (no loop instrumentation) on a
// runtime with no deadline mechanism at all (no close-on-context-done),
// instances kept in a pool, each with its abi.Runner — the floor of a
// pooled skill call through the gateway.
func rawWazeroCall(tb testing.TB, wasm, input []byte) func(context.Context) error {
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, abi.RuntimeConfig(1024).WithCloseOnContextDone(false))
	tb.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	if _, err := abi.Instantiate(ctx, r); err != nil {
		tb.Fatal(err)
	}
	cm, err := r.CompileModule(ctx, wasm)
	if err != nil {
		tb.Fatal(err)
	}
	var pool sync.Pool
	return func(ctx context.Context) error {
		run, _ := pool.Get().(*abi.Runner)
		var mod api.Module
		if run == nil {
			if mod, err = r.InstantiateModule(ctx, cm, abi.ModuleConfig("")); err != nil {
				return err
			}
			if run, err = abi.NewRunner(mod); err != nil {
				return err
			}
		}
		call := abi.NewCall(input, abi.Capabilities{}, abi.Limits{})
		if err := run.Run(ctx, call); err != nil {
			return err // the instance is dropped
		}
		pool.Put(run)
		if _, f, _ := call.Result(); f != nil {
			return fmt.Errorf("skill failed: %v", f)
		}
		return nil
	}
}
