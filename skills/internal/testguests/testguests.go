// Package testguests builds the skill modules the skills runtime's tests run:
// small Go guests, one main package per directory here, built on demand for
// GOOS=wasip1 GOARCH=wasm as reactors (once per test binary), and the
// hand-written fixtures of the SDK's testguests/testdata (loop, trap, grow,
// forbidden, command), read by path.
//
//	echo     Handle: {"input": <input>, "instanceCalls": n, "kvCount": n}; counts calls in the
//	         instance (a package variable) and in the KV (key "count", when granted)
//	kvuser   Route: get, set, delete, list on the KV; output {"found", "value"} / {"keys"}
//	fetcher  Handle: fetches {"url","method"}; outputs {"status","body"} or {"error"} (never fails)
//	hog      Handle: allocates {"chunk"} bytes {"times"} times and keeps them
//	flood    Handle: writes {"bytes"} of output in {"chunk"} writes ({"ignore"}: carry on when refused)
//	spin     Handle: {"n"} rounds of a loop, forever when n is 0; outputs {"instanceCalls"}
//	work     Handle: {"n"} rounds of a CPU-bound hash loop (n = 500000 is about 1 ms without close-on-context-done); outputs {"sum"}
//
// Packages outside skills/ cannot import this one; they build the guests'
// directories with `go build` (see Dir).
package testguests

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Dir is this package's source directory, which holds the guests.
var Dir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}()

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

// Wasm returns the module of the Go guest in directory name, building it the
// first time the test binary asks.
func Wasm(t testing.TB, name string) []byte {
	t.Helper()
	mu.Lock()
	b := builds[name]
	if b == nil {
		b = &build{}
		builds[name] = b
	}
	mu.Unlock()
	b.once.Do(func() { b.wasm, b.out, b.err = Build(filepath.Join(Dir, name)) })
	if b.err != nil {
		t.Fatalf("building guest %s: %v\n%s", name, b.err, b.out)
	}
	return b.wasm
}

// Build builds the Go skill (a main package) in dir as a WASI reactor and
// returns the module, or the compiler's output with the error.
func Build(dir string) (wasm, out []byte, err error) {
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

// Fixture returns the SDK's hand-written module testdata/name.wasm (loop,
// trap, grow, forbidden, command, …).
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join(Dir, "..", "..", "..", "sdk", "skill", "internal", "testguests", "testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}
