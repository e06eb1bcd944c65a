// Package testguests provides the skill modules the SDK's tests run: Go
// guests, one main package per directory here, built on demand for
// GOOS=wasip1 GOARCH=wasm as reactors; and hand-written modules in testdata/,
// committed with their .wat sources (see testdata/README.md).
//
//	echo      Handle: output = input
//	verbs     Route: one action per verb of package skill
//	limits    Route: floods the output, spends the host-call budget, exhausts memory
//	sandbox   Handle: reports what of the host's filesystem, environment, arguments and clock it can see
//	nohandler registers no handler
package testguests

//go:generate sh -c "cd testdata && for f in *.wat; do wat2wasm $DOLLAR{f} -o $DOLLAR{f%.wat}.wasm; done"

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/agentbot/gateway/sdk/skill/internal/wasmbuild"
)

// dir is this package's source directory, which holds the guests.
var dir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}()

// Wasm returns the module of the Go guest in directory name, building it the
// first time a test binary asks (the first wasip1 build of the standard
// library takes about 30 s; later ones come from the Go build cache).
func Wasm(t testing.TB, name string) []byte {
	t.Helper()
	return wasmbuild.Wasm(t, filepath.Join(dir, name))
}

// Path writes the Go guest's module into the test's temporary directory and
// returns its path.
func Path(t testing.TB, name string) string {
	t.Helper()
	return wasmbuild.Path(t, filepath.Join(dir, name))
}

// Fixture returns the committed module testdata/name.wasm.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	wasm, err := os.ReadFile(FixturePath(name))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// FixturePath returns the path of testdata/name.wasm.
func FixturePath(name string) string {
	return filepath.Join(dir, "testdata", name+".wasm")
}
