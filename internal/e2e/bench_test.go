package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/plugins/plugintest"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/tools/load"
)

// BenchmarkGatewayEcho measures what the gateway adds to a provider call: the
// same echo call made directly over gRPC to the plugin process (baseline), and
// through the gateway over HTTP with an API key (authentication, rate limit,
// payment step, dispatch, usage record). Beside them: an HTTP round trip to a
// handler that does nothing (http-noop-floor), a bare net/http handler making
// the raw gRPC call (http-grpc-floor), and the gateway's handler called in
// this process (gateway-in-process). Reported per call: mean (ns/op), p50
// and p99 in microseconds; tools/benchratio prints the goals.
func BenchmarkGatewayEcho(b *testing.B) {
	path, sum := plugintest.BuildModule(b, filepath.Join(moduleRoot, "examples/provider-echo"))
	specs, _ := json.Marshal([]map[string]any{{"name": "echo", "path": path, "sha256": sum}})
	file := filepath.Join(b.TempDir(), "plugins.json")
	os.WriteFile(file, specs, 0o600)
	se, m := mountApp(b, map[string]string{"AGENTBOT_PLUGINS": file,
		"AGENTBOT_RATE_LIMITS": "default=1000000000-M,/api/v1/gateway=1000000000-M", "AGENTBOT_GATEWAY_PRICES": "echo=0"})
	host := m.Host
	c := se.Client(b)
	_, csrf := c.SignUp("bench@example.com", "password-bench")
	key := c.Do("POST", "/api/keys", map[string]any{"name": "b"}, "X-CSRF-Token", csrf).Str("key")
	direct, ok := host.DirectClient("echo")
	if !ok {
		b.Fatal("echo plugin not up")
	}
	input := json.RawMessage(`{"text":"hello"}`)
	body := `{"plugin":"echo","text":"hello"}`
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

	b.Run("baseline", func(b *testing.B) {
		measureLatency(b, func() error {
			_, err := direct.Invoke(context.Background(), &provider.InvokeRequest{Capability: "echo", Input: input})
			return err
		})
	})
	// The floor: one HTTP/1.1 round trip on loopback to a handler that does
	// nothing, with the same client. The gateway cannot beat it.
	noop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{}`))
	}))
	defer noop.Close()
	b.Run("http-noop-floor", func(b *testing.B) { measureLatency(b, benchPost(b, noop.URL, "", body)) })
	// The floor of any Go HTTP gateway in front of this plugin: a bare
	// net/http handler making the same gRPC call, over the same client.
	// What "gateway" adds beyond it is the gateway's own doing.
	floor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if _, err := direct.Invoke(r.Context(), &provider.InvokeRequest{Capability: "echo", Input: input}); err != nil {
			w.WriteHeader(http.StatusBadGateway)
		}
		w.Write([]byte(`{}`))
	}))
	defer floor.Close()
	b.Run("http-grpc-floor", func(b *testing.B) { measureLatency(b, benchPost(b, floor.URL, "", body)) })
	// The gateway's handler called in this process, with no connection: its
	// own cost (middleware, authentication, payment step, dispatch over
	// gRPC, usage record), without the HTTP round trip of "gateway".
	b.Run("gateway-in-process", func(b *testing.B) { measureLatency(b, benchServe(b, se.Root, "/api/v1/gateway", key, body)) })
	b.Run("gateway", func(b *testing.B) { measureLatency(b, benchPost(b, se.URL+"/api/v1/gateway", key, body)) })
	// The same call through net/http's client: what the instrument adds.
	b.Run("gateway-net-http-client", func(b *testing.B) {
		measureLatency(b, benchPostNetHTTP(b, hc, se.URL+"/api/v1/gateway", key, body))
	})
}

// benchPost returns a call that POSTs body to url (with the API key, if
// any) and fails the benchmark unless the answer is 200. It goes through
// load.Client, which makes the call on the calling goroutine: net/http's
// client adds two goroutine hand-offs of its own to every call
// (benchPostNetHTTP, measured beside it in BenchmarkGatewayEcho).
func benchPost(b testing.TB, url, key, body string) func() error {
	u, err := neturl.Parse(url)
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	c, err := load.NewClient(url, h)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	call := c.Expect(200, "POST", u.RequestURI(), []byte(body))
	return func() error { return call(context.Background()) }
}

// benchPostNetHTTP is benchPost through net/http's client.
func benchPostNetHTTP(b testing.TB, hc *http.Client, url, key, body string) func() error {
	return func() error {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: status %d", url, resp.StatusCode)
		}
		return nil
	}
}

// benchServe is benchPost through h in this process, with no connection.
func benchServe(b testing.TB, h http.Handler, path, key, body string) func() error {
	return func() error {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%s: status %d: %s", path, rec.Code, rec.Body)
		}
		return nil
	}
}

// measureLatency runs call b.N times and reports, besides the mean, the p50
// and p99 latencies in microseconds.
func measureLatency(b *testing.B, call func() error) {
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
