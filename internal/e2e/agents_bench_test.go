package e2e

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/agentbot/gateway/agents"
	"github.com/agentbot/gateway/agents/loop"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/skills"
)

// instantModel calls instant-split's simulate once, then answers: the
// model's side of a two-round-trip run at no cost in time.
type instantModel struct{ args string }

func (instantModel) Price() int64 { return 0 }

func (m instantModel) Complete(_ context.Context, req loop.ModelRequest, _ func(string)) (*loop.ModelResponse, error) {
	if req.Messages[len(req.Messages)-1].Role == loop.RoleTool {
		return &loop.ModelResponse{Content: "done"}, nil
	}
	return &loop.ModelResponse{ToolCalls: []loop.ToolCall{{ID: "c1", Name: "instant-split__simulate", Arguments: m.args}}}, nil
}

// BenchmarkAgentLoop measures the agent loop's own cost per round trip,
// excluding the model, beside a bare skill call, in one app on SQLite:
//
//	baseline   instant-split's simulate called on the user's behalf through
//	           the gateway's payment step (what one tool call costs)
//	run        a whole agent run (POST /api/chat's work without HTTP): the
//	           model (instant, in process) calls simulate, then answers. Two
//	           round trips: the run and its messages stored, tools and
//	           schemas loaded, arguments validated, the same skill call,
//	           events published, usage attributed.
//
// run reports overhead-µs/roundtrip, (run − baseline) / 2, and that as a
// multiple of the bare skill call (overhead-x-skill).
func BenchmarkAgentLoop(b *testing.B) {
	e := startAgents(b)
	c, uid := e.user(b, "bench@example.com", "network")
	id := e.provision(b, c, "gpt-4o-mini", nil)
	u, err := e.Store.User(context.Background(), uid)
	if err != nil {
		b.Fatal(err)
	}
	svc := e.mounted.Agents
	p := svc.Auth.Owner(u)
	args := `{"streams": 200000, "rate": "0.004"}`
	ctx := context.Background()

	var baseline float64
	b.Run("baseline", func(b *testing.B) {
		runtime := svc.Skills
		var in map[string]any
		json.Unmarshal([]byte(args), &in)
		in["action"], in["agentId"] = "simulate", id
		input, _ := json.Marshal(in)
		version := installedVersion(b, e.Store, uid, id)
		who := gateway.OnBehalf{Principal: p, AgentID: id}
		b.ReportAllocs()
		for b.Loop() {
			res, err := svc.Gateway.InvokeAs(ctx, who, skills.IDPrefix+"instant-split", input,
				func(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
					return runtime.InvokeVersion(ctx, req, version)
				})
			if err != nil || res.Failed != nil {
				b.Fatalf("skill call: %v %+v", err, res)
			}
		}
		baseline = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("run", func(b *testing.B) {
		svc.Model = func(*store.Agent) loop.Model { return instantModel{args} }
		defer func() { svc.Model = nil }()
		b.ReportAllocs()
		for b.Loop() {
			res, err := svc.Run(ctx, agents.RunRequest{Principal: p, AgentID: id, Trigger: agents.TriggerChat, Message: "simulate"})
			if err != nil || res.Outcome.Status != loop.StatusOK || res.Outcome.ToolCalls != 1 {
				b.Fatalf("run: %v %+v", err, res)
			}
		}
		run := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		if baseline > 0 {
			over := (run - baseline) / 2
			b.ReportMetric(over/1000, "overhead-µs/roundtrip")
			b.ReportMetric(over/baseline, "overhead-x-skill")
		}
	})
}

// installedVersion is the version of instant-split pinned on the agent.
func installedVersion(b *testing.B, st *store.Store, userID, agentID string) string {
	b.Helper()
	installs, err := st.AgentSkills(context.Background(), userID, agentID)
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range installs {
		if in.Skill == "instant-split" {
			return in.Version
		}
	}
	b.Fatalf("instant-split is not installed: %+v", installs)
	return ""
}
