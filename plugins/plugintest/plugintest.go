// Package plugintest builds plugin binaries for tests, once per test binary.
package plugintest

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
	dir   string
)

// Build compiles the main package pkg (an import path of this module) and
// returns the binary's path and hex SHA-256. Binaries live in a temporary
// directory shared by the whole test binary.
func Build(t testing.TB, pkg string) (path, sum string) {
	t.Helper()
	return build(t, pkg, "", pkg)
}

// BuildModule is Build for a plugin that is a Go module of its own (as
// examples/provider-echo is): it compiles the main package at the root of the
// module in directory modDir, with that module's own requirements.
func BuildModule(t testing.TB, modDir string) (path, sum string) {
	t.Helper()
	abs, err := filepath.Abs(modDir)
	if err != nil {
		t.Fatal(err)
	}
	return build(t, abs, abs, ".")
}

// build runs `go build pkg` in directory wd (the current one if empty), once
// per key.
func build(t testing.TB, key, wd, pkg string) (path, sum string) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[key]; ok {
		return p, Sum(t, p)
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "agentbot-plugins-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	out := filepath.Join(dir, filepath.Base(key))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = wd
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build %s: %v", key, err)
	}
	built[key] = out
	return out, Sum(t, out)
}

// Sum is the hex SHA-256 of a file.
func Sum(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Main runs the tests and removes the built binaries. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	if dir != "" {
		os.RemoveAll(dir)
	}
	mu.Unlock()
	os.Exit(code)
}
