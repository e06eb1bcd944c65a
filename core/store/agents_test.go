package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

var zeroTime time.Time

func mustAgent(t *testing.T, s *store.Store, userID, name string) *store.Agent {
	t.Helper()
	a, err := s.CreateAgent(context.Background(), userID, store.NewAgent{Name: name, Model: "gpt-4o-mini"}, -1)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAgentsAreTheirOwnersAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		first := mustAgent(t, s, a.ID, "first")
		second := mustAgent(t, s, a.ID, "second")
		if first.Status != store.AgentProvisioning || string(first.Config) != "{}" || first.HasToken {
			t.Errorf("new agent = %+v; want provisioning, empty config, no token", first)
		}
		list, err := s.Agents(ctx, a.ID)
		if err != nil || len(list) != 2 || list[0].ID != second.ID {
			t.Fatalf("Agents = %+v, %v; want 2, newest first", list, err)
		}
		// Another user sees none of it, whichever call they make.
		if list, err := s.Agents(ctx, b.ID); err != nil || len(list) != 0 {
			t.Errorf("b's Agents = %+v, %v; want none", list, err)
		}
		if _, err := s.Agent(ctx, b.ID, first.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b reading a's agent = %v; want ErrNotFound", err)
		}
		if _, err := s.UpdateAgentConfig(ctx, b.ID, first.ID, "x", json.RawMessage(`{}`)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b configuring a's agent = %v; want ErrNotFound", err)
		}
		if _, err := s.TransitionAgent(ctx, b.ID, first.ID, func(*store.Agent) (store.Transition, error) {
			return store.Transition{Status: store.AgentStopped}, nil
		}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b stopping a's agent = %v; want ErrNotFound", err)
		}
		if err := s.SetMemory(ctx, b.ID, first.ID, map[string]string{"k": "v"}, store.MemoryQuota{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b writing a's agent's memory = %v; want ErrNotFound", err)
		}
		if _, err := s.Memory(ctx, b.ID, first.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b reading a's agent's memory = %v; want ErrNotFound", err)
		}
		if _, err := s.StartRun(ctx, b.ID, first.ID, "chat", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b running a's agent = %v; want ErrNotFound", err)
		}
		if _, err := s.AgentStats(ctx, b.ID, first.ID, zeroTime); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b's stats of a's agent = %v; want ErrNotFound", err)
		}
		if err := s.SetInstanceToken(ctx, b.ID, first.ID, digest("t"), []byte("sealed"), true); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b setting a's agent's token = %v; want ErrNotFound", err)
		}
		if owns, err := s.OwnsAgent(ctx, b.ID, first.ID); owns || err != nil {
			t.Errorf("OwnsAgent(b, a's) = %v, %v", owns, err)
		}
	})
}

func TestAgentLimitHoldsUnderConcurrency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u := mustUser(t, s, "a@example.com")
		var wg sync.WaitGroup
		var mu sync.Mutex
		made, refused := 0, 0
		for i := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.CreateAgent(ctx, u.ID, store.NewAgent{Name: fmt.Sprint("a", i), Model: "m"}, 3)
				mu.Lock()
				defer mu.Unlock()
				var le *store.AgentLimitError
				switch {
				case err == nil:
					made++
				case errors.As(err, &le) && le.Limit == 3:
					refused++
				default:
					t.Errorf("CreateAgent = %v", err)
				}
			}()
		}
		wg.Wait()
		if made != 3 || refused != 9 {
			t.Errorf("12 concurrent provisions with a limit of 3: %d made, %d refused; want 3 and 9", made, refused)
		}
	})
}

func TestInstanceTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u := mustUser(t, s, "a@example.com")
		a := mustAgent(t, s, u.ID, "a")
		if _, err := s.InstanceToken(ctx, u.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("InstanceToken before any = %v; want ErrNotFound", err)
		}
		if err := s.SetInstanceToken(ctx, u.ID, a.ID, digest("one"), []byte("sealed-one"), true); err != nil {
			t.Fatal(err)
		}
		if err := s.SetInstanceToken(ctx, u.ID, a.ID, digest("two"), []byte("sealed-two"), true); !errors.Is(err, store.ErrConflict) {
			t.Errorf("a second first token = %v; want ErrConflict", err)
		}
		o, err := s.LookupInstanceToken(ctx, digest("one"))
		if err != nil || o.AgentID != a.ID || o.UserID != u.ID || o.Status != store.AgentProvisioning {
			t.Errorf("LookupInstanceToken = %+v, %v", o, err)
		}
		// Rotation replaces the token: the old one opens nothing.
		if err := s.SetInstanceToken(ctx, u.ID, a.ID, digest("two"), []byte("sealed-two"), false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LookupInstanceToken(ctx, digest("one")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the rotated-out token = %v; want ErrNotFound", err)
		}
		if sealed, err := s.InstanceToken(ctx, u.ID, a.ID); err != nil || string(sealed) != "sealed-two" {
			t.Errorf("InstanceToken = %q, %v", sealed, err)
		}
	})
}

func TestAgentMemoryQuotaStoresNothingOver(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u := mustUser(t, s, "a@example.com")
		a := mustAgent(t, s, u.ID, "a")
		q := store.MemoryQuota{Keys: 3, Bytes: 100}
		if err := s.SetMemory(ctx, u.ID, a.ID, map[string]string{"a": "1", "b": "2"}, q); err != nil {
			t.Fatal(err)
		}
		var full *store.MemoryFullError
		if err := s.SetMemory(ctx, u.ID, a.ID, map[string]string{"c": "3", "d": "4"}, q); !errors.As(err, &full) || !full.OverKeys {
			t.Errorf("a fourth key = %v; want MemoryFullError over keys", err)
		}
		if err := s.SetMemory(ctx, u.ID, a.ID, map[string]string{"a": strings.Repeat("x", 200)}, q); !errors.As(err, &full) || !full.OverByBytes {
			t.Errorf("200 bytes = %v; want MemoryFullError over bytes", err)
		}
		m, err := s.Memory(ctx, u.ID, a.ID)
		if err != nil || len(m) != 2 || m[0].Value != "1" || m[1].Value != "2" {
			t.Errorf("memory after refused writes = %+v, %v; want a=1, b=2 untouched", m, err)
		}
		if n, err := s.ResetMemory(ctx, u.ID, a.ID); n != 2 || err != nil {
			t.Errorf("ResetMemory = %d, %v", n, err)
		}
	})
}

func TestRunsTranscriptAndStats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u := mustUser(t, s, "a@example.com")
		a := mustAgent(t, s, u.ID, "a")
		var nr *store.NotRunningError
		if _, err := s.StartRun(ctx, u.ID, a.ID, "chat", ""); !errors.As(err, &nr) || nr.Status != store.AgentProvisioning {
			t.Fatalf("StartRun while provisioning = %v; want NotRunningError", err)
		}
		if _, err := s.TransitionAgent(ctx, u.ID, a.ID, func(*store.Agent) (store.Transition, error) {
			return store.Transition{Status: store.AgentRunning, Start: true}, nil
		}); err != nil {
			t.Fatal(err)
		}
		run, err := s.StartRun(ctx, u.ID, a.ID, "chat", "gigs")
		if err != nil {
			t.Fatal(err)
		}
		msgs := []store.AgentMessage{{Role: "user", Content: "split 100"},
			{Role: "assistant", ToolCalls: json.RawMessage(`[{"id":"c1","name":"split","arguments":"{}"}]`)},
			{Role: "tool", Content: `{"ok":true}`, ToolCallID: "c1", ToolName: "split"},
			{Role: "assistant", Content: "done"}}
		if err := s.AppendMessages(ctx, u.ID, run, msgs); err != nil {
			t.Fatal(err)
		}
		run.Status, run.RoundTrips, run.ToolCalls, run.CostMicroUSD = store.RunOK, 2, 1, 20000
		if err := s.FinishRun(ctx, u.ID, run); err != nil {
			t.Fatal(err)
		}
		page, total, err := s.AgentMessages(ctx, u.ID, store.MessagePage{AgentID: a.ID, Limit: 3})
		if err != nil || total != 4 || len(page) != 3 || page[0].Role != "assistant" || page[2].Content != "done" {
			t.Fatalf("newest page = %+v (total %d), %v", page, total, err)
		}
		if string(page[0].ToolCalls) == "" || page[1].ToolCallID != "c1" || page[1].Topic != "gigs" {
			t.Errorf("stored tool pair = %+v", page[:2])
		}
		older, _, err := s.AgentMessages(ctx, u.ID, store.MessagePage{AgentID: a.ID, Limit: 3, Before: page[0].Seq})
		if err != nil || len(older) != 1 || older[0].Content != "split 100" {
			t.Errorf("older page = %+v, %v", older, err)
		}
		if err := s.RecordUsage(ctx, u.ID, store.UsageEvent{Target: "generate-text", Status: 200, PriceMicroUSD: 10000,
			AgentID: a.ID, RunID: run.ID}); err != nil {
			t.Fatal(err)
		}
		st, err := s.AgentStats(ctx, u.ID, a.ID, zeroTime)
		if err != nil || st.Runs != 1 || st.RunsOK != 1 || st.Messages != 4 || st.ToolCalls != 1 || st.CostMicroUSD != 20000 ||
			st.Calls != 1 || st.SpendMicroUSD != 10000 || st.LastRunAt == nil {
			t.Errorf("AgentStats = %+v, %v", st, err)
		}
		// A stopped agent runs nothing.
		if _, err := s.TransitionAgent(ctx, u.ID, a.ID, func(*store.Agent) (store.Transition, error) {
			return store.Transition{Status: store.AgentStopped}, nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartRun(ctx, u.ID, a.ID, "chat", ""); !errors.As(err, &nr) || nr.Status != store.AgentStopped {
			t.Errorf("StartRun while stopped = %v", err)
		}
	})
}

