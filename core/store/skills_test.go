package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

func release(name, version, sha string) store.SkillRelease {
	return store.SkillRelease{Name: name, Version: version, Description: "d " + version, Category: "music",
		Manifest: []byte(`{"name":"` + name + `"}`), PriceMicroUSD: 1000, SHA256: sha, WASM: []byte("wasm-" + sha)}
}

func TestSkillCatalogue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		sk, err := s.PublishSkill(ctx, a.ID, "Ada", release("beats", "1.0.0", "aa"))
		if err != nil || sk.Version != "1.0.0" || sk.Author != "Ada" || sk.PriceMicroUSD != 1000 || sk.SHA256 != "aa" {
			t.Fatalf("PublishSkill = %+v, %v", sk, err)
		}
		if _, err := s.PublishSkill(ctx, a.ID, "Ada", release("beats", "1.0.0", "aa")); err != nil {
			t.Errorf("republishing the identical release = %v; want a no-op", err)
		}
		if _, err := s.PublishSkill(ctx, a.ID, "Ada", release("beats", "1.0.0", "bb")); !errors.Is(err, store.ErrConflict) {
			t.Errorf("changing a published version = %v; want ErrConflict (versions are immutable)", err)
		}
		if _, err := s.PublishSkill(ctx, b.ID, "Bob", release("beats", "2.0.0", "cc")); !errors.Is(err, store.ErrNotOwner) {
			t.Errorf("another author publishing beats = %v; want ErrNotOwner", err)
		}
		if _, err := s.PublishSkill(ctx, "", "Agentbot", release("beats", "2.0.0", "cc")); !errors.Is(err, store.ErrNotOwner) {
			t.Errorf("the platform publishing a user's skill = %v; want ErrNotOwner", err)
		}
		sk, err = s.PublishSkill(ctx, a.ID, "Ada", release("beats", "1.1.0", "aa"))
		if err != nil || sk.Version != "1.1.0" {
			t.Fatalf("new version = %+v, %v", sk, err)
		}
		// The same module under two versions and two skills is stored once.
		if _, err := s.PublishSkill(ctx, b.ID, "Bob", release("loops", "0.1.0", "aa")); err != nil {
			t.Fatal(err)
		}
		if w, err := s.SkillModule(ctx, "aa"); err != nil || string(w) != "wasm-aa" {
			t.Errorf("SkillModule = %q, %v", w, err)
		}
		feat := release("shipped", "1.0.0", "dd")
		feat.Featured, feat.Category = true, "payments"
		if _, err := s.PublishSkill(ctx, "", "Agentbot", feat); err != nil {
			t.Fatal(err)
		}
		if err := s.CountSkillUse(ctx, "loops"); err != nil {
			t.Fatal(err)
		}
		all, err := s.Skills(ctx, store.SkillFilter{})
		if err != nil || len(all) != 3 || all[0].Name != "shipped" || all[1].Name != "loops" || all[1].Downloads != 1 {
			t.Errorf("Skills() = %v, %v; want featured first, then by downloads", names(all), err)
		}
		music, _ := s.Skills(ctx, store.SkillFilter{Category: "music"})
		featured, _ := s.Skills(ctx, store.SkillFilter{Featured: true})
		if len(music) != 2 || len(featured) != 1 || featured[0].AuthorID != "" {
			t.Errorf("filters: music %v, featured %v", names(music), names(featured))
		}
		if _, err := s.Skill(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Skill(nope) = %v; want ErrNotFound", err)
		}
	})
}

func names(ss []store.Skill) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func TestSkillKVIsScoped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		sa := store.SkillScope{UserID: a.ID, AgentID: "agt_1", Skill: "split"}
		if err := s.SkillKVSet(ctx, sa, "escrow:1", []byte("100")); err != nil {
			t.Fatal(err)
		}
		if err := s.SkillKVSet(ctx, sa, "escrow:1", []byte("200")); err != nil {
			t.Fatal(err)
		}
		if v, err := s.SkillKVGet(ctx, sa, "escrow:1"); err != nil || string(v) != "200" {
			t.Errorf("get = %q, %v; want the overwritten value", v, err)
		}
		for _, other := range []store.SkillScope{
			{UserID: b.ID, AgentID: "agt_1", Skill: "split"},
			{UserID: a.ID, AgentID: "agt_2", Skill: "split"},
			{UserID: a.ID, AgentID: "agt_1", Skill: "other"},
		} {
			if _, err := s.SkillKVGet(ctx, other, "escrow:1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("scope %+v sees a's key: %v", other, err)
			}
			if keys, _ := s.SkillKVList(ctx, other, ""); len(keys) != 0 {
				t.Errorf("scope %+v lists %v", other, keys)
			}
		}
		s.SkillKVSet(ctx, sa, "escrow:2", []byte("x"))
		s.SkillKVSet(ctx, sa, "other", []byte("y"))
		if keys, err := s.SkillKVList(ctx, sa, "escrow:"); err != nil || fmt.Sprint(keys) != "[escrow:1 escrow:2]" {
			t.Errorf("list = %v, %v", keys, err)
		}
		if err := s.SkillKVDelete(ctx, sa, "escrow:1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SkillKVGet(ctx, sa, "escrow:1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted key = %v", err)
		}
	})
}
