package skills

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/skills/internal/testguests"
)

// bumps calls the AssemblyScript guest's "bump" n times for one user and
// returns what each call answered: the calls its instance has served, a
// counter in a global of the guest.
func bumps(t *testing.T, r *Runtime, m *Module, fresh bool, n int) []float64 {
	t.Helper()
	var got []float64
	for range n {
		out, f, err := r.Call(context.Background(), m, Request{UserID: "alice", Fresh: fresh, Input: []byte(`{"action":"bump"}`)})
		if err != nil || f != nil {
			t.Fatalf("bump = %v, %v", f, err)
		}
		got = append(got, decode(t, out)["calls"].(float64))
	}
	return got
}

func TestFreshCallsKeepNoStateInGuestMemory(t *testing.T) {
	r := newRuntime(t, Config{})
	m, err := r.Compile(context.Background(), testguests.AS(t, "verbs"))
	if err != nil {
		t.Fatal(err)
	}
	if got := bumps(t, r, m, true, 3); got[0] != 1 || got[1] != 1 || got[2] != 1 {
		t.Errorf("fresh calls: the global counter read %v; want 1 every time (a new instance per call)", got)
	}
	if r.Idle() != 0 {
		t.Errorf("fresh calls left %d warm instances; want none", r.Idle())
	}
	if got := bumps(t, r, m, false, 3); got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Errorf("pooled calls: the global counter read %v; want 1, 2, 3 (the user's warm instance)", got)
	}
	// A fresh call never takes the user's warm instance either.
	if got := bumps(t, r, m, true, 1); got[0] != 1 {
		t.Errorf("a fresh call after pooled ones read %v; want 1", got)
	}
	if r.Idle() != 1 {
		t.Errorf("idle = %d; want the pooled instance still kept", r.Idle())
	}
}

func TestIsolationMeasuresTheStart(t *testing.T) {
	r := newRuntime(t, Config{})
	ctx := context.Background()
	as, err := r.Compile(ctx, testguests.AS(t, "verbs"))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Isolation(ctx, as); got != IsolationFresh {
		t.Errorf("Isolation(AssemblyScript guest, %d bytes) = %s; want fresh", len(testguests.AS(t, "verbs")), got)
	}
	if got := r.Isolation(ctx, guest(t, r, "echo")); got != IsolationPooled {
		t.Errorf("Isolation(Go guest) = %s; want pooled (its start takes milliseconds)", got)
	}
	slow := guest(t, r, "slowinit")
	start := time.Now()
	if got := r.Isolation(ctx, slow); got != IsolationPooled {
		t.Errorf("Isolation(a guest whose start never ends) = %s; want pooled", got)
	}
	// Uncut, five starts would each run to InitTimeout (2 s): a wide margin
	// for a loaded machine, where the deadline's timer itself waits to run.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("measuring a start that never ends took %v; want it cut off (5 × 4 ms)", d)
	}
	if r.Starting() != 0 {
		t.Errorf("%d start slots held after measuring; want none", r.Starting())
	}

	never := newRuntime(t, Config{FreshMaxStart: -1})
	as2, err := never.Compile(ctx, testguests.AS(t, "verbs"))
	if err != nil {
		t.Fatal(err)
	}
	if got := never.Isolation(ctx, as2); got != IsolationPooled {
		t.Errorf("Isolation with FreshMaxStart < 0 = %s; want pooled", got)
	}
}

