// Package wasmbuild builds Go skills for tests as the platform runs them:
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared, a WASI reactor. Each
// package is built once per test binary (the first wasip1 build of the
// standard library takes about 30 s; later ones come from the Go build
// cache). skilltest.Build is its public face; the SDK's own test guests use
// it directly, since package abi's tests cannot import skilltest.
package wasmbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

type build struct {
	once sync.Once
	wasm []byte
	out  []byte
	err  error
}

var (
	mu     sync.Mutex
	builds = map[string]*build{}
)

// Wasm returns the module of the main package in directory dir, building it
// the first time the test binary asks; a failed build fails t.
func Wasm(t testing.TB, dir string) []byte {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	b := builds[abs]
	if b == nil {
		b = &build{}
		builds[abs] = b
	}
	mu.Unlock()
	b.once.Do(func() { b.wasm, b.out, b.err = goBuild(abs) })
	if b.err != nil {
		t.Fatalf("building %s for wasip1: %v\n%s", dir, b.err, b.out)
	}
	return b.wasm
}

// Path writes Wasm(t, dir) into a new temporary directory of t, as the base
// name of dir with ".wasm", and returns its path.
func Path(t testing.TB, dir string) string {
	t.Helper()
	wasm := Wasm(t, dir)
	abs, _ := filepath.Abs(dir) // Wasm succeeded with it
	file := filepath.Join(t.TempDir(), filepath.Base(abs)+".wasm")
	if err := os.WriteFile(file, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// goBuild builds the main package in dir, returning the module, or the
// compiler's output with the error.
func goBuild(dir string) (wasm, out []byte, err error) {
	tmp, err := os.MkdirTemp("", "skillguest-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, "skill.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", file, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, out, err
	}
	wasm, err = os.ReadFile(file)
	return wasm, nil, err
}
