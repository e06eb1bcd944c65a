package skill_test

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/agentbot/gateway/sdk/skill"
	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/sdk/skill/internal/testguests"
	"github.com/agentbot/gateway/sdk/skill/skilltest"
)

// These tests run real modules built from internal/testguests through the
// real host (package abi, via skilltest): every verb crosses the ABI.

// guest loads a Go test guest; skilltest shares compiled code between loads.
func guest(t *testing.T, name string) *skilltest.Skill {
	t.Helper()
	return skilltest.Load(t, testguests.Path(t, name))
}

func TestHandleEcho(t *testing.T) {
	s := guest(t, "echo")
	for _, in := range [][]byte{nil, []byte("hello"), {0, 1, 2, 255}, bytes.Repeat([]byte("ab"), 300_000)} {
		out, f := s.Call(t, nil, in)
		if f != nil || !bytes.Equal(out, in) {
			t.Errorf("echo(%d bytes) = %d bytes, %v; want the input back", len(in), len(out), f)
		}
	}
}

func TestInputOutput(t *testing.T) {
	s := guest(t, "verbs")
	in := []byte(`{"action":"raw","pad":"` + strings.Repeat("é", 1000) + `"}`)
	out, f := s.Call(t, nil, in)
	if f != nil || !bytes.Equal(out, in) {
		t.Errorf("raw(%.40q) = %.40q, %v; want the input back", in, out, f)
	}
}

func TestJSON(t *testing.T) {
	s := guest(t, "verbs")
	var out struct {
		Label string
		Sum   int
	}
	f := s.CallJSON(t, nil, map[string]any{"action": "json", "numbers": []int{1, 2, 39}, "label": "ü"}, &out)
	if f != nil || out.Label != "ü" || out.Sum != 42 {
		t.Errorf("json = %+v, %v; want {ü 42}", out, f)
	}
}

func TestFailures(t *testing.T) {
	s := guest(t, "verbs")
	for _, tt := range []struct {
		name string
		in   string
		want abi.Failure
	}{
		{"Fail", `{"action":"fail","message":"amount"}`, abi.Failure{Status: 400, Code: "BAD_REQUEST", Message: "bad amount"}},
		{"Failf", `{"action":"fail","code":"PAYMENT_REQUIRED","status":402,"message":"pay up"}`,
			abi.Failure{Status: 402, Code: "PAYMENT_REQUIRED", Message: "pay up"}},
		{"status below 400", `{"action":"fail","code":"OK","status":200,"message":"m"}`, abi.Failure{Status: 500, Code: "OK", Message: "m"}},
		{"status above 599", `{"action":"fail","code":"X","status":700,"message":"m"}`, abi.Failure{Status: 500, Code: "X", Message: "m"}},
		{"plain error", `{"action":"error"}`, abi.Failure{Status: 500, Code: "SKILL_ERROR", Message: "plain error"}},
		{"panic", `{"action":"panic"}`, abi.Failure{Status: 500, Code: "SKILL_PANIC", Message: "panic: boom"}},
		{"bad JSON field", `{"action":"json","numbers":"x"}`, abi.Failure{Status: 400, Code: "INVALID_INPUT"}},
		{"unknown action", `{"action":"nope"}`, abi.Failure{Status: 400, Code: "INVALID_ACTION", Message: "Invalid action"}},
		{"missing action", `{}`, abi.Failure{Status: 400, Code: "INVALID_ACTION", Message: "Invalid action"}},
		{"not JSON", `action=raw`, abi.Failure{Status: 400, Code: "INVALID_INPUT"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, f := s.Call(t, nil, []byte(tt.in))
			if f == nil {
				t.Fatalf("call(%s) = %q; want failure %v", tt.in, out, &tt.want)
			}
			if f.Status != tt.want.Status || f.Code != tt.want.Code ||
				(tt.want.Message != "" && f.Message != tt.want.Message) {
				t.Errorf("call(%s) failed with %v; want %v", tt.in, f, &tt.want)
			}
			if out != nil {
				t.Errorf("call(%s) output = %q with a failure; want none", tt.in, out)
			}
		})
	}
}

