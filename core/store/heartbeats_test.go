package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentbot/gateway/core/store"
)

// clock is a store clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func (c *clock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func openAt(t *testing.T, cfg store.Config, c *clock) *store.Store {
	t.Helper()
	cfg.Now = c.now
	s, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ptr[T any](v T) *T { return &v }

func TestHeartbeatScheduleIsTheOwnersAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 400e6, time.UTC)}
		s := openAt(t, cfg, c)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		ag := mustAgent(t, s, a.ID, "pulse")

		h, err := s.SetHeartbeat(ctx, a.ID, ag.ID, store.HeartbeatSettings{}, 3*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		wantNext := time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)
		if h.Frequency != 3*time.Hour || !h.Enabled || !h.NextRunAt.Equal(wantNext) || h.LastRunAt != nil || h.LastOutcome != "" {
			t.Errorf("new heartbeat = %+v; want 3h, enabled, next %v, never run", h, wantNext)
		}

		// Another user can neither read, change, list nor delete it.
		if _, err := s.SetHeartbeat(ctx, b.ID, ag.ID, store.HeartbeatSettings{}, time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b setting a's heartbeat = %v; want ErrNotFound", err)
		}
		if _, err := s.Heartbeat(ctx, b.ID, ag.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b reading a's heartbeat = %v; want ErrNotFound", err)
		}
		if list, err := s.Heartbeats(ctx, b.ID); err != nil || len(list) != 0 {
			t.Errorf("b's Heartbeats = %+v, %v; want none", list, err)
		}
		if err := s.DeleteHeartbeat(ctx, b.ID, ag.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b deleting a's heartbeat = %v; want ErrNotFound", err)
		}
		if c, err := s.ClaimHeartbeat(ctx, b.ID, ag.ID, wantNext); err != nil || c.Claimed {
			t.Errorf("b claiming a's heartbeat = %+v, %v; want nothing claimed", c, err)
		}

		// A new prompt keeps the slot; a new frequency starts over from now.
		c.add(10 * time.Minute)
		if h, err = s.SetHeartbeat(ctx, a.ID, ag.ID, store.HeartbeatSettings{Prompt: ptr("check the inbox")}, time.Hour); err != nil ||
			!h.NextRunAt.Equal(wantNext) || h.Prompt != "check the inbox" || h.Frequency != 3*time.Hour {
			t.Errorf("prompt change = %+v, %v; want next still %v", h, err, wantNext)
		}
		if h, err = s.SetHeartbeat(ctx, a.ID, ag.ID, store.HeartbeatSettings{Frequency: ptr(30 * time.Minute)}, time.Hour); err != nil ||
			!h.NextRunAt.Equal(time.Date(2026, 3, 1, 12, 40, 0, 0, time.UTC)) || h.Prompt != "check the inbox" {
			t.Errorf("frequency change = %+v, %v; want next 12:40, prompt kept", h, err)
		}
		if h, err = s.SetHeartbeat(ctx, a.ID, ag.ID, store.HeartbeatSettings{Enabled: ptr(false)}, time.Hour); err != nil || h.Enabled {
			t.Errorf("disable = %+v, %v", h, err)
		}
		if list, err := s.Heartbeats(ctx, a.ID); err != nil || len(list) != 1 || list[0].AgentID != ag.ID {
			t.Errorf("a's Heartbeats = %+v, %v; want the one", list, err)
		}
		if _, err := s.SetHeartbeat(ctx, a.ID, ag.ID, store.HeartbeatSettings{Frequency: ptr(1500 * time.Millisecond)}, time.Hour); err == nil {
			t.Error("a frequency of 1.5s was stored; want whole seconds only")
		}
		if err := s.DeleteHeartbeat(ctx, a.ID, ag.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Heartbeat(ctx, a.ID, ag.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted heartbeat = %v; want ErrNotFound", err)
		}
		if err := s.DeleteHeartbeat(ctx, a.ID, ag.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete = %v; want ErrNotFound", err)
		}
	})
}

