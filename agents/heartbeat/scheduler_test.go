package heartbeat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentbot/gateway/agents"
	"github.com/agentbot/gateway/agents/heartbeat"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestTriggerIsTheAgentsOne(t *testing.T) {
	if heartbeat.Trigger != agents.TriggerHeartbeat {
		t.Errorf("heartbeat.Trigger = %q; want agents.TriggerHeartbeat %q", heartbeat.Trigger, agents.TriggerHeartbeat)
	}
}

// recorder is a fake agent: it answers each turn by agent id, and records
// the turns it ran and the events delivered.
type recorder struct {
	mu        sync.Mutex
	replies   map[string]string // agent id → reply ("" → HEARTBEAT_OK)
	turns     map[string]int    // "agent@slot" → turns run
	byAgent   map[string][]heartbeat.Turn
	byNode    map[string]int
	delivered map[string][]map[string]any
}

func newRecorder() *recorder {
	return &recorder{replies: map[string]string{}, turns: map[string]int{}, byAgent: map[string][]heartbeat.Turn{},
		byNode: map[string]int{}, delivered: map[string][]map[string]any{}}
}

func (r *recorder) runner(node string) heartbeat.Runner {
	return func(_ context.Context, t heartbeat.Turn) (*heartbeat.Reply, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.turns[fmt.Sprintf("%s@%d", t.AgentID, t.Slot.Unix())]++
		r.byAgent[t.AgentID] = append(r.byAgent[t.AgentID], t)
		r.byNode[node]++
		text, ok := r.replies[t.AgentID]
		if !ok || text == "" {
			text = " " + heartbeat.OKReply + "\n"
		}
		return &heartbeat.Reply{RunID: fmt.Sprintf("run_%d", len(r.byAgent[t.AgentID])), Text: text}, nil
	}
}

func (r *recorder) deliver(_ context.Context, agentID string, ev []byte) {
	var m map[string]any
	_ = json.Unmarshal(ev, &m)
	r.mu.Lock()
	r.delivered[agentID] = append(r.delivered[agentID], m)
	r.mu.Unlock()
}

func (r *recorder) count(agentID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byAgent[agentID])
}

// fixture is an owner with agents on one store.
type fixture struct {
	st   *store.Store
	user string
}

func newFixture(t *testing.T, st *store.Store, email string) *fixture {
	t.Helper()
	u, err := st.CreateUser(context.Background(), store.NewUser{Email: email, Name: email, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, user: u.ID}
}

// agent creates an agent in status (running or stopped) with a heartbeat
// every freq.
func (f *fixture) agent(t *testing.T, name, status string, freq time.Duration) string {
	t.Helper()
	ctx := context.Background()
	a, err := f.st.CreateAgent(ctx, f.user, store.NewAgent{Name: name, Model: "gpt-4o-mini"}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.TransitionAgent(ctx, f.user, a.ID, func(*store.Agent) (store.Transition, error) {
		return store.Transition{Status: status}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.SetHeartbeat(ctx, f.user, a.ID, store.HeartbeatSettings{Frequency: &freq}, freq); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// start runs a scheduler on st with a short test schedule; it stops when the
// test ends (before the store closes).
func start(t *testing.T, st *store.Store, id string, rec *recorder, tweak ...func(*heartbeat.Config)) *heartbeat.Scheduler {
	t.Helper()
	cfg := heartbeat.Config{Store: st, Run: rec.runner(id), Deliver: rec.deliver, Sweep: 100 * time.Millisecond,
		PollInterval: 50 * time.Millisecond, ID: id, Log: quiet}
	for _, f := range tweak {
		f(&cfg)
	}
	s, err := heartbeat.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, s) })
	return s
}

func stop(t *testing.T, s *heartbeat.Scheduler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Errorf("Stop = %v", err)
	}
}

// waitFor polls cond for up to 30 s (a wide margin: River polls, and -race is slow).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func eachBackend(t *testing.T, fn func(t *testing.T, cfg store.Config)) {
	for name, mk := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, mk(t))
		})
	}
}

