package plugins_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/agentbot/gateway/plugins"
	"github.com/agentbot/gateway/plugins/plugintest"
	"github.com/agentbot/gateway/sdk/provider"
)

func TestMain(m *testing.M) { plugintest.Main(m) }

const testPlugin = "github.com/agentbot/gateway/plugins/internal/testplugin"

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startHost(t *testing.T, spec plugins.Spec, o plugins.Options) (*plugins.Host, *syncBuf) {
	t.Helper()
	logs := &syncBuf{}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(logs, nil))
	}
	h, err := plugins.New([]plugins.Spec{spec}, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h.Start(ctx)
	t.Cleanup(func() { h.Close(context.Background()) })
	return h, logs
}

func testSpec(t *testing.T) plugins.Spec {
	path, sum := plugintest.Build(t, testPlugin)
	return plugins.Spec{Name: "test", Path: path, SHA256: sum, Config: json.RawMessage(`{"greeting":"hi"}`)}
}

func invoke(h *plugins.Host, id, input string) (*provider.InvokeResponse, error) {
	return h.Invoke(context.Background(), &provider.InvokeRequest{Capability: id, Input: json.RawMessage(input)})
}

func TestHostServesAndConfigures(t *testing.T) {
	h, _ := startHost(t, testSpec(t), plugins.Options{})
	if _, ok := h.Lookup("test-echo"); !ok {
		t.Fatal("test-echo not registered")
	}
	resp, err := invoke(h, "test-echo", `{"x":1}`)
	if err != nil || string(resp.Output) != `{"x":1}` {
		t.Fatalf("Invoke(test-echo) = %+v, %v", resp, err)
	}
	resp, err = invoke(h, "test-config", `{}`)
	if err != nil || string(resp.Output) != `{"greeting":"hi"}` {
		t.Errorf("plugin config = %s, %v; want the spec's config", resp.Output, err)
	}
	if _, err := invoke(h, "nope", `{}`); !errors.Is(err, plugins.ErrUnknown) {
		t.Errorf("Invoke(nope) = %v; want ErrUnknown", err)
	}
	if rs := h.Routes(); len(rs) != 1 || rs[0].Path != "/api/test/:name" || rs[0].Plugin != "test" {
		t.Errorf("Routes = %+v", rs)
	}
	var n int
	err = h.InvokeStream(context.Background(), &provider.InvokeRequest{Capability: "test-stream", Input: json.RawMessage(`{"chunks":3}`)},
		func(c *provider.Chunk) error { n++; return nil })
	if err != nil || n != 4 {
		t.Errorf("InvokeStream = %d chunks, %v; want 3 data + 1 usage", n, err)
	}
}

func TestChecksumMismatchIsRefused(t *testing.T) {
	spec := testSpec(t)
	spec.SHA256 = strings.Repeat("0", 64)
	h, logs := startHost(t, spec, plugins.Options{})
	if _, ok := h.Lookup("test-echo"); ok {
		t.Error("a plugin with a bad checksum registered its ids")
	}
	if !strings.Contains(logs.String(), "does not match the configured SHA-256") {
		t.Errorf("log = %s; want a clear checksum line", logs.String())
	}
	st := h.Status()
	if st[0].Up || !strings.Contains(st[0].Error, "checksum") {
		t.Errorf("Status = %+v; want down with a checksum error", st)
	}
}

func TestBadConfigKeepsPluginDown(t *testing.T) {
	spec := testSpec(t)
	spec.Config = json.RawMessage(`{"bad":true}`)
	h, _ := startHost(t, spec, plugins.Options{BackoffMin: time.Hour})
	if st := h.Status(); st[0].Up || !strings.Contains(st[0].Error, "INVALID_CONFIG") {
		t.Errorf("Status = %+v; want down with the plugin's config error", st)
	}
}

// kill -9 under load: only this plugin's calls fail, fast, and it is back within a second.
func TestKilledPluginRestartsWithinASecond(t *testing.T) {
	h, _ := startHost(t, testSpec(t), plugins.Options{})
	resp, err := invoke(h, "test-pid", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	json.Unmarshal(resp.Output, &pid)

	ctx, stop := context.WithCancel(context.Background())
	var ok, unavailable, other atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, err := invoke(h, "test-echo", `{"load":true}`)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, plugins.ErrUnavailable):
					unavailable.Add(1)
				default:
					other.Add(1)
					t.Errorf("unexpected error under load: %v", err)
				}
			}
		}()
	}
	// The load is flowing before the kill.
	for deadline := time.Now().Add(10 * time.Second); ok.Load() < 20; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no load got through before the kill")
		}
	}
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var back time.Duration
	for time.Since(killed) < 5*time.Second {
		resp, err := invoke(h, "test-pid", `{}`)
		var newPid int
		if err == nil && json.Unmarshal(resp.Output, &newPid) == nil && newPid != pid {
			back = time.Since(killed)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if back == 0 || back > time.Second {
		t.Errorf("plugin served again after %v; want within 1s", back)
	}
	if unavailable.Load() == 0 || ok.Load() == 0 {
		t.Errorf("under load: %d ok, %d unavailable; want both", ok.Load(), unavailable.Load())
	}
	if st := h.Status(); !st[0].Up || st[0].Restarts != 1 {
		t.Errorf("Status = %+v; want up after one restart", st)
	}
}

func TestHungCallEndsAtDeadlineAndBreakerOpens(t *testing.T) {
	spec := testSpec(t)
	spec.Timeout = plugins.Duration(150 * time.Millisecond)
	h, _ := startHost(t, spec, plugins.Options{BreakerThreshold: 2, BreakerCooldown: time.Hour})
	for range 2 {
		start := time.Now()
		_, err := invoke(h, "test-hang", `{}`)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Invoke(test-hang) = %v; want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("hung call took %v; want it cut near its 150ms deadline", d)
		}
	}
	// Two consecutive timeouts open the breaker: the next call fails at once.
	if _, err := invoke(h, "test-echo", `{}`); !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("Invoke after breaker opened = %v; want ErrUnavailable", err)
	}
	if st := h.Status(); st[0].Breaker != "open" {
		t.Errorf("breaker = %q; want open", st[0].Breaker)
	}
}

func TestCrashMidCallIsUnavailable(t *testing.T) {
	h, _ := startHost(t, testSpec(t), plugins.Options{})
	if _, err := invoke(h, "test-crash", `{}`); !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("Invoke(test-crash) = %v; want ErrUnavailable", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := invoke(h, "test-echo", `{}`); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("plugin did not come back after crashing")
}

func TestCloseStopsPlugins(t *testing.T) {
	spec := testSpec(t)
	h, err := plugins.New([]plugins.Spec{spec}, plugins.Options{Log: slog.New(slog.NewTextHandler(&syncBuf{}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.Start(context.Background())
	resp, err := invoke(h, "test-pid", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	json.Unmarshal(resp.Output, &pid)
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("plugin process %d still alive after Close", pid)
	}
}

func TestSpecValidation(t *testing.T) {
	for _, s := range []plugins.Spec{
		{Name: "", Path: "/x", SHA256: strings.Repeat("a", 64)},
		{Name: "a", Path: "", SHA256: strings.Repeat("a", 64)},
		{Name: "a", Path: "/x", SHA256: "abc"},
	} {
		if _, err := plugins.New([]plugins.Spec{s}, plugins.Options{}); err == nil {
			t.Errorf("New(%+v) = nil error; want a validation error", s)
		}
	}
}
