// Package skilltest runs a skill's .wasm module in-process, through the same
// host module (package abi) and sandbox configuration the platform uses, so
// that an author's tests exercise the real ABI:
//
//	func TestGreet(t *testing.T) {
//		s := skilltest.Load(t, skilltest.Build(t, ".")) // the skill of the package under test
//		var out struct{ Greeting string }
//		if f := s.CallJSON(t, &skilltest.Host{}, map[string]any{"name": "Ada"}, &out); f != nil {
//			t.Fatalf("greet failed: %+v", f)
//		}
//	}
//
// Every Call gets a fresh instance, as on the platform.
package skilltest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/sdk/skill/internal/wasmbuild"
)

// Host is what the platform would grant a call, with fakes that tests can
// preset and inspect.
type Host struct {
	// KV is the skill's key-value store, always granted; nil starts empty
	// and is filled in by the first Call.
	KV map[string][]byte
	// Config is the installation's configuration.
	Config map[string]string
	// Fetch answers the skill's HTTP requests; nil means the "http"
	// capability is not granted.
	Fetch func(*abi.FetchRequest) (*abi.FetchResponse, error)
	// Limits bound each call; zero fields take abi's defaults.
	Limits abi.Limits
	// Timeout is each call's deadline; 0 means 10 s.
	Timeout time.Duration
	// Logs collects the skill's log lines as "level: message" (level is
	// debug, info, warn or error).
	Logs []string
}

// MemoryPages caps each instance's memory (64 KiB pages): 256 MiB.
const MemoryPages = 4096

// cache shares compiled code between every Load, and between test runs:
// compiling a Go skill takes a second, or ten under the race detector.
var cache = newCache()

// newCache keeps compiled modules in $TMPDIR/agentbot-skilltest-cache, keyed
// by wazero by its version, the platform and the module's hash; it falls back
// to memory.
func newCache() wazero.CompilationCache {
	dir := filepath.Join(os.TempDir(), "agentbot-skilltest-cache")
	if c, err := wazero.NewCompilationCacheWithDir(dir); err == nil {
		return c
	}
	return wazero.NewCompilationCache()
}

// Skill is a compiled skill module with its own runtime.
type Skill struct {
	r        wazero.Runtime
	compiled wazero.CompiledModule
}

// Build builds your skill's main package, in directory pkgDir ("." for the
// package under test), as the platform runs it: a reactor module, built with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared. It builds each
// directory once per test binary, and returns the path of a copy of the
// module in a temporary directory of t, for Load. A failed build fails t with
// the compiler's output.
func Build(t testing.TB, pkgDir string) string {
	t.Helper()
	return wasmbuild.Path(t, pkgDir)
}

// Load compiles the module at wasmPath, checks that it imports only ABI v1
// and WASI, and closes it when the test ends.
func Load(t testing.TB, wasmPath string) *Skill {
	t.Helper()
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatalf("skilltest: %v", err)
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, abi.RuntimeConfig(MemoryPages).WithCompilationCache(cache))
	t.Cleanup(func() { _ = r.Close(ctx) })
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		t.Fatalf("skilltest: %v", err)
	}
	if _, err := abi.Instantiate(ctx, r); err != nil {
		t.Fatalf("skilltest: %v", err)
	}
	compiled, err := r.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatalf("skilltest: compiling %s: %v", wasmPath, err)
	}
	if err := abi.CheckImports(compiled); err != nil {
		t.Fatalf("skilltest: %s: %v", wasmPath, err)
	}
	return &Skill{r: r, compiled: compiled}
}

// Call runs the skill once on input, in a fresh instance, and returns its
// output, or its failure. A trap or a missed deadline fails the test.
func (s *Skill) Call(t testing.TB, h *Host, input []byte) (output []byte, failure *abi.Failure) {
	t.Helper()
	if h == nil {
		h = &Host{}
	}
	if h.KV == nil {
		h.KV = map[string][]byte{}
	}
	timeout := h.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	mod, err := s.r.InstantiateModule(ctx, s.compiled, abi.ModuleConfig(""))
	if err != nil {
		t.Fatalf("skilltest: instantiating: %v", err)
	}
	defer mod.Close(context.Background())

	caps := abi.Capabilities{
		KV:     mapKV(h.KV),
		Config: h.Config,
		Log: func(level int, msg string) {
			h.Logs = append(h.Logs, levels[level]+": "+msg)
		},
	}
	if h.Fetch != nil {
		caps.Fetch = abi.FetcherFunc(func(_ context.Context, req *abi.FetchRequest) (*abi.FetchResponse, error) {
			return h.Fetch(req)
		})
	}
	call := abi.NewCall(input, caps, h.Limits)
	if err := abi.Run(ctx, mod, call); err != nil {
		t.Fatalf("skilltest: call(%.100q): %v", input, err)
	}
	output, failure, _ = call.Result()
	return output, failure
}

// CallJSON runs the skill on the JSON encoding of in and, on success, decodes
// its output into out (unless out is nil). It returns the failure, if any.
func (s *Skill) CallJSON(t testing.TB, h *Host, in, out any) *abi.Failure {
	t.Helper()
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("skilltest: encoding input: %v", err)
	}
	output, failure := s.Call(t, h, input)
	if failure != nil {
		return failure
	}
	if out != nil {
		if err := json.Unmarshal(output, out); err != nil {
			t.Fatalf("skilltest: decoding output %.200q: %v", output, err)
		}
	}
	return nil
}

var levels = [...]string{"debug", "info", "warn", "error"}

// mapKV is the in-memory KV behind Host.KV.
type mapKV map[string][]byte

var _ abi.KV = mapKV(nil)

func (m mapKV) Get(_ context.Context, key string) ([]byte, bool, error) {
	v, ok := m[key]
	return v, ok, nil
}

func (m mapKV) Set(_ context.Context, key string, v []byte) error {
	m[key] = v
	return nil
}

func (m mapKV) Delete(_ context.Context, key string) error {
	delete(m, key)
	return nil
}

func (m mapKV) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}