// enqueueNothing accepts the sweep's transaction, checking its type.
func enqueueNothing(t *testing.T, backend string) func(context.Context, any, []store.DueHeartbeat) error {
	return func(_ context.Context, tx any, _ []store.DueHeartbeat) error {
		switch tx.(type) {
		case pgx.Tx:
			if backend != "postgres" {
				t.Errorf("sweep on %s handed a pgx.Tx", backend)
			}
		case *sql.Tx:
			if backend != "sqlite" {
				t.Errorf("sweep on %s handed a *sql.Tx", backend)
			}
		default:
			t.Errorf("sweep handed %T", tx)
		}
		return nil
	}
}

func TestSweepHeartbeatsAdvancesAndCoalescesMissedSlots(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		c := &clock{t: t0}
		s := openAt(t, cfg, c)
		u := mustUser(t, s, "a@example.com")
		ag, off := mustAgent(t, s, u.ID, "pulse"), mustAgent(t, s, u.ID, "off")
		if _, err := s.SetHeartbeat(ctx, u.ID, ag.ID, store.HeartbeatSettings{}, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetHeartbeat(ctx, u.ID, off.ID, store.HeartbeatSettings{Enabled: ptr(false)}, time.Minute); err != nil {
			t.Fatal(err)
		}
		ok := enqueueNothing(t, s.Backend())
		sweep := func(at time.Duration) []store.DueHeartbeat {
			t.Helper()
			due, err := s.SweepHeartbeats(ctx, t0.Add(at), 100, ok)
			if err != nil {
				t.Fatalf("sweep at +%v: %v", at, err)
			}
			return due
		}
		if due := sweep(30 * time.Second); len(due) != 0 {
			t.Errorf("sweep before the slot = %+v; want none", due)
		}
		due := sweep(61 * time.Second)
		if len(due) != 1 || due[0].AgentID != ag.ID || due[0].UserID != u.ID || !due[0].Slot.Equal(t0.Add(time.Minute)) || due[0].Missed != 0 {
			t.Fatalf("sweep at the slot = %+v; want %s's slot +1m, nothing missed", due, ag.ID)
		}
		if due := sweep(61 * time.Second); len(due) != 0 {
			t.Errorf("second sweep of the same slot = %+v; want none", due)
		}
		// A failed enqueue claims nothing: the slot stays due.
		boom := errors.New("queue down")
		if _, err := s.SweepHeartbeats(ctx, t0.Add(130*time.Second), 100, func(context.Context, any, []store.DueHeartbeat) error {
			return boom
		}); !errors.Is(err, boom) {
			t.Errorf("sweep with a failing enqueue = %v; want %v", err, boom)
		}
		if h, _ := s.Heartbeat(ctx, u.ID, ag.ID); !h.NextRunAt.Equal(t0.Add(2 * time.Minute)) {
			t.Errorf("after a failed enqueue next = %v; want +2m still", h.NextRunAt)
		}
		// Down from +2m to +6m10s: slots +2m..+5m pass; one run for +6m.
		due = sweep(6*time.Minute + 10*time.Second)
		if len(due) != 1 || !due[0].Slot.Equal(t0.Add(6*time.Minute)) || due[0].Missed != 4 {
			t.Fatalf("sweep after downtime = %+v; want one run for +6m with 4 missed", due)
		}
		h, err := s.Heartbeat(ctx, u.ID, ag.ID)
		if err != nil || !h.NextRunAt.Equal(t0.Add(7*time.Minute)) || h.MissedTotal != 4 || h.LastOutcome != store.HeartbeatMissed {
			t.Errorf("after downtime = %+v, %v; want next +7m, 4 missed, last outcome missed", h, err)
		}
		runs, err := s.HeartbeatRuns(ctx, u.ID, ag.ID, 10)
		if err != nil || len(runs) != 1 || runs[0].Outcome != store.HeartbeatMissed || runs[0].Missed != 4 ||
			!runs[0].SlotAt.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("runs after downtime = %+v, %v; want one missed row (4, from +2m)", runs, err)
		}
	})
}