// The AssemblyScript SDK's abort records 500 SKILL_PANIC, then traps: the
// call fails with that failure (not a crash) and the instance is discarded.
func TestAbortAfterFailIsTheSkillsFailure(t *testing.T) {
	r := newRuntime(t, Config{})
	ctx := context.Background()
	m, err := r.Compile(ctx, testguests.AS(t, "verbs"))
	if err != nil {
		t.Fatal(err)
	}
	bumps(t, r, m, false, 1)
	for _, in := range []string{`{"action":"panic"}`, `{"action":"panic","bounds":true}`} {
		_, f, err := r.Call(ctx, m, Request{UserID: "alice", Input: []byte(in)})
		if err != nil || f == nil || f.Status != 500 || f.Code != "SKILL_PANIC" || !strings.HasPrefix(f.Message, "panic: ") {
			t.Errorf("%s = %v, %v; want 500 SKILL_PANIC with the abort's message", in, f, err)
		}
		if r.Idle() != 0 {
			t.Errorf("%s: idle = %d; want the trapped instance discarded", in, r.Idle())
		}
	}
	if got := bumps(t, r, m, false, 1); got[0] != 1 {
		t.Errorf("the call after an abort read %v; want a new instance", got)
	}
	// A trap without a recorded failure is still a crash.
	trap, err := r.Compile(ctx, testguests.Fixture(t, "trap"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Call(ctx, trap, Request{UserID: "alice"}); !errors.Is(err, ErrCrashed) {
		t.Errorf("a bare trap = %v; want ErrCrashed", err)
	}
}

func TestWithIsolation(t *testing.T) {
	raw := []byte(`{"name":"hello-as","version":"1.0.0","description":"<b>&",
		"category":"examples","capabilities":["kv"]}`)
	got, err := WithIsolation(raw, IsolationFresh)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(got)
	if err != nil {
		t.Fatalf("ParseManifest(%s) = %v", got, err)
	}
	if m.Isolation != IsolationFresh || m.Name != "hello-as" || m.Description != "<b>&" || !m.Has("kv") {
		t.Errorf("WithIsolation(…, fresh) = %s; want the same manifest with isolation fresh", got)
	}
	if strings.Contains(string(got), `\u003c`) {
		t.Errorf("WithIsolation escaped the author's text: %s", got)
	}
	again, _ := WithIsolation(got, IsolationPooled)
	if m, _ := ParseManifest(again); m == nil || m.Isolation != IsolationPooled {
		t.Errorf("WithIsolation(…, pooled) over fresh = %s; want pooled", again)
	}
	if _, err := WithIsolation([]byte(`[1]`), IsolationFresh); err == nil {
		t.Error("WithIsolation(an array) succeeded; want an error")
	}
}

// detail is GET /api/skills/:name's body.
func (e *serviceEnv) detail(t *testing.T, name string) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := e.svc.get(rec, httptest.NewRequest("GET", "/api/skills/"+name, nil), httprouter.Params{{Key: "name", Value: name}}); err != nil {
		t.Fatalf("GET /api/skills/%s = %v", name, err)
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// listed is each skill's isolation in GET /api/skills.
func (e *serviceEnv) listed(t *testing.T) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := e.svc.list(rec, httptest.NewRequest("GET", "/api/skills", nil), nil); err != nil {
		t.Fatalf("GET /api/skills = %v", err)
	}
	var v struct{ Skills []map[string]any }
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, s := range v.Skills {
		out[s["name"].(string)] = s["isolation"]
	}
	return out
}

// Publishing decides the isolation of a manifest that does not ask for one
// (fresh for the small AssemblyScript module, pooled for the Go one), records
// it in the stored manifest, shows it in the listing and the detail, and
// calls follow it; a manifest's own choice wins.
func TestPublishRecordsTheIsolationAndCallsFollowIt(t *testing.T) {
	e := newService(t, Config{}, FetchPolicy{})
	ctx := context.Background()
	as := testguests.AS(t, "verbs")
	for _, p := range []struct {
		name string
		wasm []byte
		iso  any // the manifest's
	}{
		{"as-auto", as, nil},
		{"as-pooled", as, IsolationPooled},
		{"go-auto", testguests.Wasm(t, "echo"), nil},
		{"go-fresh", testguests.Wasm(t, "echo"), IsolationFresh},
	} {
		extra := map[string]any{}
		if p.iso != nil {
			extra["isolation"] = p.iso
		}
		if err := e.publishAs(t, e.a, false, p.wasm, p.name, "1.0.0", extra); err != nil {
			t.Fatalf("publish %s = %v", p.name, err)
		}
	}
	want := map[string]any{"as-auto": "fresh", "as-pooled": "pooled", "go-auto": "pooled", "go-fresh": "fresh"}
	for name, iso := range want {
		sk, err := e.st.Skill(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := ParseManifest(sk.Manifest); err != nil || m.Isolation != iso {
			t.Errorf("%s: stored manifest %s; want isolation %s recorded", name, sk.Manifest, iso)
		}
		if got := e.detail(t, name)["isolation"]; got != iso {
			t.Errorf("GET /api/skills/%s: isolation %v; want %s", name, got, iso)
		}
	}
	if got := e.listed(t); len(got) != len(want) || got["as-auto"] != "fresh" || got["as-pooled"] != "pooled" ||
		got["go-auto"] != "pooled" || got["go-fresh"] != "fresh" {
		t.Errorf("GET /api/skills isolations = %v; want %v", got, want)
	}

	for _, tc := range []struct {
		name, in, field string
		want            []float64
	}{
		{"as-auto", `{"action":"bump"}`, "calls", []float64{1, 1, 1}},
		{"as-pooled", `{"action":"bump"}`, "calls", []float64{1, 2, 3}},
		{"go-fresh", `{}`, "instanceCalls", []float64{1, 1, 1}},
		{"go-auto", `{}`, "instanceCalls", []float64{1, 2, 3}},
	} {
		for i, want := range tc.want {
			resp := e.invoke(t, e.b, IDPrefix+tc.name, tc.in)
			if resp.Error != nil {
				t.Fatalf("%s: %+v", tc.name, resp.Error)
			}
			var out map[string]any
			json.Unmarshal(resp.Output, &out)
			if out[tc.field] != want {
				t.Errorf("%s call %d: %s = %v; want %v", tc.name, i+1, tc.field, out[tc.field], want)
			}
		}
	}

	// A manifest stored without an isolation (published before the field, or
	// shipped) is pooled; the operator's fresh mode makes every skill fresh.
	e.publish(t, "echo", "legacy", nil)
	if got := e.detail(t, "legacy")["isolation"]; got != IsolationPooled {
		t.Errorf("a manifest stored without isolation: %v; want pooled", got)
	}
	fresh := &serviceEnv{svc: &Service{Store: e.st, Runtime: newRuntime(t, Config{Fresh: true}), Log: quiet}, st: e.st}
	if got := fresh.detail(t, "legacy")["isolation"]; got != IsolationFresh {
		t.Errorf("under the operator's fresh mode: %v; want fresh", got)
	}
}
