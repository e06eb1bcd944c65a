//go:build !wasip1

// Package guesttest builds a shipped skill for the sandbox and runs it
// in-process through skilltest, for the skills' own tests (which run on the
// host). A test package uses it as
//
//	s := guesttest.Load(t) // the skill of the package under test
//	out := guesttest.OK(t, s, host, map[string]any{"action": "list"})
//
// Every input a test calls successfully (OK, Into) must also pass the input
// schema of its action in the package's manifest.json: agents check a
// model's arguments against it, so a schema stricter than the skill would
// refuse calls the skill serves.
package guesttest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/sdk/skill/skilltest"
	"github.com/agentbot/gateway/skills"
)

// Load builds (once) and loads the skill of the package under test.
func Load(t testing.TB) *skilltest.Skill {
	t.Helper()
	return skilltest.Load(t, skilltest.Build(t, "."))
}

// Object is a decoded JSON object.
type Object = map[string]any

// OK calls the skill with in and returns its output decoded as an object; a
// failure fails the test.
func OK(t testing.TB, s *skilltest.Skill, h *skilltest.Host, in any) Object {
	t.Helper()
	Accepts(t, in)
	var out Object
	if f := s.CallJSON(t, h, in, &out); f != nil {
		t.Fatalf("call %s failed: %v", brief(in), f)
	}
	return out
}

// Into calls the skill with in and decodes its output into out.
func Into(t testing.TB, s *skilltest.Skill, h *skilltest.Host, in, out any) {
	t.Helper()
	Accepts(t, in)
	if f := s.CallJSON(t, h, in, out); f != nil {
		t.Fatalf("call %s failed: %v", brief(in), f)
	}
}

// Fails calls the skill with in, expects a failure with status and code
// whose message contains msg, and returns the failure.
func Fails(t testing.TB, s *skilltest.Skill, h *skilltest.Host, in any, status int, code, msg string) *abi.Failure {
	t.Helper()
	f := s.CallJSON(t, h, in, nil)
	if f == nil {
		t.Fatalf("call %s succeeded; want %d %s", brief(in), status, code)
	}
	if f.Status != status || f.Code != code || !strings.Contains(f.Message, msg) {
		t.Fatalf("call %s failed with %v; want %d %s containing %q", brief(in), f, status, code, msg)
	}
	return f
}

// JSON returns v re-encoded, for comparing decoded outputs with literals.
func JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func brief(in any) string {
	b, _ := json.Marshal(in)
	if len(b) > 200 {
		b = append(b[:200], "…"...)
	}
	return string(b)
}

// Manifest checks the package's manifest.json: the platform accepts it, its
// name is the directory's, it requests exactly caps, and every action it
// lists is one the skill routes (the skill answers anything but
// INVALID_ACTION). It returns the manifest.
func Manifest(t testing.TB, s *skilltest.Skill, caps ...string) *skills.Manifest {
	t.Helper()
	raw, err := os.ReadFile("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := skills.ParseManifest(raw)
	if err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	wd, _ := os.Getwd()
	if m.Name != filepath.Base(wd) {
		t.Errorf("manifest name %q, want the directory's %q", m.Name, filepath.Base(wd))
	}
	if strings.Join(m.Capabilities, ",") != strings.Join(caps, ",") {
		t.Errorf("manifest capabilities %v, want %v", m.Capabilities, caps)
	}
	if m.Limits.TimeoutMS <= 0 {
		t.Errorf("manifest has no timeout")
	}
	for _, a := range m.Actions {
		if m.InputSchemas[a] == nil {
			t.Errorf("manifest action %q has no input schema", a)
		}
	}
	// Registration at start decodes the manifest into a map and encodes it
	// again (to add the module's digest to the version): numbers go through
	// float64 on the way.
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(generic)
	if _, err := skills.ParseManifest(again); err != nil {
		t.Errorf("manifest.json re-encoded as registration does: %v", err)
	}
	for _, a := range m.Actions {
		if f := s.CallJSON(t, &skilltest.Host{}, Object{"action": a}, nil); f != nil && f.Code == "INVALID_ACTION" {
			t.Errorf("manifest action %q is not routed by the skill", a)
		}
	}
	return m
}

// tools are the package manifest's actions with their compiled schemas.
var tools = sync.OnceValues(func() (*skills.ToolSet, error) {
	raw, err := os.ReadFile("manifest.json")
	if err != nil {
		return nil, err
	}
	m, err := skills.ParseManifest(raw)
	if err != nil {
		return nil, err
	}
	return m.Tools(), nil
})

// validate checks in (an input with its "action") against the manifest's
// input schema of that action, as an agent checks a model's arguments.
func validate(t testing.TB, in any) (action string, args []byte, err error) {
	t.Helper()
	ts, err := tools()
	if err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatalf("input %s is not a JSON object", brief(in))
	}
	_ = json.Unmarshal(fields["action"], &action)
	delete(fields, "action")
	args, _ = json.Marshal(fields)
	return action, args, ts.Validate(action, args)
}

// Accepts checks that the manifest's input schema accepts in.
func Accepts(t testing.TB, in any) {
	t.Helper()
	if action, args, err := validate(t, in); err != nil {
		t.Errorf("manifest.json inputSchemas.%s refuses %s, which the skill serves: %v", action, args, err)
	}
}

// Refuses checks that the manifest's input schema refuses in, saying msg.
func Refuses(t testing.TB, in any, msg string) {
	t.Helper()
	action, args, err := validate(t, in)
	if err == nil || !strings.Contains(err.Error(), msg) {
		t.Errorf("manifest.json inputSchemas.%s on %s = %v; want a refusal saying %q", action, args, err, msg)
	}
}
