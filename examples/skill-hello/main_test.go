//go:build !wasip1

package main

import (
	"testing"

	"github.com/agentbot/gateway/sdk/skill/skilltest"
)

func TestHello(t *testing.T) {
	s := skilltest.Load(t, skilltest.Build(t, "."))

	var out struct{ Greeting string }
	if f := s.CallJSON(t, nil, map[string]string{"action": "hello", "name": "Ada"}, &out); f != nil {
		t.Fatalf("hello failed: %v", f)
	}
	if out.Greeting != "Hello, Ada!" {
		t.Errorf("greeting = %q; want Hello, Ada!", out.Greeting)
	}
	if f := s.CallJSON(t, nil, map[string]string{"action": "hello"}, nil); f == nil || f.Code != "BAD_REQUEST" {
		t.Errorf("hello without a name failed with %v; want 400 BAD_REQUEST", f)
	}
	if f := s.CallJSON(t, nil, map[string]string{"action": "bye"}, nil); f == nil || f.Code != "INVALID_ACTION" {
		t.Errorf("an unknown action failed with %v; want 400 INVALID_ACTION", f)
	}
}

func TestCount(t *testing.T) {
	s := skilltest.Load(t, skilltest.Build(t, "."))
	h := &skilltest.Host{} // its KV lasts across calls, like the platform's
	for want := 1; want <= 3; want++ {
		var out struct{ Count int }
		if f := s.CallJSON(t, h, map[string]string{"action": "count"}, &out); f != nil {
			t.Fatalf("count failed: %v", f)
		}
		if out.Count != want {
			t.Errorf("call %d: count = %d", want, out.Count)
		}
	}
	if string(h.KV["count"]) != "3" {
		t.Errorf("KV = %q; want count=3", h.KV)
	}
}