func TestClaimHeartbeatOncePerSlot(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		c := &clock{t: t0}
		s := openAt(t, cfg, c)
		u := mustUser(t, s, "a@example.com")
		ag := mustAgent(t, s, u.ID, "pulse")
		if _, err := s.SetHeartbeat(ctx, u.ID, ag.ID, store.HeartbeatSettings{Prompt: ptr("ping")}, time.Minute); err != nil {
			t.Fatal(err)
		}
		slot := t0.Add(time.Minute)
		first, err := s.ClaimHeartbeat(ctx, u.ID, ag.ID, slot)
		if err != nil || !first.Claimed || first.Prompt != "ping" {
			t.Fatalf("first claim = %+v, %v; want claimed with the prompt", first, err)
		}
		if again, err := s.ClaimHeartbeat(ctx, u.ID, ag.ID, slot); err != nil || again.Claimed {
			t.Errorf("second claim of the slot = %+v, %v; want not claimed", again, err)
		}
		c.add(time.Minute)
		if err := s.FinishHeartbeat(ctx, u.ID, ag.ID, slot, store.HeartbeatDelivered, "", "run_1"); err != nil {
			t.Fatal(err)
		}
		h, _ := s.Heartbeat(ctx, u.ID, ag.ID)
		if h.LastOutcome != store.HeartbeatDelivered || h.LastRunAt == nil || !h.LastRunAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("after finish = %+v; want delivered at +1m", h)
		}
		runs, _ := s.HeartbeatRuns(ctx, u.ID, ag.ID, 10)
		if len(runs) != 1 || runs[0].Outcome != store.HeartbeatDelivered || runs[0].RunID != "run_1" || runs[0].FinishedAt == nil {
			t.Errorf("runs = %+v; want the delivered one", runs)
		}
		if err := s.FinishHeartbeat(ctx, u.ID, ag.ID, slot.Add(time.Hour), store.HeartbeatOK, "", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("finishing an unclaimed slot = %v; want ErrNotFound", err)
		}
		// Disabled or deleted: nothing to claim.
		if _, err := s.SetHeartbeat(ctx, u.ID, ag.ID, store.HeartbeatSettings{Enabled: ptr(false)}, time.Minute); err != nil {
			t.Fatal(err)
		}
		if c, err := s.ClaimHeartbeat(ctx, u.ID, ag.ID, slot.Add(time.Minute)); err != nil || c.Claimed {
			t.Errorf("claim of a disabled schedule = %+v, %v; want not claimed", c, err)
		}
		if err := s.DeleteHeartbeat(ctx, u.ID, ag.ID); err != nil {
			t.Fatal(err)
		}
		if c, err := s.ClaimHeartbeat(ctx, u.ID, ag.ID, slot.Add(2*time.Minute)); err != nil || c.Claimed {
			t.Errorf("claim of a deleted schedule = %+v, %v; want not claimed", c, err)
		}
	})
}

// Concurrent sweeps (several nodes) hand out every due slot exactly once.
func TestConcurrentSweepsClaimEachSlotOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		c := &clock{t: t0}
		s := openAt(t, cfg, c)
		const n = 24
		want := map[string]bool{}
		for i := range n {
			u := mustUser(t, s, fmt.Sprintf("u%d@example.com", i))
			ag := mustAgent(t, s, u.ID, "pulse")
			if _, err := s.SetHeartbeat(ctx, u.ID, ag.ID, store.HeartbeatSettings{}, time.Minute); err != nil {
				t.Fatal(err)
			}
			want[ag.ID] = true
		}
		var (
			mu  sync.Mutex
			got []string
			wg  sync.WaitGroup
		)
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					due, err := s.SweepHeartbeats(ctx, t0.Add(90*time.Second), 5, func(context.Context, any, []store.DueHeartbeat) error {
						time.Sleep(5 * time.Millisecond) // hold the claim while others sweep
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, d := range due {
						got = append(got, d.AgentID)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		// Whatever the first round left (limit 5 per sweep) goes now.
		rest, err := s.SweepHeartbeats(ctx, t0.Add(90*time.Second), 100, func(context.Context, any, []store.DueHeartbeat) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rest {
			got = append(got, d.AgentID)
		}
		sort.Strings(got)
		if len(got) != n {
			t.Fatalf("slots handed out = %d (%v); want %d, each once", len(got), got, n)
		}
		for i, id := range got {
			if !want[id] || (i > 0 && got[i-1] == id) {
				t.Errorf("slot of %s handed out twice or unknown", id)
			}
		}
	})
}