// A heartbeat runs on River on either store: HEARTBEAT_OK is recorded as ok
// and delivered nowhere, any other reply is delivered, and a stopped agent
// is skipped without a turn.
func TestHeartbeatsRunOnRiver(t *testing.T) {
	eachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.Open(t, cfg)
		f := newFixture(t, st, "owner@example.com")
		quietAgent := f.agent(t, "quiet", store.AgentRunning, time.Second)
		chatty := f.agent(t, "chatty", store.AgentRunning, time.Second)
		stopped := f.agent(t, "stopped", store.AgentStopped, time.Second)
		rec := newRecorder()
		rec.replies[chatty] = "Your invoice INV-7 is due tomorrow."
		start(t, st, "node-1", rec)

		finished := func(agentID string, outcome string) func() bool {
			return func() bool {
				runs, err := st.HeartbeatRuns(ctx, f.user, agentID, 50)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, r := range runs {
					if r.Outcome == outcome {
						n++
					}
				}
				return n >= 2
			}
		}
		waitFor(t, "two ok heartbeats of the quiet agent", finished(quietAgent, store.HeartbeatOK))
		waitFor(t, "two delivered heartbeats of the chatty agent", finished(chatty, store.HeartbeatDelivered))
		waitFor(t, "two skipped heartbeats of the stopped agent", finished(stopped, store.HeartbeatSkipped))

		rec.mu.Lock()
		defer rec.mu.Unlock()
		if n := len(rec.delivered[quietAgent]); n != 0 {
			t.Errorf("HEARTBEAT_OK replies delivered %d events (%v); want none", n, rec.delivered[quietAgent])
		}
		if len(rec.delivered[chatty]) < 2 {
			t.Fatalf("chatty agent's events = %v; want one per delivered heartbeat", rec.delivered[chatty])
		}
		ev := rec.delivered[chatty][0]
		if ev["type"] != "heartbeat" || ev["reply"] != "Your invoice INV-7 is due tomorrow." || ev["outcome"] != "delivered" ||
			ev["runId"] == "" {
			t.Errorf("delivered event = %v; want type heartbeat with the reply and its run id", ev)
		}
		if len(rec.byAgent[stopped]) != 0 {
			t.Errorf("the stopped agent got %d turns; want none", len(rec.byAgent[stopped]))
		}
		if turn := rec.byAgent[quietAgent][0]; turn.Prompt != heartbeat.DefaultPrompt || turn.UserID != f.user {
			t.Errorf("turn = %+v; want the default prompt, as the owner", turn)
		}
		h, err := st.Heartbeat(ctx, f.user, chatty)
		if err != nil || h.LastRunAt == nil || (h.LastOutcome != store.HeartbeatDelivered) {
			t.Errorf("chatty schedule = %+v, %v; want last outcome delivered", h, err)
		}
	})
}

// After downtime the slots that passed are not run one by one: one run
// stands for them, and they are logged as missed.
func TestMissedSlotsAreCoalescedIntoOneRun(t *testing.T) {
	eachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.Open(t, cfg)
		f := newFixture(t, st, "owner@example.com")
		id := f.agent(t, "pulse", store.AgentRunning, time.Minute)
		h, err := st.Heartbeat(ctx, f.user, id)
		if err != nil {
			t.Fatal(err)
		}
		first := h.NextRunAt
		// The scheduler wakes 4½ periods after the first slot was due.
		wake := first.Add(4*time.Minute + 30*time.Second)
		rec := newRecorder()
		start(t, st, "node-1", rec, func(c *heartbeat.Config) { c.Now = func() time.Time { return wake } })
		waitFor(t, "the coalesced run", func() bool { return rec.count(id) >= 1 })
		waitFor(t, "its outcome", func() bool {
			h, err := st.Heartbeat(ctx, f.user, id)
			return err == nil && h.LastOutcome == store.HeartbeatOK
		})
		rec.mu.Lock()
		turns := append([]heartbeat.Turn(nil), rec.byAgent[id]...)
		rec.mu.Unlock()
		if len(turns) != 1 || !turns[0].Slot.Equal(first.Add(4*time.Minute)) || turns[0].Missed != 4 {
			t.Fatalf("turns = %+v; want one, for the slot at first+4m, standing for 4 missed", turns)
		}
		runs, err := st.HeartbeatRuns(ctx, f.user, id, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 2 || runs[0].Outcome != store.HeartbeatOK || !runs[0].SlotAt.Equal(first.Add(4*time.Minute)) ||
			runs[1].Outcome != store.HeartbeatMissed || runs[1].Missed != 4 || !runs[1].SlotAt.Equal(first) {
			t.Errorf("log = %+v; want the run at first+4m and 4 missed from first", runs)
		}
		h, _ = st.Heartbeat(ctx, f.user, id)
		if !h.NextRunAt.Equal(first.Add(5*time.Minute)) || h.MissedTotal != 4 {
			t.Errorf("schedule = %+v; want next at first+5m, 4 missed in all", h)
		}
	})
}

