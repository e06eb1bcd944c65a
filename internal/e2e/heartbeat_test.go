package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
)

// Heartbeats through the whole app: the schedule set over HTTP, the
// scheduler on River (SQLite), one quiet agent turn through the AI plugin to
// the scripted model. A reply of HEARTBEAT_OK reaches nobody; any other
// reply reaches the agent's live channel as a heartbeat event.
func TestAgentHeartbeats(t *testing.T) {
	e := startAgents(t, map[string]string{"AGENTBOT_HEARTBEAT_SWEEP": "1s"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	type agent struct {
		c       *servertest.Client
		uid, id string
		conn    *websocket.Conn
	}
	open := func(email, prompt string) *agent {
		c, uid := e.user(t, email, "solo")
		id := e.provision(t, c, "gpt-4o-mini", nil)
		c.Do("POST", "/api/heartbeat", map[string]any{"agentId": id, "frequency": "30m", "prompt": prompt}).Expect(t, 200, "")
		tok := c.Do("GET", "/api/instance/"+id+"/token", nil).Expect(t, 200, "").Str("token")
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.URL, "http")+"/api/agents/"+id+"/live?token="+tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		return &agent{c: c, uid: uid, id: id, conn: conn}
	}
	read := func(a *agent) map[string]any {
		t.Helper()
		_, b, err := a.conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	quiet, news := open("quiet@example.com", "heartbeat: all quiet?"), open("news@example.com", "heartbeat: news?")
	for _, a := range []*agent{quiet, news} {
		if ev := read(a); ev["type"] != "connected" {
			t.Fatalf("first frame = %v", ev)
		}
		// The API offers 30m at least; the test's schedule is one second.
		sec := time.Second
		if _, err := e.Store.SetHeartbeat(ctx, a.uid, a.id, store.HeartbeatSettings{Frequency: &sec}, sec); err != nil {
			t.Fatal(err)
		}
	}

	// The chatty agent's reply arrives on its socket.
	ev := read(news)
	if ev["type"] != "heartbeat" || ev["agentId"] != news.id || ev["reply"] != "New booking request from Fabric for 12 March." ||
		ev["outcome"] != "delivered" {
		t.Fatalf("news agent's next frame = %v; want the heartbeat with its reply", ev)
	}

	// The quiet agent's heartbeats are ok and send nothing: the first frame
	// its socket gets after some have run is a chat run's.
	waitUntil(t, ctx, func() bool {
		r := quiet.c.Do("GET", "/api/heartbeat?agentId="+quiet.id, nil).Expect(t, 200, "")
		return r.JSON["heartbeat"].(map[string]any)["lastOutcome"] == "ok"
	})
	runID := quiet.c.Do("POST", "/api/chat", map[string]any{"agentId": quiet.id, "message": "hi"}).Expect(t, 200, "").Str("runId")
	for {
		ev := read(quiet)
		if ev["type"] == "heartbeat" || ev["runId"] != runID {
			t.Fatalf("quiet agent's socket got %v before its chat run's events; want nothing from heartbeats", ev)
		}
		if ev["type"] == "run.finished" {
			break
		}
	}

	// The log and the runs show what happened, each heartbeat a bounded run.
	r := news.c.Do("GET", "/api/heartbeat?agentId="+news.id, nil).Expect(t, 200, "")
	runs, _ := r.JSON["runs"].([]any)
	if len(runs) == 0 {
		t.Fatalf("GET heartbeat = %s; want its runs", r.Body)
	}
	delivered := 0
	for _, x := range runs {
		if run := x.(map[string]any); run["outcome"] == "delivered" && run["runId"] != nil {
			delivered++
		}
	}
	if delivered == 0 {
		t.Errorf("logged runs = %v; want delivered ones with their run id", runs)
	}
	agentRuns, err := e.Store.Runs(ctx, quiet.uid, quiet.id, 50)
	if err != nil {
		t.Fatal(err)
	}
	beats := 0
	for _, run := range agentRuns {
		if run.Trigger == "heartbeat" {
			beats++
			if run.Topic != "heartbeat" || run.Status != store.RunOK || run.RoundTrips != 1 {
				t.Errorf("heartbeat run = %+v; want one ok round trip in topic heartbeat", run)
			}
		}
	}
	if beats == 0 {
		t.Error("the quiet agent has no heartbeat runs")
	}
}

// waitUntil polls cond until it holds or ctx ends.
func waitUntil(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("timed out")
		case <-time.After(50 * time.Millisecond):
		}
	}
}
