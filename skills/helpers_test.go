package skills

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentbot/gateway/skills/internal/testguests"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testCache keeps compiled guests between runtimes and test runs: compiling a
// Go guest takes a second, ten under the race detector.
var testCache = filepath.Join(os.TempDir(), "agentbot-skills-test-cache")

// newRuntime starts a runtime closed with the test.
func newRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.CacheDir == "" {
		// Shared by every test's runtime, so unmanaged (see Config.CacheMaxBytes).
		cfg.CacheDir, cfg.CacheMaxBytes = testCache, -1
	}
	if cfg.Log == nil {
		cfg.Log = quiet
	}
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

// guest compiles one of skills/internal/testguests.
func guest(t testing.TB, r *Runtime, name string) *Module {
	t.Helper()
	m, err := r.Compile(context.Background(), testguests.Wasm(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// decode unmarshals a call's output into a map.
func decode(t testing.TB, out []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("output %.200q: %v", out, err)
	}
	return v
}

// eventually waits (up to 10 s) until cond holds: for a state another
// goroutine reaches, never a fixed sleep.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