func TestNoHandler(t *testing.T) {
	_, f := guest(t, "nohandler").Call(t, nil, nil)
	if f == nil || f.Status != 500 || f.Code != skill.CodeNoHandler {
		t.Errorf("call without a handler failed with %v; want 500 %s", f, skill.CodeNoHandler)
	}
}

func TestLog(t *testing.T) {
	h := &skilltest.Host{}
	if _, f := guest(t, "verbs").Call(t, h, []byte(`{"action":"log"}`)); f != nil {
		t.Fatal(f)
	}
	want := []string{"debug: debug line", "info: info line", "warn: warn 2", "error: error three"}
	if !slices.Equal(h.Logs, want) {
		t.Errorf("logs = %q; want %q", h.Logs, want)
	}
}

func TestKV(t *testing.T) {
	s := guest(t, "verbs")
	h := &skilltest.Host{KV: map[string][]byte{"seed": []byte("planted")}}
	kv := func(op, key, value string) (map[string]any, *abi.Failure) {
		t.Helper()
		var out map[string]any
		var dst any = &out
		if op == "set" || op == "delete" {
			dst = nil // no output
		}
		f := s.CallJSON(t, h, map[string]string{"action": "kv", "op": op, "key": key, "value": value}, dst)
		return out, f
	}
	for _, k := range []string{"user:b", "user:a", "other"} {
		if _, f := kv("set", k, "v-"+k); f != nil {
			t.Fatalf("set %q: %v", k, f)
		}
	}
	if got := string(h.KV["user:a"]); got != "v-user:a" {
		t.Errorf("store[user:a] = %q after set; want v-user:a", got)
	}
	if out, f := kv("get", "seed", ""); f != nil || out["found"] != true || out["value"] != "planted" {
		t.Errorf("get seed = %v, %v; want found planted", out, f)
	}
	if out, f := kv("get", "missing", ""); f != nil || out["found"] != false {
		t.Errorf("get missing = %v, %v; want not found", out, f)
	}
	if out, f := kv("list", "user:", ""); f != nil || !slices.Equal(strs(out["keys"]), []string{"user:a", "user:b"}) {
		t.Errorf("list user: = %v, %v; want [user:a user:b]", out, f)
	}
	if out, f := kv("list", "nothing", ""); f != nil || len(strs(out["keys"])) != 0 || out["keys"] == nil {
		t.Errorf("list nothing = %v, %v; want []", out, f)
	}
	if _, f := kv("delete", "user:a", ""); f != nil {
		t.Fatal(f)
	}
	if _, f := kv("delete", "user:a", ""); f != nil {
		t.Errorf("deleting a missing key failed: %v", f)
	}
	if got := slices.Sorted(maps.Keys(h.KV)); !slices.Equal(got, []string{"other", "seed", "user:b"}) {
		t.Errorf("keys after delete = %q", got)
	}
	for _, key := range []string{"", strings.Repeat("k", 513)} {
		if _, f := kv("set", key, "v"); f == nil || f.Code != skill.CodeInvalidKey {
			t.Errorf("set(%d-byte key) failed with %v; want %s", len(key), f, skill.CodeInvalidKey)
		}
	}
	if _, f := kv("set", strings.Repeat("k", 512), "v"); f != nil {
		t.Errorf("set(512-byte key) failed with %v", f)
	}
}

func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, s := range list {
		out = append(out, s.(string))
	}
	return out
}

func TestConfig(t *testing.T) {
	s := guest(t, "verbs")
	h := &skilltest.Host{Config: map[string]string{"currency": "USDC", "empty": ""}}
	for _, tt := range []struct {
		key, value string
		ok         bool
	}{{"currency", "USDC", true}, {"empty", "", true}, {"missing", "", false}} {
		var out struct {
			Value string
			OK    bool
		}
		if f := s.CallJSON(t, h, map[string]string{"action": "config", "key": tt.key}, &out); f != nil {
			t.Fatal(f)
		}
		if out.Value != tt.value || out.OK != tt.ok {
			t.Errorf("Config(%q) = %q, %v; want %q, %v", tt.key, out.Value, out.OK, tt.value, tt.ok)
		}
	}
}