func TestSkillInstalls(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u := mustUser(t, s, "a@example.com")
		a := mustAgent(t, s, u.ID, "a")
		for _, v := range []string{"1.0.0", "1.1.0"} {
			if _, err := s.PublishSkill(ctx, "", "Agentbot", release("split", v, "s"+v)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.PublishSkill(ctx, "", "Agentbot", release("other", "1.0.0", "o")); err != nil {
			t.Fatal(err)
		}
		is, installed, err := s.InstallSkill(ctx, u.ID, a.ID, "split", "1.0.0", 1)
		if err != nil || !installed || is.Version != "1.0.0" || is.Latest != "1.1.0" {
			t.Fatalf("InstallSkill = %+v, %v, %v", is, installed, err)
		}
		if _, installed, err := s.InstallSkill(ctx, u.ID, a.ID, "split", "", 1); err != nil || installed {
			t.Errorf("installing again = %v, %v; want no change", installed, err)
		}
		var le *store.SkillLimitError
		if _, _, err := s.InstallSkill(ctx, u.ID, a.ID, "other", "", 1); !errors.As(err, &le) {
			t.Errorf("over the limit = %v; want SkillLimitError", err)
		}
		if _, _, err := s.InstallSkill(ctx, u.ID, a.ID, "split", "9.9.9", -1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown version = %v; want ErrNotFound", err)
		}
		sk, _ := s.Skill(ctx, "split")
		if sk.Downloads != 1 {
			t.Errorf("downloads = %d; want 1 (one install)", sk.Downloads)
		}
		if is, err := s.UpgradeSkill(ctx, u.ID, a.ID, "split", ""); err != nil || is.Version != "1.1.0" {
			t.Errorf("UpgradeSkill = %+v, %v", is, err)
		}
		list, err := s.AgentSkills(ctx, u.ID, a.ID)
		if err != nil || len(list) != 1 || list[0].Version != "1.1.0" {
			t.Errorf("AgentSkills = %+v, %v", list, err)
		}
		if err := s.UninstallSkill(ctx, u.ID, a.ID, "split"); err != nil {
			t.Fatal(err)
		}
		if err := s.UninstallSkill(ctx, u.ID, a.ID, "split"); !errors.Is(err, store.ErrNotInstalled) {
			t.Errorf("uninstalling twice = %v; want ErrNotInstalled", err)
		}
	})
}
