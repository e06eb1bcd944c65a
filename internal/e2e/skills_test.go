package e2e

// Skills end to end: modules published through the HTTP API, run through the
// gateway (POST /api/v1/gateway with "skill:<name>", and POST
// /api/skills/:name), against the real sandbox limits.

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/internal/memtest"
	"github.com/agentbot/gateway/sdk/skill/skilltest"
	"github.com/agentbot/gateway/skills"
)

// Go skills used here: the runtime's test guests and the SDK example.
const (
	guestDir = "skills/internal/testguests/"
	helloDir = "examples/skill-hello"
)

// moduleRoot is the repository root (this package is internal/e2e).
var moduleRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

// skillWasm builds the Go skill in dir (relative to the repository root) as
// a WASI reactor, once per test binary.
func skillWasm(t testing.TB, dir string) []byte {
	t.Helper()
	wasm, err := os.ReadFile(skilltest.Build(t, filepath.Join(moduleRoot, dir)))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// fixture reads one of the SDK's hand-written modules (forbidden, command, …).
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "sdk/skill/internal/testguests/testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startSkills starts the whole app (see start) with the shipped skills taken
// from an empty directory unless vars name one, and generous rate limits.
func startSkills(t *testing.T, vars map[string]string) *env {
	t.Helper()
	all := map[string]string{
		"AGENTBOT_SKILL_DIR":   t.TempDir(),
		"AGENTBOT_RATE_LIMITS": "default=1000000-M,/api/v1/gateway=1000000-M,/api/register=1000000-M",
	}
	for k, v := range vars {
		all[k] = v
	}
	return start(t, all)
}

// multipartBody encodes a publish request: the module file and the manifest
// (a string, or a value encoded as JSON); nil parts are left out.
func multipartBody(t testing.TB, wasm []byte, manifest any) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if manifest != nil {
		s, ok := manifest.(string)
		if !ok {
			b, _ := json.Marshal(manifest)
			s = string(b)
		}
		w.WriteField("manifest", s)
	}
	if wasm != nil {
		fw, _ := w.CreateFormFile("module", "skill.wasm")
		fw.Write(wasm)
	}
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

func publish(t testing.TB, c *servertest.Client, wasm []byte, manifest any) *servertest.Response {
	t.Helper()
	body, ct := multipartBody(t, wasm, manifest)
	return c.Do("POST", "/api/skills/publish", body, "Content-Type", ct)
}

// manifest is a valid manifest for name, with extra fields.
func manifest(name, version string, extra map[string]any) map[string]any {
	m := map[string]any{"name": name, "version": version, "description": "The " + name + " skill", "category": "test"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// shipHello puts the SDK example in a directory of shipped skills, as `make
// build` does.
func shipHello(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.wasm"), skillWasm(t, helloDir), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := os.ReadFile(filepath.Join(moduleRoot, helloDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hello.json"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func names(list any) []string {
	var out []string
	for _, s := range list.([]any) {
		out = append(out, s.(map[string]any)["name"].(string))
	}
	slices.Sort(out)
	return out
}

func TestSkillPublishAndMarketplace(t *testing.T) {
	e := startSkills(t, map[string]string{"AGENTBOT_SKILL_DIR": shipHello(t)})
	a, _ := e.user(t, "author@example.com", "")
	b, _ := e.user(t, "other@example.com", "")
	echo := skillWasm(t, guestDir+"echo")

	r := publish(t, a, echo, manifest("echo-skill", "1.0.0", map[string]any{"icon": "🔁", "actions": []string{"echo"},
		"capabilities": []string{"kv"}, "limits": map[string]any{"timeoutMs": 1000}})).Expect(t, 201, "")
	sk := r.JSON["skill"].(map[string]any)
	if r.Str("gatewayId") != "skill:echo-skill" || sk["name"] != "echo-skill" || sk["version"] != "1.0.0" ||
		sk["sha256"] != sha(echo) || sk["author"] != "author@example.com" || sk["category"] != "test" || sk["price"] != "0.00" {
		t.Errorf("publish = %s", r.Body)
	}

	// The marketplace: the shipped skill is featured, the user's is not.
	r = a.Do("GET", "/api/skills", nil).Expect(t, 200, "")
	if got := names(r.JSON["skills"]); !slices.Equal(got, []string{"echo-skill", "hello"}) {
		t.Errorf("skills = %v", got)
	}
	if got := names(r.JSON["featured"]); !slices.Equal(got, []string{"hello"}) {
		t.Errorf("featured = %v; want the shipped skill", got)
	}
	cats := r.JSON["categories"].([]any)
	if !slices.Contains(cats, any("examples")) || !slices.Contains(cats, any("test")) || len(cats) != 2 {
		t.Errorf("categories = %v", cats)
	}
	for q, want := range map[string][]string{
		"?category=test":                   {"echo-skill"},
		"?category=examples":               {"hello"},
		"?category=all":                    {"echo-skill", "hello"},
		"?category=none":                   nil,
		"?featured=true":                   {"hello"},
		"?featured=true&category=test":     nil,
		"?featured=false&category=test":    {"echo-skill"},
		"?featured=true&category=examples": {"hello"},
	} {
		r := e.Client(t).Do("GET", "/api/skills"+q, nil).Expect(t, 200, "")
		if got := names(r.JSON["skills"]); !slices.Equal(got, want) {
			t.Errorf("GET /api/skills%s = %v; want %v", q, got, want)
		}
		if len(r.JSON["categories"].([]any)) != 2 {
			t.Errorf("GET /api/skills%s categories = %v; want every category", q, r.JSON["categories"])
		}
	}
	for _, s := range r.JSON["skills"].([]any) {
		m := s.(map[string]any)
		for _, f := range []string{"id", "name", "description", "category", "icon", "author", "version", "price", "downloads", "rating", "featured"} {
			if _, ok := m[f]; !ok {
				t.Errorf("listed skill %v lacks %q", m["name"], f)
			}
		}
	}

	// Metadata.
	r = e.Client(t).Do("GET", "/api/skills/echo-skill", nil).Expect(t, 200, "")
	if r.Str("skill") != "echo-skill" || r.Str("version") != "1.0.0" || r.Str("sha256") != sha(echo) || r.Str("icon") != "🔁" ||
		fmt.Sprint(r.JSON["capabilities"]) != "[kv]" || fmt.Sprint(r.JSON["actions"]) != "[echo]" ||
		r.JSON["limits"].(map[string]any)["timeoutMs"] != 1000.0 || r.JSON["pricing"].(map[string]any)["perCall"] != "0.00" {
		t.Errorf("GET /api/skills/echo-skill = %s", r.Body)
	}
	r = e.Client(t).Do("GET", "/api/skills/hello", nil).Expect(t, 200, "")
	if r.Str("author") != "Agentbot" || r.JSON["featured"] != true || !strings.HasPrefix(r.Str("version"), "1.0.0+") {
		t.Errorf("shipped skill = %s; want Agentbot's, featured, versioned by its digest", r.Body)
	}
	e.Client(t).Do("GET", "/api/skills/nope", nil).Expect(t, 404, "")

	// Versions are immutable; republishing the very same release is a no-op.
	kvuser := skillWasm(t, guestDir+"kvuser")
	publish(t, a, kvuser, manifest("echo-skill", "1.0.0", nil)).Expect(t, 409, "VERSION_EXISTS")
	publish(t, a, echo, manifest("echo-skill", "1.0.0", map[string]any{"icon": "🔁", "actions": []string{"echo"},
		"capabilities": []string{"kv"}, "limits": map[string]any{"timeoutMs": 1000}})).Expect(t, 201, "")
	// A new version with the same module, and another skill with it: the
	// module is stored once.
	publish(t, a, echo, manifest("echo-skill", "1.0.1", nil)).Expect(t, 201, "")
	publish(t, a, echo, manifest("echo-copy", "1.0.0", nil)).Expect(t, 201, "")
	if r := a.Do("GET", "/api/skills/echo-skill", nil).Expect(t, 200, ""); r.Str("version") != "1.0.1" || r.Str("sha256") != sha(echo) {
		t.Errorf("after 1.0.1: %s", r.Body)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.Config.DataDir, "agentbot.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var copies, modules int
	if err := db.QueryRow(`SELECT COUNT(*) FROM skill_modules WHERE sha256 = ?`, sha(echo)).Scan(&copies); err != nil {
		t.Fatal(err)
	}
	db.QueryRow(`SELECT COUNT(*) FROM skill_modules`).Scan(&modules)
	if copies != 1 || modules != 2 { // echo and the shipped hello
		t.Errorf("skill_modules holds %d copies of echo, %d modules; want 1 and 2", copies, modules)
	}

	// Names belong to their first author, the platform's included.
	r = publish(t, b, echo, manifest("echo-skill", "2.0.0", nil)).Expect(t, 403, "SKILL_NAME_TAKEN")
	if !strings.Contains(r.Str("error"), "echo-skill") {
		t.Errorf("403 = %s; want the name", r.Body)
	}
	// A shipped skill's name is reserved outright.
	publish(t, b, echo, manifest("hello", "9.0.0", nil)).Expect(t, 403, "SKILL_NAME_RESERVED")

	// Refusals.
	for _, tc := range []struct {
		field    string
		manifest any
	}{
		{"version", manifest("bad-one", "1.0", nil)},
		{"name", manifest("Bad_Name", "1.0.0", nil)},
		{"category", manifest("bad-one", "1.0.0", map[string]any{"category": "Not A Word"})},
		{"capability", manifest("bad-one", "1.0.0", map[string]any{"capabilities": []string{"filesystem"}})},
		{"price", manifest("bad-one", "1.0.0", map[string]any{"price": "1000"})},
		{"http", manifest("bad-one", "1.0.0", map[string]any{"capabilities": []string{"http"}})},
		{"JSON", `{"name":`},
	} {
		r := publish(t, a, echo, tc.manifest).Expect(t, 400, "INVALID_MANIFEST")
		if !strings.Contains(r.Str("error"), tc.field) {
			t.Errorf("bad %s: error %q does not name it", tc.field, r.Str("error"))
		}
	}
	publish(t, a, echo, nil).Expect(t, 400, "VALIDATION_ERROR")
	publish(t, a, nil, manifest("no-module", "1.0.0", nil)).Expect(t, 400, "VALIDATION_ERROR")
	r = publish(t, a, fixture(t, "forbidden"), manifest("forbidden", "1.0.0", nil)).Expect(t, 400, "INVALID_MODULE")
	if !strings.Contains(r.Str("error"), `"env.system"`) {
		t.Errorf("forbidden import: error %q does not name env.system", r.Str("error"))
	}
	r = publish(t, a, fixture(t, "command"), manifest("command", "1.0.0", nil)).Expect(t, 400, "INVALID_MODULE")
	if !strings.Contains(r.Str("error"), "_start") {
		t.Errorf("command module: error %q", r.Str("error"))
	}
	publish(t, a, []byte("not wasm at all"), manifest("garbage", "1.0.0", nil)).Expect(t, 400, "INVALID_MODULE")
	a.Do("POST", "/api/skills/publish", map[string]any{"module": "AGFzbQ==", "manifest": manifest("json", "1.0.0", nil)}).
		Expect(t, 415, "UNSUPPORTED_MEDIA_TYPE")
	a.Do("POST", "/api/skills/publish", "x", "Content-Type", "multipart/form-data").Expect(t, 415, "UNSUPPORTED_MEDIA_TYPE")
	// A module over 16 MiB: refused by the handler when the body fits the
	// route's limit, and by the body limit before it otherwise.
	big := make([]byte, skills.MaxModule+1)
	copy(big, echo)
	publish(t, a, big, manifest("too-big", "1.0.0", nil)).Expect(t, 413, "PAYLOAD_TOO_LARGE")
	publish(t, a, make([]byte, skills.MaxModule+128<<10), manifest("too-big", "1.0.0", nil)).Expect(t, 413, "PAYLOAD_TOO_LARGE")
	e.Client(t).Do("POST", "/api/skills/publish", nil).Expect(t, 401, "")
	body, ct := multipartBody(t, echo, manifest("anon", "1.0.0", nil))
	e.Client(t).Do("POST", "/api/skills/publish", body, "Content-Type", ct).Expect(t, 401, "")
	if r := e.Client(t).Do("GET", "/api/skills", nil); len(r.JSON["skills"].([]any)) != 3 {
		t.Errorf("after the refusals: %v; want echo-skill, echo-copy and hello only", names(r.JSON["skills"]))
	}
}

func TestSkillCalls(t *testing.T) {
	e := startSkills(t, map[string]string{"AGENTBOT_SKILL_DIR": shipHello(t)})
	a, uid := e.user(t, "a@example.com", "")
	b, _ := e.user(t, "b@example.com", "")

	// Through the gateway's envelope.
	r := a.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:hello", "action": "hello", "name": "Ada"}).Expect(t, 200, "")
	if r.Str("plugin") != "skill:hello" || r.Header.Get("X-Plugin-Id") != "skill:hello" ||
		r.JSON["result"].(map[string]any)["greeting"] != "Hello, Ada!" {
		t.Errorf("gateway call = %s", r.Body)
	}
	a.Do("POST", "/api/v1/gateway", map[string]any{"action": "hello", "name": "Bo"}, "X-Plugin-Id", "skill:hello").Expect(t, 200, "")
	// Directly: the skill's own output.
	r = a.Do("POST", "/api/skills/hello", map[string]any{"action": "hello", "name": "Ada"}).Expect(t, 200, "")
	if strings.TrimSpace(string(r.Body)) != `{"greeting":"Hello, Ada!"}` {
		t.Errorf("POST /api/skills/hello = %s; want the raw output", r.Body)
	}
	r = a.Do("POST", "/api/skills/hello", map[string]any{"action": "dance"}).Expect(t, 400, "INVALID_ACTION")
	if r.Str("error") != "Invalid action" {
		t.Errorf("unknown action = %s", r.Body)
	}
	a.Do("POST", "/api/skills/hello", map[string]any{"name": "x"}).Expect(t, 400, "INVALID_ACTION")
	a.Do("POST", "/api/skills/hello", map[string]any{"action": "hello"}).Expect(t, 400, "BAD_REQUEST")
	a.Do("POST", "/api/skills/hello", `[1]`).Expect(t, 400, "INVALID_JSON")
	a.Do("POST", "/api/skills/nope", map[string]any{"action": "x"}).Expect(t, 404, "UNKNOWN_PLUGIN")
	a.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:nope"}).Expect(t, 404, "UNKNOWN_PLUGIN")
	e.Client(t).Do("POST", "/api/skills/hello", map[string]any{"action": "hello", "name": "x"}).Expect(t, 401, "AUTH_REQUIRED")

	// The KV counter is per user.
	for _, step := range []struct {
		c    *servertest.Client
		want float64
	}{{a, 1}, {a, 2}, {b, 1}} {
		c, want := step.c, step.want
		if r := c.Do("POST", "/api/skills/hello", map[string]any{"action": "count"}).Expect(t, 200, ""); r.JSON["count"] != want {
			t.Errorf("count = %s; want %v", r.Body, want)
		}
	}

	// Skills are gateway targets, with their price.
	pub, _ := e.user(t, "publisher@example.com", "")
	publish(t, pub, skillWasm(t, guestDir+"echo"), manifest("priced", "1.0.0", map[string]any{"price": "0.05"})).Expect(t, 201, "")
	r = a.Do("GET", "/api/v1/gateway", nil).Expect(t, 200, "")
	prices := map[string]any{}
	for _, p := range r.JSON["plugins"].([]any) {
		p := p.(map[string]any)
		prices[p["id"].(string)] = p["price"]
	}
	if prices["skill:hello"] != "0.00" || prices["skill:priced"] != "0.05" {
		t.Errorf("gateway targets = %v; want the skills with their prices", prices)
	}
	// A priced skill needs a subscription.
	r = b.Do("POST", "/api/skills/priced", map[string]any{"x": 1}).Expect(t, 402, "PAYMENT_REQUIRED")
	if r.JSON["stripe"].(map[string]any)["amount"] != "0.05" {
		t.Errorf("402 = %s; want the skill's price", r.Body)
	}
	b.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:priced"}).Expect(t, 402, "PAYMENT_REQUIRED")
	paid, _ := e.user(t, "paid@example.com", "solo")
	r = paid.Do("POST", "/api/skills/priced", map[string]any{"x": 1}).Expect(t, 200, "")
	if r.JSON["input"].(map[string]any)["x"] != 1.0 {
		t.Errorf("priced call = %s", r.Body)
	}

	// Calls are recorded like any gateway call.
	usage, err := waitUsage(t, e, uid, 4)
	if err != nil || len(usage) < 4 || !slices.ContainsFunc(usage, func(u store.UsageEvent) bool { return u.Target == "skill:hello" && u.Status == 200 }) {
		t.Errorf("usage = %+v, %v; want the skill calls", usage, err)
	}
}

func TestSkillSandboxLimits(t *testing.T) {
	e := startSkills(t, map[string]string{"AGENTBOT_SKILL_MEMORY_MB": "32"})
	a, _ := e.user(t, "a@example.com", "")
	other, _ := e.user(t, "b@example.com", "")
	publish(t, a, skillWasm(t, guestDir+"spin"), manifest("spinner", "1.0.0", map[string]any{"limits": map[string]any{"timeoutMs": 1500}})).Expect(t, 201, "")
	publish(t, a, skillWasm(t, guestDir+"hog"), manifest("hog", "1.0.0", nil)).Expect(t, 201, "")
	publish(t, a, skillWasm(t, guestDir+"flood"), manifest("flood", "1.0.0", nil)).Expect(t, 201, "")
	publish(t, a, skillWasm(t, guestDir+"echo"), manifest("echo", "1.0.0", nil)).Expect(t, 201, "")
	publish(t, a, skillWasm(t, guestDir+"fetcher"), manifest("fetcher", "1.0.0", map[string]any{"capabilities": []string{"http"},
		"http": map[string]any{"hosts": []string{"127.0.0.1", "169.254.169.254"}}})).Expect(t, 201, "")

	t.Run("infinite loop", func(t *testing.T) {
		var done atomic.Bool
		result := make(chan *servertest.Response, 1)
		start := time.Now()
		go func() {
			r := a.Do("POST", "/api/skills/spinner", map[string]any{"n": 0})
			done.Store(true)
			result <- r
		}()
		for deadline := time.Now().Add(10 * time.Second); e.skills.Runtime.Running() == 0 && !done.Load(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the spinner never ran")
			}
		}
		// The gateway serves others meanwhile, skills included.
		served := 0
		for i := 0; i < 5 && !done.Load(); i++ {
			other.Do("GET", "/api/skills", nil).Expect(t, 200, "")
			other.Do("POST", "/api/skills/echo", map[string]any{"i": i}).Expect(t, 200, "")
			a.Do("POST", "/api/skills/spinner", map[string]any{"n": 1000}).Expect(t, 200, "")
			if !done.Load() {
				served++
			}
		}
		if served == 0 {
			t.Error("no request was served while the loop ran")
		}
		r := <-result
		r.Expect(t, 504, "SKILL_TIMEOUT")
		if r.Str("error") == "" {
			t.Errorf("timeout = %s; want a message", r.Body)
		}
		if d := time.Since(start); d < time.Second || d > 5*time.Second {
			t.Errorf("the loop ended after %v; want its 1.5 s deadline", d)
		}
		a.Do("POST", "/api/skills/spinner", map[string]any{"n": 10}).Expect(t, 200, "")
	})

	t.Run("memory cap", func(t *testing.T) {
		r := a.Do("POST", "/api/skills/hog", map[string]any{"chunk": 1 << 20, "times": 256}).Expect(t, 502, "SKILL_CRASHED")
		if r.Str("error") != "The skill crashed: out of memory" {
			t.Errorf("hog = %s", r.Body)
		}
		// One big allocation, far past the cap.
		a.Do("POST", "/api/skills/hog", map[string]any{"chunk": 256 << 20, "times": 1}).Expect(t, 502, "SKILL_CRASHED")
		a.Do("POST", "/api/skills/hog", map[string]any{"chunk": 1 << 20, "times": 4}).Expect(t, 200, "")
		other.Do("POST", "/api/skills/echo", map[string]any{"after": "hog"}).Expect(t, 200, "")
	})

	t.Run("100 MB of output", func(t *testing.T) {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		r := a.Do("POST", "/api/skills/flood", map[string]any{"bytes": 100_000_000, "chunk": 64 << 10}).Expect(t, 502, "OUTPUT_TOO_LARGE")
		runtime.ReadMemStats(&after)
		if len(r.Body) > 1<<10 {
			t.Errorf("the error carries %d bytes", len(r.Body))
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		if alloc > 48<<20 {
			t.Errorf("the gateway allocated %d MiB during the call; want far less than the 100 MB written", alloc>>20)
		}
		t.Logf("100 MB flood refused in %v; the process allocated %.1f MiB meanwhile", time.Since(start), float64(alloc)/(1<<20))
		// A guest that ignores the refusals gains nothing.
		a.Do("POST", "/api/skills/flood", map[string]any{"bytes": 100_000_000, "chunk": 64 << 10, "ignore": true}).Expect(t, 502, "OUTPUT_TOO_LARGE")
		a.Do("POST", "/api/skills/flood", map[string]any{"bytes": 0}).Expect(t, 200, "")
	})

	t.Run("fetch refused by default", func(t *testing.T) {
		for _, u := range []string{"http://127.0.0.1:1/", "http://169.254.169.254/latest/meta-data/"} {
			r := a.Do("POST", "/api/skills/fetcher", map[string]any{"url": u}).Expect(t, 200, "")
			if !strings.Contains(r.Str("error"), "not allowed") {
				t.Errorf("fetch %s = %s; want it refused", u, r.Body)
			}
		}
	})
}

// A free account cannot lift the operator's maxima nor take more than its
// quotas: a manifest asking for more is refused at publish, naming the field;
// a guest writing 64 GB is stopped at the output cap without the server
// buffering it; publishing and each skill's key-value store are bounded.
func TestSkillMaximaAndQuotas(t *testing.T) {
	e := startSkills(t, map[string]string{"AGENTBOT_SKILL_PUBLISH_PER_DAY": "3", "AGENTBOT_SKILL_KV_KEYS": "2"})
	a, _ := e.user(t, "a@example.com", "")
	flood := skillWasm(t, guestDir+"flood")
	for _, tc := range []struct {
		limits map[string]any
		want   string
	}{
		{map[string]any{"maxOutputBytes": int64(9e18), "maxHostCalls": 2e9}, "limits.maxOutputBytes exceeds the server maximum (1048576)"},
		{map[string]any{"maxHostCalls": 2e9}, "limits.maxHostCalls exceeds the server maximum (10000)"},
		{map[string]any{"timeoutMs": 60_000}, "limits.timeoutMs exceeds the server maximum (10000)"},
	} {
		r := publish(t, a, flood, manifest("flood", "1.0.0", map[string]any{"limits": tc.limits})).Expect(t, 400, "INVALID_MANIFEST")
		if r.Str("error") != tc.want || !strings.HasPrefix(tc.want, r.Str("field")+" ") {
			t.Errorf("limits %v: %s; want %q and the field", tc.limits, r.Body, tc.want)
		}
	}
	publish(t, a, flood, manifest("flood", "1.0.0", nil)).Expect(t, 201, "")

	var r *servertest.Response
	start := time.Now()
	grew, how := memtest.PeakGrowth(func() {
		r = a.Do("POST", "/api/skills/flood", map[string]any{"bytes": int64(64e9), "chunk": 64 << 10})
	})
	r.Expect(t, 502, "OUTPUT_TOO_LARGE")
	t.Logf("a guest writing 64 GB: refused in %v; the server's peak memory growth %.1f MiB (%s)", time.Since(start), float64(grew)/(1<<20), how)
	if grew >= 64<<20 {
		t.Errorf("a guest writing 64 GB grew the server by %d MiB at its peak; want under 64 MiB", grew>>20)
	}

	// Two keys per user and skill here.
	publish(t, a, skillWasm(t, guestDir+"kvuser"), manifest("notes", "1.0.0", map[string]any{"capabilities": []string{"kv"}})).Expect(t, 201, "")
	a.Do("POST", "/api/skills/notes", map[string]any{"action": "set", "key": "k1", "value": "v"}).Expect(t, 200, "")
	a.Do("POST", "/api/skills/notes", map[string]any{"action": "set", "key": "k2", "value": "v"}).Expect(t, 200, "")
	a.Do("POST", "/api/skills/notes", map[string]any{"action": "set", "key": "k3", "value": "v"}).Expect(t, 429, "KV_QUOTA_EXCEEDED")

	// Three versions a day here.
	publish(t, a, flood, manifest("flood", "1.0.1", nil)).Expect(t, 201, "")
	r = publish(t, a, flood, manifest("flood", "1.0.2", nil)).Expect(t, 429, "PUBLISH_QUOTA_EXCEEDED")
	if r.Header.Get("Retry-After") == "" || r.JSON["limit"] != 3.0 || r.JSON["current"] != 3.0 {
		t.Errorf("publish quota = %v %s; want Retry-After, current 3, limit 3", r.Header, r.Body)
	}
}

func TestSkillFetch(t *testing.T) {
	hits := atomic.Int32{}
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "local says hi")
	}))
	defer local.Close()
	man := manifest("fetcher", "1.0.0", map[string]any{"capabilities": []string{"http"},
		"http": map[string]any{"hosts": []string{"127.0.0.1", "169.254.169.254"}}})
	fetch := func(t *testing.T, e *env, c *servertest.Client, url string) *servertest.Response {
		t.Helper()
		return c.Do("POST", "/api/skills/fetcher", map[string]any{"url": url}).Expect(t, 200, "")
	}

	// The operator allows any declared host but not private addresses.
	t.Run("public only", func(t *testing.T) {
		e := startSkills(t, map[string]string{"AGENTBOT_SKILL_HTTP_HOSTS": "*"})
		a, _ := e.user(t, "a@example.com", "")
		publish(t, a, skillWasm(t, guestDir+"fetcher"), man).Expect(t, 201, "")
		for _, u := range []string{local.URL + "/", "http://169.254.169.254/latest/meta-data/"} {
			if r := fetch(t, e, a, u); !strings.Contains(r.Str("error"), "refused") {
				t.Errorf("fetch %s = %s; want it refused", u, r.Body)
			}
		}
		if hits.Load() != 0 {
			t.Errorf("the local server was reached %d times", hits.Load())
		}
	})

	// Local development: the operator allows 127.0.0.1 and private addresses.
	t.Run("allowed", func(t *testing.T) {
		e := startSkills(t, map[string]string{"AGENTBOT_SKILL_HTTP_HOSTS": "127.0.0.1", "AGENTBOT_SKILL_HTTP_ALLOW_PRIVATE": "true"})
		a, _ := e.user(t, "a@example.com", "")
		publish(t, a, skillWasm(t, guestDir+"fetcher"), man).Expect(t, 201, "")
		if r := fetch(t, e, a, local.URL+"/"); r.JSON["status"] != 200.0 || r.Str("body") != "local says hi" {
			t.Errorf("fetch of the allowed local server = %s", r.Body)
		}
		// Declared by the skill but not allowed by the operator.
		if r := fetch(t, e, a, "http://169.254.169.254/latest/meta-data/"); !strings.Contains(r.Str("error"), "not allowed") {
			t.Errorf("fetch of the metadata service = %s; want it refused", r.Body)
		}
		// Not declared by the skill.
		if r := fetch(t, e, a, strings.Replace(local.URL, "127.0.0.1", "localhost", 1)); !strings.Contains(r.Str("error"), "not allowed") {
			t.Errorf("fetch of an undeclared host = %s; want it refused", r.Body)
		}
	})
}

func TestSkillKVIsolation(t *testing.T) {
	e := startSkills(t, nil)
	a, _ := e.user(t, "a@example.com", "")
	b, _ := e.user(t, "b@example.com", "")
	publish(t, a, skillWasm(t, guestDir+"kvuser"), manifest("notes", "1.0.0", map[string]any{"capabilities": []string{"kv"}})).Expect(t, 201, "")
	call := func(c *servertest.Client, in map[string]any) map[string]any {
		t.Helper()
		return c.Do("POST", "/api/skills/notes", in).Expect(t, 200, "").JSON
	}
	call(a, map[string]any{"action": "set", "key": "secret", "value": "a's secret"})
	call(a, map[string]any{"action": "set", "key": "secret-2", "value": "another"})
	if got := call(a, map[string]any{"action": "get", "key": "secret"}); got["value"] != "a's secret" {
		t.Errorf("a reads %v", got)
	}
	// B, same skill: nothing of A's, and A's value survives B's writes.
	if got := call(b, map[string]any{"action": "get", "key": "secret"}); got["found"] != false {
		t.Errorf("b reads a's key: %v", got)
	}
	if got := call(b, map[string]any{"action": "list", "prefix": ""}); len(got["keys"].([]any)) != 0 {
		t.Errorf("b lists %v", got)
	}
	call(b, map[string]any{"action": "set", "key": "secret", "value": "b's"})
	call(b, map[string]any{"action": "delete", "key": "secret-2"})
	if got := call(a, map[string]any{"action": "list", "prefix": "secret"}); fmt.Sprint(got["keys"]) != "[secret secret-2]" {
		t.Errorf("a lists %v after b's writes", got)
	}
	if got := call(a, map[string]any{"action": "get", "key": "secret"}); got["value"] != "a's secret" {
		t.Errorf("a reads %v after b's writes", got)
	}
	if got := call(b, map[string]any{"action": "get", "key": "secret"}); got["value"] != "b's" {
		t.Errorf("b reads %v", got)
	}
	// Through the gateway's envelope, the same scopes.
	r := b.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:notes", "action": "get", "key": "secret"}).Expect(t, 200, "")
	if r.JSON["result"].(map[string]any)["value"] != "b's" {
		t.Errorf("b through the gateway reads %s", r.Body)
	}
	// agentId picks an agent's scope, and only one of the caller's agents:
	// none exist yet, so naming any is refused (it would let anyone mint
	// scopes, and their quotas, without end).
	b.Do("POST", "/api/skills/notes", map[string]any{"action": "get", "agentId": "agt_1", "key": "secret"}).Expect(t, 404, "AGENT_NOT_FOUND")
	b.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:notes", "action": "set", "agentId": "agt_1", "key": "k", "value": "v"}).
		Expect(t, 404, "AGENT_NOT_FOUND")
}

func TestSkillConcurrentUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("200 users")
	}
	const n = 200
	e := startSkills(t, nil)
	pub, _ := e.user(t, "publisher@example.com", "")
	publish(t, pub, skillWasm(t, guestDir+"echo"), manifest("echo", "1.0.0", map[string]any{"capabilities": []string{"kv"}})).Expect(t, 201, "")
	keys := make([]string, n)
	for i := range keys {
		c, _ := e.user(t, fmt.Sprintf("user%03d@example.com", i), "")
		keys[i] = c.Header.Get("Authorization")
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	type answer struct {
		status int
		body   []byte
		err    error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGate
			body := fmt.Sprintf(`{"marker":"user-%03d","payload":%q}`, i, strings.Repeat(fmt.Sprint(i%10), 100+i))
			req, _ := http.NewRequest("POST", e.URL+"/api/skills/echo", strings.NewReader(body))
			req.Header.Set("Authorization", keys[i])
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				answers[i].err = err
				return
			}
			defer resp.Body.Close()
			answers[i].status = resp.StatusCode
			answers[i].body, answers[i].err = io.ReadAll(resp.Body)
		}()
	}
	began := time.Now()
	close(startGate)
	wg.Wait()
	t.Logf("%d concurrent calls by %d users in %v", n, n, time.Since(began))
	for i, a := range answers {
		if a.err != nil || a.status != 200 {
			t.Errorf("user %d: %d %s %v", i, a.status, a.body, a.err)
			continue
		}
		var out struct {
			Input struct {
				Marker  string `json:"marker"`
				Payload string `json:"payload"`
			} `json:"input"`
			InstanceCalls int `json:"instanceCalls"`
			KVCount       int `json:"kvCount"`
		}
		if err := json.Unmarshal(a.body, &out); err != nil {
			t.Errorf("user %d: %s", i, a.body)
			continue
		}
		if out.Input.Marker != fmt.Sprintf("user-%03d", i) || out.Input.Payload != strings.Repeat(fmt.Sprint(i%10), 100+i) {
			t.Errorf("user %d got another's answer: %.120s", i, a.body)
		}
		// Each user's first call: a fresh instance of their own and a KV of their own.
		if out.InstanceCalls != 1 || out.KVCount != 1 {
			t.Errorf("user %d: instance calls %d, kv count %d; want 1 and 1", i, out.InstanceCalls, out.KVCount)
		}
	}
}
