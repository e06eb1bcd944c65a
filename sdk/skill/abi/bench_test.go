package abi

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/agentbot/gateway/sdk/skill/internal/testguests"
)

// The costs a runtime plans with, on the echo and verbs Go guests. Run with
// go test -run '^$' -bench . ./abi/    (in sdk/skill, the skill kit's module)

const benchInput = `{"action":"json","numbers":[1,2,3,4,5,6,7,8,9],"label":"seventy bytes of input json"}`

// BenchmarkCompile compiles a Go guest without a cache: once per module
// version on the platform.
func BenchmarkCompile(b *testing.B) {
	wasm := testguests.Wasm(b, "verbs")
	ctx := context.Background()
	for b.Loop() {
		r := wazero.NewRuntimeWithConfig(ctx, RuntimeConfig(1024))
		if _, err := r.CompileModule(ctx, wasm); err != nil {
			b.Fatal(err)
		}
		r.Close(ctx)
	}
}

// BenchmarkInstantiate creates and closes an instance, _initialize included.
func BenchmarkInstantiate(b *testing.B) {
	r := newRuntime(b, 1024)
	m := compile(b, r, testguests.Wasm(b, "verbs"))
	ctx := context.Background()
	for b.Loop() {
		mod, err := r.InstantiateModule(ctx, m, ModuleConfig(""))
		if err != nil {
			b.Fatal(err)
		}
		mod.Close(ctx)
	}
}

// BenchmarkFreshCall is a platform call: instantiate, run (InputJSON,
// OutputJSON through the router), close.
func BenchmarkFreshCall(b *testing.B) {
	r := newRuntime(b, 1024)
	m := compile(b, r, testguests.Wasm(b, "verbs"))
	ctx := context.Background()
	for b.Loop() {
		mod, err := r.InstantiateModule(ctx, m, ModuleConfig(""))
		if err != nil {
			b.Fatal(err)
		}
		call := NewCall([]byte(benchInput), Capabilities{}, Limits{})
		if err := Run(ctx, mod, call); err != nil {
			b.Fatal(err)
		}
		if _, f, _ := call.Result(); f != nil {
			b.Fatal(f)
		}
		mod.Close(ctx)
	}
}

// BenchmarkWarmCall runs the same call on a live instance, as a pool would.
func BenchmarkWarmCall(b *testing.B) {
	r := newRuntime(b, 1024)
	m := compile(b, r, testguests.Wasm(b, "verbs"))
	ctx := context.Background()
	mod, err := r.InstantiateModule(ctx, m, ModuleConfig(""))
	if err != nil {
		b.Fatal(err)
	}
	defer mod.Close(ctx)
	for b.Loop() {
		call := NewCall([]byte(benchInput), Capabilities{}, Limits{})
		if err := Run(ctx, mod, call); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWarmKV is a warm call that makes one KV host call (set).
func BenchmarkWarmKV(b *testing.B) {
	r := newRuntime(b, 1024)
	m := compile(b, r, testguests.Wasm(b, "verbs"))
	ctx := context.Background()
	mod, err := r.InstantiateModule(ctx, m, ModuleConfig(""))
	if err != nil {
		b.Fatal(err)
	}
	defer mod.Close(ctx)
	kv := memKV{}
	in := []byte(`{"action":"kv","op":"set","key":"k","value":"v"}`)
	for b.Loop() {
		if err := Run(ctx, mod, NewCall(in, Capabilities{KV: kv}, Limits{})); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWarmEcho is the floor: a warm call that copies input to output.
func BenchmarkWarmEcho(b *testing.B) {
	r := newRuntime(b, 1024)
	m := compile(b, r, testguests.Wasm(b, "echo"))
	ctx := context.Background()
	mod, err := r.InstantiateModule(ctx, m, ModuleConfig(""))
	if err != nil {
		b.Fatal(err)
	}
	defer mod.Close(ctx)
	in := []byte(benchInput)
	for b.Loop() {
		if err := Run(ctx, mod, NewCall(in, Capabilities{}, Limits{})); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunner compares a warm call through Run (the entry point looked
// up, and a function with its own stack made, at every call: baseline) with
// one through a Runner kept with the instance.
func BenchmarkRunner(b *testing.B) {
	r := newRuntime(b, 1024)
	m := compile(b, r, testguests.Wasm(b, "echo"))
	ctx := context.Background()
	mod, err := r.InstantiateModule(ctx, m, ModuleConfig(""))
	if err != nil {
		b.Fatal(err)
	}
	defer mod.Close(ctx)
	b.Run("baseline", func(b *testing.B) {
		for b.Loop() {
			if err := Run(ctx, mod, NewCall([]byte(benchInput), Capabilities{}, Limits{})); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("runner", func(b *testing.B) {
		run, err := NewRunner(mod)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := run.Run(ctx, NewCall([]byte(benchInput), Capabilities{}, Limits{})); err != nil {
				b.Fatal(err)
			}
		}
	})
}
