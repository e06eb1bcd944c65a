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
		if err := s.SkillKVSet(ctx, sa, "escrow:1", []byte("100"), store.SkillKVQuota{}); err != nil {
			t.Fatal(err)
		}
		if err := s.SkillKVSet(ctx, sa, "escrow:1", []byte("200"), store.SkillKVQuota{}); err != nil {
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
		s.SkillKVSet(ctx, sa, "escrow:2", []byte("x"), store.SkillKVQuota{})
		s.SkillKVSet(ctx, sa, "other", []byte("y"), store.SkillKVQuota{})
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

func TestSkillPublishQuota(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		cfg.Now = func() time.Time { return now }
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		quota := store.SkillQuota{VersionsPerDay: 2, StoredBytes: 20} // each test module is 7 bytes ("wasm-xx")
		rel := func(name, version, sha string) store.SkillRelease {
			r := release(name, version, sha)
			r.Quota = quota
			return r
		}
		publish := func(author, name, version, sha string) error {
			r := rel(name, version, sha)
			check := s.CheckSkillRelease(ctx, author, r)
			_, err := s.PublishSkill(ctx, author, "x", r)
			if fmt.Sprint(check) != fmt.Sprint(err) {
				t.Errorf("CheckSkillRelease(%s@%s) = %v but PublishSkill = %v", name, version, check, err)
			}
			return err
		}
		if err := publish(a.ID, "beats", "1.0.0", "aa"); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		if err := publish(a.ID, "beats", "1.1.0", "bb"); err != nil {
			t.Fatal(err)
		}
		var qe *store.SkillQuotaError
		err := publish(a.ID, "loops", "1.0.0", "aa")
		if !errors.As(err, &qe) || !qe.Daily || qe.Current != 2 || qe.Limit != 2 || qe.RetryAfter != 23*time.Hour {
			t.Fatalf("a third version within 24 hours = %v (%+v); want the daily quota, retry in 23h", err, qe)
		}
		// Republishing a release is a no-op, which no quota stops; the other
		// checks come first.
		if err := publish(a.ID, "beats", "1.0.0", "aa"); err != nil {
			t.Errorf("republishing the identical release over the quota = %v; want a no-op", err)
		}
		if err := publish(a.ID, "beats", "1.0.0", "zz"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("changing a version over the quota = %v; want ErrConflict", err)
		}
		if err := publish(b.ID, "beats", "9.0.0", "zz"); !errors.Is(err, store.ErrNotOwner) {
			t.Errorf("b publishing a's skill = %v; want ErrNotOwner", err)
		}
		// Another author, and the platform, have quotas of their own / none.
		if err := publish(b.ID, "drums", "1.0.0", "cc"); err != nil {
			t.Errorf("b's first version = %v", err)
		}
		if _, err := s.PublishSkill(ctx, "", "Agentbot", release("shipped", "1.0.0", "dd")); err != nil {
			t.Errorf("the platform's release = %v", err)
		}
		// A day later the daily bound is free again; the stored bytes are not:
		// 14 stored + 7 new > 20, unless the module is one a already stores.
		now = now.Add(24 * time.Hour)
		err = publish(a.ID, "loops", "1.0.0", "ee")
		if !errors.As(err, &qe) || qe.Daily || qe.Current != 14 || qe.Limit != 20 {
			t.Errorf("a third module past 20 bytes = %v (%+v); want the storage quota at 14 of 20", err, qe)
		}
		if err := publish(a.ID, "loops", "1.0.0", "bb"); err != nil {
			t.Errorf("a version reusing a stored module = %v; want it to fit", err)
		}
		// Zero quotas are unlimited.
		for i := range 5 {
			if _, err := s.PublishSkill(ctx, b.ID, "B", release("drums", fmt.Sprintf("2.0.%d", i), fmt.Sprintf("f%d", i))); err != nil {
				t.Fatalf("unlimited publish %d = %v", i, err)
			}
		}
	})
}

