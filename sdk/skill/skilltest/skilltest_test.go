package skilltest_test

import (
	"slices"
	"testing"

	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/sdk/skill/internal/testguests"
	"github.com/agentbot/gateway/sdk/skill/skilltest"
)

func TestCall(t *testing.T) {
	s := skilltest.Load(t, testguests.Path(t, "echo"))
	out, f := s.Call(t, nil, []byte("hi"))
	if f != nil || string(out) != "hi" {
		t.Errorf("Call(hi) = %q, %v; want hi", out, f)
	}
}

func TestCallJSON(t *testing.T) {
	s := skilltest.Load(t, testguests.Path(t, "verbs"))
	var out struct{ Sum int }
	if f := s.CallJSON(t, nil, map[string]any{"action": "json", "numbers": []int{2, 3}}, &out); f != nil || out.Sum != 5 {
		t.Errorf("CallJSON(json) = %+v, %v; want sum 5", out, f)
	}
	f := s.CallJSON(t, nil, map[string]any{"action": "nope"}, &out)
	if f == nil || f.Status != 400 || f.Code != "INVALID_ACTION" || f.Message != "Invalid action" {
		t.Errorf("CallJSON(nope) failed with %v; want 400 INVALID_ACTION", f)
	}
}

// The Host's fakes persist across calls and are open to inspection.
func TestHostState(t *testing.T) {
	s := skilltest.Load(t, testguests.Path(t, "verbs"))
	h := &skilltest.Host{}
	if f := s.CallJSON(t, h, map[string]string{"action": "kv", "op": "set", "key": "k", "value": "v"}, nil); f != nil {
		t.Fatal(f)
	}
	if string(h.KV["k"]) != "v" {
		t.Errorf("Host.KV = %q after set; want k=v", h.KV)
	}
	var got struct{ Value string }
	if f := s.CallJSON(t, h, map[string]string{"action": "kv", "op": "get", "key": "k"}, &got); f != nil || got.Value != "v" {
		t.Errorf("get k in a second call = %q, %v; want v", got.Value, f)
	}
	s.CallJSON(t, h, map[string]string{"action": "log"}, nil)
	if !slices.Contains(h.Logs, "warn: warn 2") {
		t.Errorf("Host.Logs = %q; want the skill's lines", h.Logs)
	}
}

func TestLimits(t *testing.T) {
	s := skilltest.Load(t, testguests.Path(t, "echo"))
	_, f := s.Call(t, &skilltest.Host{Limits: abi.Limits{MaxOutput: 10}}, []byte("more than ten bytes"))
	if f == nil || f.Code != "OUTPUT_TOO_LARGE" {
		t.Errorf("echo over a 10-byte output cap failed with %v; want OUTPUT_TOO_LARGE", f)
	}
}
