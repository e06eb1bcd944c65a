package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/sdk/skill/abi"
)

// skillApp runs the app (no plugins) with a published echo skill and returns
// its URL and an API key.
func skillApp(b *testing.B, isolation string) (se *servertest.Env, key string) {
	b.Helper()
	plugins := filepath.Join(b.TempDir(), "plugins.json")
	os.WriteFile(plugins, []byte("[]"), 0o600)
	se, _ = mountApp(b, map[string]string{"AGENTBOT_PLUGINS": plugins, "AGENTBOT_SKILL_DIR": b.TempDir(),
		"AGENTBOT_SKILL_ISOLATION": isolation, "AGENTBOT_RATE_LIMITS": "default=1000000000-M,/api/v1/gateway=1000000000-M"})
	c := se.Client(b)
	_, csrf := c.SignUp("bench@example.com", "password-bench")
	key = c.Do("POST", "/api/keys", map[string]any{"name": "b"}, "X-CSRF-Token", csrf).Str("key")
	c.Header.Set("Authorization", "Bearer "+key)
	publish(b, c, skillWasm(b, guestDir+"echo"), manifest("echo", "1.0.0", nil)).Expect(b, 201, "")
	return se, key
}

// BenchmarkSkillCall measures what the platform adds to a skill call, on the
// echo guest with a small JSON input:
//
//	baseline       raw wazero as the platform configures it: instantiate the
//	               compiled module (abi.ModuleConfig), one abi.Run, close
//	gateway        POST /api/v1/gateway {"plugin":"skill:echo",…} with an API
//	               key: authentication, rate limit, payment step, catalogue
//	               lookup, a warm instance of the caller's pool, usage record
//	gateway-fresh  the same with AGENTBOT_SKILL_ISOLATION=fresh (an instance per call)
//	warm-raw       raw wazero on a warm instance (the floor of a pooled call:
//	               what "gateway" would cost with no platform and no HTTP)
//	gateway-in-process
//	               "gateway" through the handler in this process, without
//	               the HTTP round trip: the platform's own cost over warm-raw
//
// Reported per call: mean (ns/op), p50 and p99 in microseconds.
func BenchmarkSkillCall(b *testing.B) {
	wasm := skillWasm(b, guestDir+"echo")
	input := []byte(`{"agentId":"agt_1","text":"hello"}`)
	body := `{"plugin":"skill:echo","agentId":"agt_1","text":"hello"}`

	b.Run("baseline", func(b *testing.B) {
		ctx := context.Background()
		r := wazero.NewRuntimeWithConfig(ctx, abi.RuntimeConfig(1024))
		defer r.Close(ctx)
		wasi_snapshot_preview1.MustInstantiate(ctx, r)
		if _, err := abi.Instantiate(ctx, r); err != nil {
			b.Fatal(err)
		}
		cm, err := r.CompileModule(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		measureLatency(b, func() error {
			mod, err := r.InstantiateModule(ctx, cm, abi.ModuleConfig(""))
			if err != nil {
				return err
			}
			defer mod.Close(ctx)
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			call := abi.NewCall(input, abi.Capabilities{}, abi.Limits{})
			if err := abi.Run(cctx, mod, call); err != nil {
				return err
			}
			if _, f, _ := call.Result(); f != nil {
				b.Fatal(f)
			}
			return nil
		})
	})

	b.Run("warm-raw", func(b *testing.B) {
		call := rawWazeroCall(b, wasm, input)
		measureLatency(b, func() error { return call(context.Background()) })
	})
	b.Run("gateway-in-process", func(b *testing.B) {
		se, key := skillApp(b, "pool")
		measureLatency(b, benchServe(b, se.Root, "/api/v1/gateway", key, body))
	})
	for _, tc := range []struct{ name, isolation string }{{"gateway", "pool"}, {"gateway-fresh", "fresh"}} {
		b.Run(tc.name, func(b *testing.B) {
			se, key := skillApp(b, tc.isolation)
			measureLatency(b, benchPost(b, se.URL+"/api/v1/gateway", key, body))
		})
	}
}