func TestFetch(t *testing.T) {
	s := guest(t, "verbs")
	var got *abi.FetchRequest
	h := &skilltest.Host{Fetch: func(req *abi.FetchRequest) (*abi.FetchResponse, error) {
		got = req
		if strings.Contains(req.URL, "refused") {
			return nil, errors.New("host not allowed")
		}
		return &abi.FetchResponse{Status: 201, Headers: map[string]string{"Content-Type": "text/plain"},
			Body: append([]byte("got "), req.Body...)}, nil
	}}
	in := map[string]any{"action": "fetch", "request": skill.Request{URL: "https://api.example.com/x",
		Headers: map[string]string{"Authorization": "Bearer t"}, Body: []byte{0, 'h', 'i'}}}
	var out struct {
		Status  int
		Headers map[string]string
		Body    string
	}
	if f := s.CallJSON(t, h, in, &out); f != nil {
		t.Fatal(f)
	}
	if got.Method != "GET" || got.URL != "https://api.example.com/x" || got.Headers["Authorization"] != "Bearer t" ||
		!bytes.Equal(got.Body, []byte{0, 'h', 'i'}) {
		t.Errorf("fetcher got %+v; want GET with the skill's URL, header and body", got)
	}
	if out.Status != 201 || out.Headers["Content-Type"] != "text/plain" || out.Body != "got \x00hi" {
		t.Errorf("Fetch = %+v; want the fetcher's response", out)
	}

	in["request"] = skill.Request{Method: "post", URL: "https://refused.example.com"}
	f := s.CallJSON(t, h, in, nil)
	if f == nil || f.Code != skill.CodeSkillError || !strings.Contains(f.Message, "host not allowed") {
		t.Errorf("Fetch(refused) failed with %v; want SKILL_ERROR carrying the host's reason", f)
	}
	if got.Method != "POST" {
		t.Errorf("method = %q; want POST", got.Method)
	}

	h.Fetch = nil
	if f := s.CallJSON(t, h, in, nil); f == nil || f.Code != skill.CodeNotGranted || f.Status != 500 {
		t.Errorf("Fetch without the http capability failed with %v; want 500 %s", f, skill.CodeNotGranted)
	}
}

// Outside the sandbox every verb reports ErrNotInSandbox rather than
// crashing, so skills build and unit-test on the host.
func TestNotInSandbox(t *testing.T) {
	c := &skill.Call{}
	if in := c.Input(); in != nil {
		t.Errorf("Input() = %q; want nil", in)
	}
	var v any
	checks := map[string]error{
		"InputJSON": c.InputJSON(&v),
		"Output":    c.Output([]byte("x")),
		"Fetch":     func() error { _, err := c.Fetch(&skill.Request{URL: "https://x"}); return err }(),
		"KV.Get":    func() error { _, _, err := c.KV().Get("k"); return err }(),
		"KV.Set":    c.KV().Set("k", nil),
		"KV.Delete": c.KV().Delete("k"),
		"KV.List":   func() error { _, err := c.KV().List(""); return err }(),
	}
	for name, err := range checks {
		if !errors.Is(err, skill.ErrNotInSandbox) {
			t.Errorf("%s = %v; want ErrNotInSandbox", name, err)
		}
	}
	if v, ok := c.Config("k"); v != "" || ok {
		t.Errorf("Config = %q, %v; want unset", v, ok)
	}
	c.Log(skill.LevelInfo, "dropped") // must not panic
}

func TestErrors(t *testing.T) {
	err := skill.Failf("TOO_SMALL", 422, "amount %d below %d", 1, 50)
	var e *skill.Error
	if !errors.As(err, &e) || e.Status != 422 || e.Code != "TOO_SMALL" || e.Message != "amount 1 below 50" {
		t.Errorf("Failf = %#v", err)
	}
	if got := skill.Fail("x").Error(); got != "400 BAD_REQUEST: x" {
		t.Errorf("Fail(x).Error() = %q", got)
	}
}
