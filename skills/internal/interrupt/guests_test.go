package interrupt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/sdk/skill/skilltest"
	"github.com/agentbot/gateway/skills/internal/testguests"
)

// realModules are the modules skills are made of, as seeds: the runtime's
// Go and AssemblyScript test guests, the SDK's hand-written fixtures, the
// Go hello example and the shipped skills.
func realModules(t testing.TB) map[string][]byte {
	t.Helper()
	mods := map[string][]byte{"verbs-as": testguests.AS(t, "verbs")}
	for _, name := range []string{"echo", "work", "spin", "slowinit"} {
		mods[name] = testguests.Wasm(t, name)
	}
	for _, name := range []string{"loop", "trap", "grow", "oob", "initcall", "badsig", "command", "forbidden"} {
		mods["fixture "+name] = testguests.Fixture(t, name)
	}
	if hello, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "skill-hello", "hello.wasm")); err == nil {
		mods["skill-hello"] = hello
	}
	shipped, err := filepath.Glob(filepath.Join("..", "..", "shipped", "*", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range shipped {
		dir := filepath.Dir(m)
		wasm, err := os.ReadFile(skilltest.Build(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		mods["shipped "+filepath.Base(dir)] = wasm
	}
	return mods
}

// cacheDir is the compilation cache the skills runtime's tests use too.
var cacheDir = filepath.Join(os.TempDir(), "agentbot-skills-test-cache")

// Running the test guests instrumented gives the same results as running
// them as published.
func TestGuestsRunAlike(t *testing.T) {
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, abi.RuntimeConfig(1024).WithCloseOnContextDone(false).WithCompilationCache(cache))
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if _, err := abi.Instantiate(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if err := Instantiate(ctx, rt); err != nil {
		t.Fatal(err)
	}
	run := func(wasm []byte, input string) string {
		cm, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		defer cm.Close(ctx)
		mod, err := rt.InstantiateModule(ctx, cm, abi.ModuleConfig(""))
		if err != nil {
			t.Fatal(err)
		}
		defer mod.Close(ctx)
		call := abi.NewCall([]byte(input), abi.Capabilities{Config: map[string]string{"k": "v"}}, abi.Limits{})
		err = abi.Run(ctx, mod, call)
		out, f, _ := call.Result()
		var b strings.Builder
		b.Write(out)
		if f != nil {
			b.WriteString(" failure " + f.Code + ": " + f.Message)
		}
		if err != nil {
			// The stack trace names functions, whose indices are kept.
			b.WriteString(" error " + err.Error())
		}
		return b.String()
	}
	mods := realModules(t)
	for _, tc := range []struct{ guest, input string }{
		{"echo", `{"text":"héllo","n":[1,2.5,null,true]}`},
		{"work", `{"n":100000}`},
		{"spin", `{"n":1000}`},
		{"verbs-as", `{"action":"echo","x":[1,"ü",{"y":null}]}`},
		{"verbs-as", `{"action":"json","a":1e300,"b":"\u0000"}`},
		{"verbs-as", `{"action":"panic"}`},
		{"skill-hello", `{"action":"hello","name":"Ada"}`},
		{"fixture trap", ``},
		{"fixture oob", ``},
	} {
		wasm := mods[tc.guest]
		if wasm == nil {
			continue
		}
		inst, err := Instrument(wasm)
		if err != nil {
			t.Fatalf("Instrument(%s) = %v", tc.guest, err)
		}
		want, got := run(wasm, tc.input), run(inst, tc.input)
		if got != want {
			t.Errorf("%s(%s) instrumented = %q; as published %q", tc.guest, tc.input, got, want)
		}
		if bytes.Equal(wasm, inst) {
			t.Errorf("%s: Instrument changed nothing", tc.guest)
		}
	}
}

// FuzzInstrument: Instrument never panics, and whenever wazero accepts a
// module, it instruments it, and wazero accepts the result.
func FuzzInstrument(f *testing.F) {
	f.Add(loops())
	f.Add(every())
	f.Add(env())
	for _, wasm := range realModules(f) {
		f.Add(wasm)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(features))
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, ierr := Instrument(wasm)
		if errors.Is(ierr, errFraming) || errors.Is(ierr, errLimit) {
			// Invalid whatever follows, or refused, and wazero may take
			// minutes or gigabytes to say so (see errFraming, MaxLocals).
			return
		}
		valid := func() (ok bool) {
			// wazero v1.12.0 panics on a throw of an undeclared tag's type,
			// with exception handling on (not on the platform's runtime).
			defer func() {
				if recover() != nil {
					ok = false
				}
			}()
			cm, err := rt.CompileModule(ctx, wasm)
			if err != nil {
				return false
			}
			cm.Close(ctx)
			return true
		}
		if !valid() {
			return
		}
		if ierr != nil {
			if strings.Contains(ierr.Error(), "reserved") {
				return
			}
			t.Fatalf("wazero accepts the module; Instrument = %v", ierr)
		}
		cm, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("the module is valid; instrumented, wazero says %v", err)
		}
		cm.Close(ctx)
	})
}
