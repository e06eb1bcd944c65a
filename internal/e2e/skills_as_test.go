package e2e

// Skills in AssemblyScript end to end: the example built with its npm
// scripts (sdk/skill-as, examples/skill-hello-as), published to a running
// gateway and called through POST /api/v1/gateway; per-skill isolation over
// HTTP; the SDK's own tests.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/skills"
)

const (
	helloASDir = "examples/skill-hello-as"
	sdkASDir   = "sdk/skill-as"
)

// npmRun runs `npm run <script>` in dir (relative to the repository root),
// whose dependencies `npm ci` installed (requireNode checks), and fails t
// with npm's output if it fails.
func npmRun(t testing.TB, dir, script string) {
	t.Helper()
	abs := filepath.Join(moduleRoot, dir)
	requireNode(t, abs, "assemblyscript")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "run", "--silent", script)
	cmd.Dir = abs
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("npm run %s in %s: %v\n%s", script, dir, err, out.Bytes())
	}
}

var helloASBuild struct {
	sync.Mutex
	wasm []byte
}

// helloAS builds examples/skill-hello-as with `npm run build` (asc with the
// SDK's asconfig.json), once per test binary, and returns the module.
func helloAS(t testing.TB) []byte {
	t.Helper()
	helloASBuild.Lock()
	defer helloASBuild.Unlock()
	if helloASBuild.wasm == nil {
		npmRun(t, helloASDir, "build")
		wasm, err := os.ReadFile(filepath.Join(moduleRoot, helloASDir, "build", "hello.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		helloASBuild.wasm = wasm
	}
	return helloASBuild.wasm
}

// asApp runs the application (no plugins, no shipped skills) and returns a
// client with an API key of a new user.
func asApp(t testing.TB, vars map[string]string) (*servertest.Env, *servertest.Client) {
	t.Helper()
	plugins := filepath.Join(t.TempDir(), "plugins.json")
	if err := os.WriteFile(plugins, []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"AGENTBOT_PLUGINS": plugins, "AGENTBOT_SKILL_DIR": t.TempDir(),
		"AGENTBOT_RATE_LIMITS": "default=1000000000-M,/api/v1/gateway=1000000000-M,/api/register=1000000-M"}
	for k, v := range vars {
		all[k] = v
	}
	se, _ := mountApp(t, all)
	return se, keyClient(t, se, "author@example.com")
}

// keyClient signs up email and returns a client that sends an API key of it.
func keyClient(t testing.TB, se *servertest.Env, email string) *servertest.Client {
	t.Helper()
	c := se.Client(t)
	_, csrf := c.SignUp(email, "password-"+email)
	key := c.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", csrf).Expect(t, 201, "").Str("key")
	kc := se.Client(t)
	kc.Header.Set("Authorization", "Bearer "+key)
	return kc
}

// The AssemblyScript example, as its README publishes and calls it: built
// with npm, published with its manifest, called through the gateway.
func TestASSkillEndToEnd(t *testing.T) {
	wasm := helloAS(t)
	man, err := os.ReadFile(filepath.Join(moduleRoot, helloASDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	se, a := asApp(t, nil)
	b := keyClient(t, se, "other@example.com")

	r := publish(t, a, wasm, string(man)).Expect(t, 201, "")
	sk := r.JSON["skill"].(map[string]any)
	if r.Str("gatewayId") != "skill:hello-as" || sk["sha256"] != sha(wasm) || sk["isolation"] != "fresh" {
		t.Errorf("publish = %s; want skill:hello-as, its digest, isolation fresh (a small module starts in microseconds)", r.Body)
	}
	t.Logf("AssemblyScript hello: %d bytes; Go hello: %d bytes", len(wasm), len(skillWasm(t, helloDir)))
	if len(wasm) > 256<<10 {
		t.Errorf("the AssemblyScript hello module is %d bytes; want it small (≤ 256 KiB)", len(wasm))
	}
	if r := se.Client(t).Do("GET", "/api/skills/hello-as", nil).Expect(t, 200, ""); r.Str("isolation") != "fresh" ||
		r.JSON["actions"].([]any)[1] != "count" {
		t.Errorf("GET /api/skills/hello-as = %s; want isolation fresh and its actions", r.Body)
	}
	listed := se.Client(t).Do("GET", "/api/skills", nil).Expect(t, 200, "").JSON["skills"].([]any)
	if len(listed) != 1 || listed[0].(map[string]any)["isolation"] != "fresh" {
		t.Errorf("GET /api/skills = %v; want hello-as, isolation fresh", listed)
	}

	r = a.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:hello-as", "action": "hello", "name": "Ada"}).Expect(t, 200, "")
	if r.Str("plugin") != "skill:hello-as" || r.JSON["result"].(map[string]any)["greeting"] != "Hello, Ada!" {
		t.Errorf("hello through the gateway = %s", r.Body)
	}
	// The counter lives in the KV, per user, across calls that each get a
	// fresh instance.
	for i, step := range []struct {
		c    *servertest.Client
		want float64
	}{{a, 1}, {a, 2}, {a, 3}, {b, 1}, {a, 4}} {
		r := step.c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:hello-as", "action": "count"}).Expect(t, 200, "")
		if got := r.JSON["result"].(map[string]any)["count"]; got != step.want {
			t.Errorf("count call %d = %v; want %v", i+1, got, step.want)
		}
	}
	// Failures, answered as the Go SDK answers them.
	r = a.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:hello-as", "action": "hello"}).Expect(t, 400, "BAD_REQUEST")
	if r.Str("error") != "name is required" {
		t.Errorf("hello without a name = %s", r.Body)
	}
	r = a.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:hello-as", "action": "dance"}).Expect(t, 400, "INVALID_ACTION")
	if r.Str("error") != "Invalid action" {
		t.Errorf("an unknown action = %s", r.Body)
	}
	// Directly, answered with the skill's own output.
	r = a.Do("POST", "/api/skills/hello-as", map[string]any{"action": "hello", "name": "Bo"}).Expect(t, 200, "")
	if string(bytes.TrimSpace(r.Body)) != `{"greeting":"Hello, Bo!"}` {
		t.Errorf("POST /api/skills/hello-as = %s", r.Body)
	}
}

// Per-skill isolation over HTTP, on the SDK's committed test guest (no
// Node.js needed): a fresh skill's global counter starts over every call, a
// pooled one's counts the user's calls; an abort is 500 SKILL_PANIC.
func TestASSkillIsolation(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join(moduleRoot, "skills/internal/testguests/testdata/verbs-as.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	se, a := asApp(t, nil)
	publish(t, a, wasm, manifest("verbs-fresh", "1.0.0", nil)).Expect(t, 201, "")
	publish(t, a, wasm, manifest("verbs-pooled", "1.0.0", map[string]any{"isolation": "pooled"})).Expect(t, 201, "")
	for name, want := range map[string][]float64{"verbs-fresh": {1, 1, 1}, "verbs-pooled": {1, 2, 3}} {
		if iso := se.Client(t).Do("GET", "/api/skills/"+name, nil).Expect(t, 200, "").Str("isolation"); iso != name[len("verbs-"):] {
			t.Errorf("%s: isolation %q", name, iso)
		}
		for i, w := range want {
			r := a.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:" + name, "action": "bump"}).Expect(t, 200, "")
			if got := r.JSON["result"].(map[string]any)["calls"]; got != w {
				t.Errorf("%s call %d: the guest's global counter = %v; want %v", name, i+1, got, w)
			}
		}
	}
	r := a.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:verbs-pooled", "action": "panic"}).Expect(t, 500, "SKILL_PANIC")
	if r.Str("error") == "" {
		t.Errorf("panic = %s; want its message", r.Body)
	}
	// The aborted instance was discarded: the pooled counter starts over.
	r = a.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:verbs-pooled", "action": "bump"}).Expect(t, 200, "")
	if got := r.JSON["result"].(map[string]any)["calls"]; got != 1.0 {
		t.Errorf("after an abort the pooled counter = %v; want 1 (a new instance)", got)
	}
	publish(t, a, wasm, manifest("verbs-bad", "1.0.0", map[string]any{"isolation": "shared"})).Expect(t, 400, "INVALID_MANIFEST")
}

// The SDK's and the example's own tests (`npm test`: node's test runner on
// skilltest.js), and the committed copy of the SDK's test guest, which the
// skills runtime's tests run, is what its source builds.
func TestASSDKTests(t *testing.T) {
	npmRun(t, sdkASDir, "test")
	npmRun(t, helloASDir, "test")
	built, err := os.ReadFile(filepath.Join(moduleRoot, sdkASDir, "tests/guests/verbs.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join(moduleRoot, "skills/internal/testguests/testdata/verbs-as.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, committed) {
		t.Errorf("skills/internal/testguests/testdata/verbs-as.wasm is stale: rebuild it (see the README beside it)")
	}
}

// asCase is one call of the conformance check: input and what the host grants.
type asCase struct {
	Input   string            `json:"input"`
	KV      map[string]string `json:"kv,omitempty"`
	NoKV    bool              `json:"noKV,omitempty"`
	Config  map[string]string `json:"config,omitempty"`
	Limits  map[string]int    `json:"limits,omitempty"`
	KVQuota *asQuota          `json:"kvQuota,omitempty"`
	Fetch   *asFetch          `json:"fetch,omitempty"`
}

// asFetch answers every request of a call, or fails it with Error.
type asFetch struct {
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// asQuota bounds the KV's keys.
type asQuota struct {
	Keys int `json:"keys"`
}

// asResult is what a call did: its output or failure, the KV after it, its log.
type asResult struct {
	Output  *string           `json:"output"`
	Failure *asFailure        `json:"failure"`
	KV      map[string]string `json:"kv"`
	Logs    []string          `json:"logs"`
}

// asFailure is a failure as skilltest.js reports it.
type asFailure struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// The test runner authors use (sdk/skill-as/skilltest.js) must answer as the
// platform does: the same cases through both, on the SDK's test guest, give
// the same outputs, failures, KV contents and log lines.
func TestASTestRunnerAgreesWithThePlatform(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node missing")
		}
		t.Skip("node missing")
	}
	wasmPath := filepath.Join(moduleRoot, "skills/internal/testguests/testdata/verbs-as.wasm")
	var cases []asCase
	add := func(input string, tweak func(*asCase)) {
		c := asCase{Input: input}
		if tweak != nil {
			tweak(&c)
		}
		cases = append(cases, c)
	}
	for _, in := range []string{`{"action":"echo","name":"Ada","n":3}`, `{"action":"nope"}`, `null`, `{"action":5}`,
		`[1]`, ``, `{"action":"echo"} x`, `{"action":"log"}`, `{"action":"fail","code":"AMOUNT_TOO_SMALL","status":422,"message":"at least 1"}`,
		`{"action":"fail"}`, `{"action":"fail","code":"X","status":200,"message":"m"}`, `{"action":"panic"}`,
		`{"action":"panic","bounds":true}`, `{"action":"json","text":"{\"a\":[1,-2,2.5,1e3,true,null],\"s\":\"é\\u00e9\\ud83d\\ude00\\n\"}"}`,
		`{"action":"json","text":"9223372036854775808"}`, `{"action":"json","text":"[1,]"}`, `{"action":"fetch","url":"https://a.example/"}`} {
		add(in, nil)
	}
	add(`{"action":"count"}`, func(c *asCase) { c.KV = map[string]string{"count": "41"} })
	add(`{"action":"count"}`, func(c *asCase) { c.NoKV = true })
	add(`{"action":"ignore"}`, func(c *asCase) { c.NoKV = true })
	add(`{"action":"count"}`, func(c *asCase) { c.KV, c.Limits = map[string]string{"count": "41"}, map[string]int{"maxHostCalls": 1} })
	add(`{"action":"kv","set":{"a/2":"two","a/1":"one","a/é":"e"},"delete":["old"],"prefix":"a/"}`,
		func(c *asCase) { c.KV = map[string]string{"old": "x", "other": "y"} })
	add(`{"action":"kv","set":{"k":"abc"}}`, func(c *asCase) { c.Limits = map[string]int{"maxKVValue": 2} })
	add(`{"action":"kv","set":{"`+strings.Repeat("k", 513)+`":"v"}}`, nil)
	add(`{"action":"kv","set":{"b":"2"}}`, func(c *asCase) {
		c.KV = map[string]string{"a": "1"}
		c.KVQuota = &asQuota{Keys: 1}
	})
	add(`{"action":"config","key":"greeting"}`, func(c *asCase) { c.Config = map[string]string{"greeting": "hi"} })
	add(`{"action":"config","key":"none"}`, nil)
	add(`{"action":"config","key":""}`, nil)
	add(`{"action":"log"}`, func(c *asCase) { c.Limits = map[string]int{"maxLogBytes": 20} })
	add(`{"action":"log"}`, func(c *asCase) { c.Limits = map[string]int{"maxHostCalls": 3} })
	add(`{"action":"big","n":98}`, func(c *asCase) { c.Limits = map[string]int{"maxOutput": 100} })
	add(`{"action":"big","n":99}`, func(c *asCase) { c.Limits = map[string]int{"maxOutput": 100} })
	add(`{"action":"fetch","url":"https://a.example/x","method":"post","body":"héllo"}`, func(c *asCase) {
		c.Fetch = &asFetch{Status: 201, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"ok":true}`}
	})
	add(`{"action":"fetch","url":"https://evil.example/"}`, func(c *asCase) { c.Fetch = &asFetch{Error: "host not allowed"} })

	// The test runner.
	casesPath := filepath.Join(t.TempDir(), "cases.json")
	b, _ := json.Marshal(cases)
	if err := os.WriteFile(casesPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runNode(filepath.Join(moduleRoot, sdkASDir), "tests/conformance.mjs", wasmPath, casesPath)
	if err != nil {
		t.Fatalf("conformance.mjs: %v\n%s", err, out)
	}
	var js []asResult
	if err := json.Unmarshal(out, &js); err != nil || len(js) != len(cases) {
		t.Fatalf("conformance.mjs printed %d results (%v): %.500s", len(js), err, out)
	}

	// The platform: the skills runtime, each call fresh.
	ctx := context.Background()
	r, err := skills.New(ctx, skills.Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Compile(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		got := asResult{Logs: []string{}}
		caps := abi.Capabilities{Config: c.Config, Log: func(level int, msg string) {
			got.Logs = append(got.Logs, [...]string{"debug", "info", "warn", "error"}[level]+": "+msg)
		}}
		var kv *quotaKV
		if !c.NoKV {
			kv = &quotaKV{m: map[string][]byte{}}
			for k, v := range c.KV {
				kv.m[k] = []byte(v)
			}
			if c.KVQuota != nil {
				kv.max = c.KVQuota.Keys
			}
			caps.KV = kv
		}
		if f := c.Fetch; f != nil {
			caps.Fetch = abi.FetcherFunc(func(context.Context, *abi.FetchRequest) (*abi.FetchResponse, error) {
				if f.Error != "" {
					return nil, errors.New(f.Error)
				}
				return &abi.FetchResponse{Status: f.Status, Headers: f.Headers, Body: []byte(f.Body)}, nil
			})
		}
		limits := abi.Limits{MaxOutput: c.Limits["maxOutput"], MaxHostCalls: c.Limits["maxHostCalls"],
			MaxKVValue: c.Limits["maxKVValue"], MaxLogBytes: c.Limits["maxLogBytes"]}
		output, failure, err := r.Call(ctx, m, skills.Request{UserID: "u", Fresh: true, Input: []byte(c.Input), Caps: caps, Limits: limits})
		if err != nil {
			t.Fatalf("platform: %s: %v", c.Input, err)
		}
		if failure == nil {
			s := string(output)
			got.Output = &s
		}
		if failure != nil {
			got.Failure = &asFailure{failure.Status, failure.Code, failure.Message}
		}
		got.KV = map[string]string{}
		if kv != nil {
			for k, v := range kv.m {
				got.KV[k] = string(v)
			}
		}
		want, _ := json.Marshal(got)
		have, _ := json.Marshal(js[i])
		if string(want) != string(have) {
			t.Errorf("%.120s:\n platform   %s\n skilltest  %s", c.Input, want, have)
		}
	}
}

// quotaKV is an in-memory KV refusing new keys past max (0: no bound).
type quotaKV struct {
	m   map[string][]byte
	max int
}

func (q *quotaKV) Get(_ context.Context, k string) ([]byte, bool, error) {
	v, ok := q.m[k]
	return v, ok, nil
}

func (q *quotaKV) Set(_ context.Context, k string, v []byte) error {
	if _, ok := q.m[k]; !ok && q.max > 0 && len(q.m) >= q.max {
		return abi.ErrQuota
	}
	q.m[k] = v
	return nil
}

func (q *quotaKV) Delete(_ context.Context, k string) error {
	delete(q.m, k)
	return nil
}

func (q *quotaKV) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	for k := range q.m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}
