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
//	spin     Handle: {"n"} rounds of a loop, forever when n is 0 ({"indirect"}: in a function called
//	         through call_indirect); outputs {"instanceCalls"}
//	work     Handle: {"n"} rounds of a CPU-bound hash loop (n = 500000 is about 1 ms without close-on-context-done); outputs {"sum"}
//	slowinit an init function that never returns: instantiating it runs until the host stops it
//
// and, committed in testdata/ (see its README), verbs-as: the AssemblyScript SDK's test guest
// (sdk/skill-as/tests/guests/verbs.ts; "bump" counts calls in a global), read by AS.
//
// Packages outside skills/ cannot import this one; they build the guests'
// directories (see Dir) with skilltest.Build.
package testguests

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/agentbot/gateway/sdk/skill/skilltest"
)

// Dir is this package's source directory, which holds the guests.
var Dir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}()

// Wasm returns the module of the Go guest in directory name, built by
// skilltest.Build the first time the test binary asks.
func Wasm(t testing.TB, name string) []byte {
	t.Helper()
	wasm, err := os.ReadFile(skilltest.Build(t, filepath.Join(Dir, name)))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
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

// AS returns the committed AssemblyScript guest testdata/name-as.wasm.
func AS(t testing.TB, name string) []byte {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join(Dir, "testdata", name+"-as.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}