func TestSkillKVQuota(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		quota := store.SkillKVQuota{Keys: 3, Bytes: 40}
		set := func(user, agent, skill, key, value string) error {
			return s.SkillKVSet(ctx, store.SkillScope{UserID: user, AgentID: agent, Skill: skill}, key, []byte(value), quota)
		}
		// Three keys, across two agents: one quota per user and skill.
		for _, kv := range [][2]string{{"agt_1", "k1"}, {"agt_2", "k2"}, {"agt_2", "k3"}} {
			if err := set(a.ID, kv[0], "notes", kv[1], "v"); err != nil {
				t.Fatalf("set %v = %v", kv, err)
			}
		}
		if err := set(a.ID, "agt_3", "notes", "k4", "v"); !errors.Is(err, store.ErrKVFull) {
			t.Errorf("a fourth key = %v; want ErrKVFull", err)
		}
		if err := set(a.ID, "agt_1", "notes", "k1", "overwritten"); err != nil {
			t.Errorf("overwriting a key at the key quota = %v; want it allowed", err)
		}
		// Bytes count keys and values: 2+11 + 2+1 + 2+1 = 19 stored.
		if err := set(a.ID, "agt_2", "notes", "k2", strings.Repeat("x", 22)); err != nil {
			t.Errorf("growing to exactly 40 bytes = %v", err)
		}
		if err := set(a.ID, "agt_2", "notes", "k2", strings.Repeat("x", 23)); !errors.Is(err, store.ErrKVFull) {
			t.Errorf("growing past 40 bytes = %v; want ErrKVFull", err)
		}
		// A write that shrinks the store is allowed even over a lowered quota.
		quota.Bytes = 10
		if err := set(a.ID, "agt_2", "notes", "k2", "x"); err != nil {
			t.Errorf("shrinking over the quota = %v; want it allowed", err)
		}
		quota.Bytes = 40
		if err := s.SkillKVDelete(ctx, store.SkillScope{UserID: a.ID, AgentID: "agt_2", Skill: "notes"}, "k3"); err != nil {
			t.Fatal(err)
		}
		if err := set(a.ID, "agt_3", "notes", "k4", "v"); err != nil {
			t.Errorf("a key after a delete made room = %v", err)
		}
		// Other users and other skills have their own quotas.
		if err := set(b.ID, "agt_1", "notes", "k9", "v"); err != nil {
			t.Errorf("b's key = %v", err)
		}
		if err := set(a.ID, "agt_1", "drums", "k9", "v"); err != nil {
			t.Errorf("a's key of another skill = %v", err)
		}
		// Concurrent writers cannot overshoot the key quota.
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				_ = set(b.ID, "agt_1", "race", fmt.Sprintf("k%02d", i), "v")
			}()
		}
		close(gate)
		wg.Wait()
		if keys, err := s.SkillKVList(ctx, store.SkillScope{UserID: b.ID, AgentID: "agt_1", Skill: "race"}, ""); err != nil || len(keys) != 3 {
			t.Errorf("40 concurrent writers under a 3-key quota stored %d keys, %v; want 3", len(keys), err)
		}
	})
}

func TestSkillVersion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		a := mustUser(t, s, "a@example.com")
		old := release("beats", "1.0.0", "aa")
		old.Manifest, old.PriceMicroUSD = []byte(`{"v": 1}`), 1000
		newer := release("beats", "1.1.0", "bb")
		newer.Manifest, newer.PriceMicroUSD = []byte(`{"v": 2}`), 2500
		for _, r := range []store.SkillRelease{old, newer} {
			if _, err := s.PublishSkill(ctx, a.ID, "Ada", r); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			version, sha string
			v            float64
			price        int64
		}{{"1.0.0", "aa", 1, 1000}, {"1.1.0", "bb", 2, 2500}} {
			sk, err := s.SkillVersion(ctx, "beats", tc.version)
			if err != nil {
				t.Fatalf("SkillVersion(beats, %s) = %v", tc.version, err)
			}
			var m struct{ V float64 }
			if err := json.Unmarshal(sk.Manifest, &m); err != nil {
				t.Fatal(err)
			}
			if sk.Name != "beats" || sk.Version != tc.version || sk.SHA256 != tc.sha || m.V != tc.v ||
				sk.PriceMicroUSD != tc.price || sk.Author != "Ada" || sk.Description != "d 1.1.0" {
				t.Errorf("SkillVersion(beats, %s) = %+v (manifest %s); want that version's module, manifest and price "+
					"with the skill's current description", tc.version, sk, sk.Manifest)
			}
		}
		if latest, err := s.Skill(ctx, "beats"); err != nil || latest.Version != "1.1.0" {
			t.Errorf("Skill(beats) = %+v, %v; want the latest, 1.1.0", latest, err)
		}
		for _, tc := range [][2]string{{"beats", "2.0.0"}, {"beats", ""}, {"nope", "1.0.0"}} {
			if sk, err := s.SkillVersion(ctx, tc[0], tc[1]); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("SkillVersion(%s, %q) = %+v, %v; want ErrNotFound", tc[0], tc[1], sk, err)
			}
		}
	})
}
