package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

// sameEvents compares usage events field by field, times by instant.
func sameEvents(got, want []store.UsageEvent) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.CreatedAt.Equal(w.CreatedAt) {
			return false
		}
		g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
		if g != w {
			return false
		}
	}
	return true
}

func fmtEvents(es []store.UsageEvent) string {
	var b strings.Builder
	b.WriteString("[")
	for i, e := range es {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "{%s %s %s %d %v in=%d out=%d price=%d upstream=%d %q %s}", e.ID, e.UserID, e.Target, e.Status,
			e.Duration, e.InputTokens, e.OutputTokens, e.PriceMicroUSD, e.UpstreamMicroUSD, e.PaymentMethod,
			e.CreatedAt.UTC().Format(time.RFC3339Nano))
	}
	b.WriteString("]")
	return b.String()
}

func TestUsage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		cfg.Now = func() time.Time { return now }
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")

		// Times carry sub-millisecond parts and a non-UTC zone: the store keeps
		// milliseconds and the instant.
		est := time.FixedZone("EST", -5*3600)
		t0 := time.Date(2026, 2, 1, 9, 30, 0, 123_456_789, est)
		ms := func(t time.Time) time.Time { return t.Truncate(time.Millisecond) }
		events := []store.UsageEvent{ // recorded out of time order
			{ID: "use_2", Target: "openai.chat", Status: 200, Duration: 1500 * time.Millisecond, InputTokens: 120,
				OutputTokens: 30, PriceMicroUSD: 50_000, UpstreamMicroUSD: 41_234, PaymentMethod: "credits", CreatedAt: t0.Add(time.Hour)},
			{ID: "use_1", Target: "anthropic.messages", Status: 429, Duration: 7 * time.Millisecond,
				PaymentMethod: "byok", CreatedAt: t0},
			{ID: "use_3", Target: "render.pdf", Status: 502, Duration: 0, InputTokens: 1 << 40, OutputTokens: 1 << 41,
				PriceMicroUSD: 1 << 50, UpstreamMicroUSD: 1, PaymentMethod: "x402", CreatedAt: t0.Add(2 * time.Hour)},
			{ID: "use_0", Target: "openai.chat", Status: 200, Duration: time.Second, // same instant as use_1: id breaks the tie
				PaymentMethod: "credits", CreatedAt: t0.Add(500 * time.Microsecond)},
		}
		for _, e := range events {
			if err := s.RecordUsage(ctx, a.ID, e); err != nil {
				t.Fatalf("RecordUsage(%q) = %v", e.ID, err)
			}
		}
		if err := s.RecordUsage(ctx, b.ID, store.UsageEvent{Target: "b.only", Status: 200, CreatedAt: t0}); err != nil {
			t.Fatalf("RecordUsage(b) = %v", err)
		}

		want := func(ids ...string) []store.UsageEvent {
			var out []store.UsageEvent
			for _, id := range ids {
				for _, e := range events {
					if e.ID == id {
						e.UserID = a.ID
						e.CreatedAt = ms(e.CreatedAt)
						out = append(out, e)
					}
				}
			}
			return out
		}
		all := want("use_0", "use_1", "use_2", "use_3")
		tests := []struct {
			since time.Time
			want  []store.UsageEvent
		}{
			{time.Time{}, all},
			{t0.Add(-24 * time.Hour), all},
			{ms(t0), all}, // since is inclusive
			{ms(t0).Add(time.Millisecond), want("use_2", "use_3")},
			{ms(t0.Add(time.Hour)), want("use_2", "use_3")},
			{t0.Add(90 * time.Minute), want("use_3")},
			{t0.Add(3 * time.Hour), nil},
		}
		for _, tc := range tests {
			got, err := s.Usage(ctx, a.ID, tc.since)
			if err != nil || !sameEvents(got, tc.want) {
				t.Errorf("Usage(%q, %v) = %s, %v; want %s", a.ID, tc.since, fmtEvents(got), err, fmtEvents(tc.want))
			}
		}

		// b sees only b's event, never a's.
		got, err := s.Usage(ctx, b.ID, time.Time{})
		if err != nil || len(got) != 1 || got[0].UserID != b.ID || got[0].Target != "b.only" {
			t.Errorf("Usage(%q) = %s, %v; want b's one event", b.ID, fmtEvents(got), err)
		}
		// A new user has no usage.
		c := mustUser(t, s, "c@example.com")
		if got, err := s.Usage(ctx, c.ID, time.Time{}); err != nil || len(got) != 0 {
			t.Errorf("Usage(%q) = %s, %v; want none", c.ID, fmtEvents(got), err)
		}

		// Defaults: an id is assigned and the store's clock stamps the event.
		if err := s.RecordUsage(ctx, c.ID, store.UsageEvent{Target: "t", Status: 200}); err != nil {
			t.Fatalf("RecordUsage(defaults) = %v", err)
		}
		got, err = s.Usage(ctx, c.ID, time.Time{})
		if err != nil || len(got) != 1 || !strings.HasPrefix(got[0].ID, "use_") || len(got[0].ID) <= len("use_") ||
			!got[0].CreatedAt.Equal(now) || got[0].UserID != c.ID {
			t.Errorf("Usage(%q) = %s, %v; want one event with a use_ id at %v", c.ID, fmtEvents(got), err, now)
		}
		// Ids are unique.
		if err := s.RecordUsage(ctx, c.ID, store.UsageEvent{ID: got[0].ID, Target: "t"}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("RecordUsage(duplicate id %q) = %v; want ErrConflict", got[0].ID, err)
		}
	})
}

func TestBYOKKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		users := map[string]*store.User{"a": a, "b": b}

		type keys = map[string]string
		steps := []struct {
			do       string // "set" or "delete"
			user     string
			provider string
			cipher   string
			wantA    keys
			wantB    keys
		}{
			{"", "", "", "", keys{}, keys{}},
			{"set", "a", "openai", "a-openai-1", keys{"openai": "a-openai-1"}, keys{}},
			{"set", "a", "anthropic", "a-anthropic", keys{"openai": "a-openai-1", "anthropic": "a-anthropic"}, keys{}},
			{"set", "a", "openai", "a-openai-2", keys{"openai": "a-openai-2", "anthropic": "a-anthropic"}, keys{}},
			{"set", "b", "openai", "b-openai", keys{"openai": "a-openai-2", "anthropic": "a-anthropic"}, keys{"openai": "b-openai"}},
			{"set", "b", "bytes", "\x00\xff\x80", keys{"openai": "a-openai-2", "anthropic": "a-anthropic"}, keys{"openai": "b-openai", "bytes": "\x00\xff\x80"}},
			// b's deletes never reach a's keys.
			{"delete", "b", "anthropic", "", keys{"openai": "a-openai-2", "anthropic": "a-anthropic"}, keys{"openai": "b-openai", "bytes": "\x00\xff\x80"}},
			{"delete", "b", "openai", "", keys{"openai": "a-openai-2", "anthropic": "a-anthropic"}, keys{"bytes": "\x00\xff\x80"}},
			{"delete", "b", "", "", keys{"openai": "a-openai-2", "anthropic": "a-anthropic"}, keys{}},
			{"delete", "a", "openai", "", keys{"anthropic": "a-anthropic"}, keys{}},
			{"delete", "a", "openai", "", keys{"anthropic": "a-anthropic"}, keys{}}, // deleting nothing is fine
			{"set", "a", "openai", "a-openai-3", keys{"openai": "a-openai-3", "anthropic": "a-anthropic"}, keys{}},
			{"delete", "a", "", "", keys{}, keys{}},
			{"set", "b", "openai", "b-openai-2", keys{}, keys{"openai": "b-openai-2"}},
		}
		for i, st := range steps {
			var err error
			switch st.do {
			case "set":
				err = s.SetBYOKKey(ctx, users[st.user].ID, st.provider, []byte(st.cipher))
			case "delete":
				err = s.DeleteBYOKKey(ctx, users[st.user].ID, st.provider)
			}
			if err != nil {
				t.Fatalf("step %d: %s(%s, %q) = %v", i, st.do, st.user, st.provider, err)
			}
			for name, want := range map[string]keys{"a": st.wantA, "b": st.wantB} {
				u := users[name]
				ci, err := s.CallerInfo(ctx, u.ID)
				if err != nil {
					t.Fatalf("step %d: CallerInfo(%q) = %v", i, u.ID, err)
				}
				got := keys{}
				for p, c := range ci.BYOK {
					got[p] = string(c)
				}
				if !maps.Equal(got, want) || ci.BYOK == nil {
					t.Errorf("step %d (%s %s %q): CallerInfo(%q).BYOK = %q; want %q", i, st.do, st.user, st.provider, u.ID, got, want)
				}
				if ci.User == nil || ci.User.ID != u.ID || ci.User.Email != u.Email || ci.User.Role != u.Role ||
					!ci.User.CreatedAt.Equal(u.CreatedAt) {
					t.Errorf("step %d: CallerInfo(%q).User = %+v; want %+v", i, u.ID, ci.User, u)
				}
			}
		}

		if ci, err := s.CallerInfo(ctx, "usr_nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CallerInfo(%q) = %+v, %v; want ErrNotFound", "usr_nobody", ci, err)
		}
	})
}

func TestUsageAndBYOKNeedAPrincipal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		a := mustUser(t, s, "a@example.com")
		if err := s.SetBYOKKey(ctx, a.ID, "openai", []byte("k")); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordUsage(ctx, a.ID, store.UsageEvent{Target: "t", Status: 200}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			call func() error
		}{
			{"RecordUsage", func() error { return s.RecordUsage(ctx, "", store.UsageEvent{Target: "t", Status: 200}) }},
			{"Usage", func() error { _, err := s.Usage(ctx, "", time.Time{}); return err }},
			{"SetBYOKKey", func() error { return s.SetBYOKKey(ctx, "", "openai", []byte("k")) }},
			{"DeleteBYOKKey", func() error { return s.DeleteBYOKKey(ctx, "", "openai") }},
			{"DeleteBYOKKey(all)", func() error { return s.DeleteBYOKKey(ctx, "", "") }},
			{"CallerInfo", func() error { _, err := s.CallerInfo(ctx, ""); return err }},
		}
		for _, tc := range tests {
			if err := tc.call(); !errors.Is(err, store.ErrNoPrincipal) {
				t.Errorf("%s(%q) = %v; want ErrNoPrincipal", tc.name, "", err)
			}
		}
		// Nothing of a's was touched.
		if ci, err := s.CallerInfo(ctx, a.ID); err != nil || string(ci.BYOK["openai"]) != "k" || len(ci.BYOK) != 1 {
			t.Errorf("CallerInfo(%q) = %+v, %v; want a's one key", a.ID, ci, err)
		}
		if got, err := s.Usage(ctx, a.ID, time.Time{}); err != nil || len(got) != 1 {
			t.Errorf("Usage(%q) = %s, %v; want a's one event", a.ID, fmtEvents(got), err)
		}
	})
}