// The required test: two gateway nodes (a store pool and a River client
// each) on one PostgreSQL database, a one-second schedule for several
// agents, sweeps racing on both nodes besides the leader's periodic one —
// and every due slot runs exactly once.
func TestTwoNodesRunEachHeartbeatOnce(t *testing.T) {
	pg := storetest.Postgres(t)
	ctx := context.Background()
	stA, stB := storetest.Open(t, pg.Config()), storetest.Open(t, pg.Config())
	owners := []*fixture{newFixture(t, stA, "a@example.com"), newFixture(t, stA, "b@example.com")}
	type agentRef struct{ user, id string }
	var all []agentRef
	for i := range 8 {
		f := owners[i%2]
		all = append(all, agentRef{f.user, f.agent(t, fmt.Sprintf("agent-%d", i), store.AgentRunning, time.Second)})
	}
	firstSlot := map[string]time.Time{}
	for _, a := range all {
		h, err := stA.Heartbeat(ctx, a.user, a.id)
		if err != nil {
			t.Fatal(err)
		}
		firstSlot[a.id] = h.NextRunAt
	}
	rec := newRecorder()
	nodeA := start(t, stA, "node-a", rec)
	nodeB := start(t, stB, "node-b", rec)

	// Extra sweeps on both nodes at once, as if each thought it led.
	raceCtx, stopRacing := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, n := range []*heartbeat.Scheduler{nodeA, nodeB, nodeA, nodeB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for raceCtx.Err() == nil {
				if _, err := n.Sweep(raceCtx); err != nil && raceCtx.Err() == nil {
					t.Errorf("Sweep = %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	waitFor(t, "three heartbeats of every agent", func() bool {
		for _, a := range all {
			if rec.count(a.id) < 3 {
				return false
			}
		}
		return true
	})
	stopRacing()
	wg.Wait()
	stop(t, nodeA)
	stop(t, nodeB)

	// Jobs enqueued but not worked when the nodes stopped are the only
	// slots allowed to have no run.
	pending := map[string]bool{}
	conn, err := pgx.Connect(ctx, pg.Owner)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT args->>'agent_id', (args->>'slot')::bigint FROM river_job
		WHERE kind = 'agentbot.heartbeat' AND state NOT IN ('completed', 'running')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var slot int64
		if err := rows.Scan(&id, &slot); err != nil {
			t.Fatal(err)
		}
		pending[fmt.Sprintf("%s@%d", id, slot)] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for key, n := range rec.turns {
		if n != 1 {
			t.Errorf("slot %s ran %d times; want exactly once", key, n)
		}
	}
	for _, a := range all {
		h, err := stB.Heartbeat(ctx, a.user, a.id)
		if err != nil {
			t.Fatal(err)
		}
		runs, err := stB.HeartbeatRuns(ctx, a.user, a.id, 1000)
		if err != nil {
			t.Fatal(err)
		}
		missed := map[int64]bool{}
		logged := map[int64]string{}
		for _, r := range runs {
			logged[r.SlotAt.Unix()] = r.Outcome
			for i := range r.Missed {
				missed[r.SlotAt.Unix()+i] = true
			}
		}
		// Every slot from the first to the last one enqueued is accounted
		// for: run once (and logged ok), coalesced as missed, or pending.
		for slot := firstSlot[a.id]; slot.Before(h.NextRunAt); slot = slot.Add(time.Second) {
			key := fmt.Sprintf("%s@%d", a.id, slot.Unix())
			switch {
			case rec.turns[key] == 1:
				if logged[slot.Unix()] != store.HeartbeatOK {
					t.Errorf("slot %s ran but is logged %q; want ok", key, logged[slot.Unix()])
				}
			case missed[slot.Unix()], pending[key]:
			default:
				t.Errorf("slot %s was due but neither ran, nor was missed, nor is pending", key)
			}
		}
	}
	t.Logf("turns per node: %v (%d slots in all)", rec.byNode, len(rec.turns))
}
