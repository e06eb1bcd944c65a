package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/internal/app"
)

// modelScript is a fake model that drives the agent loop: what it answers
// depends on the conversation's first user message (the scenario) and on the
// tool results it has been sent so far. It speaks OpenAI's chat completions
// and Anthropic's Messages protocols, streamed, as the AI provider calls them.
type modelScript struct {
	*httptest.Server
	mu       sync.Mutex
	requests []map[string]any // decoded request bodies
	auth     []string
	// held is set once a request whose conversation says "hold-once" came
	// in: that first one is never answered (it waits until the caller goes
	// away, or 10 s); later ones are.
	held chan struct{}
}

// holding reports whether a request saying "hold-once" has been held.
func (m *modelScript) holding() bool {
	select {
	case <-m.held:
		return true
	default:
		return false
	}
}

func (m *modelScript) lastAuth() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.auth[len(m.auth)-1]
}

// turn is the model's next move: text (final answer) or tool calls.
type turn struct {
	text  string
	calls []scriptCall
}

type scriptCall struct{ name, args string }

// conversation is the protocol-neutral view of a request.
type conversation struct {
	first   string   // the first user message
	last    string   // the last user message (a chat's newest)
	results []string // tool results, in order
	tools   []string // tool names offered
}

// next decides the model's move.
func (c conversation) next() turn {
	n := len(c.results)
	switch {
	case strings.Contains(c.first, "simulate"):
		if n == 0 {
			return turn{calls: []scriptCall{{"instant-split__simulate", `{"streams": 200000, "rate": "0.004"}`}}}
		}
		return turn{text: "The simulation says: " + c.results[0]}
	case strings.Contains(c.first, "invalid"):
		if n == 0 {
			return turn{calls: []scriptCall{{"instant-split__simulate", `{"streams": "lots"}`}}}
		}
		return turn{text: "I was told: " + c.results[0]}
	case strings.Contains(c.first, "remember"):
		if n == 0 {
			return turn{calls: []scriptCall{{"memory_set", `{"key": "favourite", "value": {"venue": "Fabric"}}`}}}
		}
		return turn{text: "Noted."}
	case strings.Contains(c.first, "forever"): // new arguments each time: never a repeat
		return turn{calls: []scriptCall{{"instant-split__simulate", fmt.Sprintf(`{"streams": %d}`, n+1)}}}
	case strings.Contains(c.first, "repeat"):
		return turn{calls: []scriptCall{{"instant-split__list_rules", `{}`}}}
	case strings.HasPrefix(c.first, "paid fetch "): // the rest of the message is the tool's arguments
		if n == 0 {
			return turn{calls: []scriptCall{{"paid_fetch", strings.TrimPrefix(c.first, "paid fetch ")}}}
		}
		return turn{text: "Fetched: " + c.results[0]}
	case strings.Contains(c.first, "heartbeat: all quiet"):
		return turn{text: " HEARTBEAT_OK\n"}
	case strings.HasPrefix(c.last, "long reply"): // longer than any channel takes in one message
		return turn{text: strings.Repeat("All the gigs this month. ", 250) + "The end."}
	case strings.HasPrefix(c.last, "echo: "):
		return turn{text: "You said " + strings.TrimPrefix(c.last, "echo: ")}
	case strings.Contains(c.first, "heartbeat: news"):
		return turn{text: "New booking request from Fabric for 12 March."}
	}
	return turn{text: "Hello from the model"}
}

func newModelScript(t testing.TB) *modelScript {
	m := &modelScript{held: make(chan struct{})}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.Close)
	return m
}

func (m *modelScript) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad json", 400)
		return
	}
	m.mu.Lock()
	m.requests = append(m.requests, body)
	m.auth = append(m.auth, r.Header.Get("Authorization"))
	m.mu.Unlock()
	if b, _ := json.Marshal(body["messages"]); strings.Contains(string(b), "hold-once") {
		m.mu.Lock()
		first := !m.holding()
		if first {
			close(m.held)
		}
		m.mu.Unlock()
		if first {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
	}
	// A model that dawdles answers only after the run's deadline, or when
	// the caller gives up.
	if b, _ := json.Marshal(body["messages"]); strings.Contains(string(b), "dawdle") {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(30 * time.Second):
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	switch r.URL.Path {
	case "/v1/chat/completions":
		m.openAI(w, body)
	case "/v1/messages":
		m.anthropic(w, body)
	default:
		http.NotFound(w, r)
	}
}

func str(v any) string { s, _ := v.(string); return s }

func (m *modelScript) openAI(w http.ResponseWriter, body map[string]any) {
	var c conversation
	for _, x := range body["messages"].([]any) {
		msg := x.(map[string]any)
		switch msg["role"] {
		case "user":
			if c.first == "" {
				c.first = str(msg["content"])
			}
			c.last = str(msg["content"])
		case "tool":
			c.results = append(c.results, str(msg["content"]))
		}
	}
	for _, x := range asList(body["tools"]) {
		c.tools = append(c.tools, str(x.(map[string]any)["function"].(map[string]any)["name"]))
	}
	send := func(v any) {
		b, _ := json.Marshal(v)
		io.WriteString(w, "data: "+string(b)+"\n\n")
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": "chatcmpl-s", "object": "chat.completion.chunk", "model": body["model"],
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	tn := c.next()
	if tn.calls == nil {
		for _, piece := range splitText(tn.text) {
			send(chunk(map[string]any{"content": piece}, nil))
		}
		send(chunk(map[string]any{}, "stop"))
	} else {
		for i, call := range tn.calls {
			id := fmt.Sprintf("call_%d_%d", len(c.results), i)
			send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": id, "type": "function",
				"function": map[string]any{"name": call.name, "arguments": ""}}}}, nil))
			// Arguments in two pieces, as real servers stream them.
			half := len(call.args) / 2
			for _, part := range []string{call.args[:half], call.args[half:]} {
				send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i,
					"function": map[string]any{"arguments": part}}}}, nil))
			}
		}
		send(chunk(map[string]any{}, "tool_calls"))
	}
	send(map[string]any{"id": "chatcmpl-s", "object": "chat.completion.chunk", "choices": []any{},
		"usage": map[string]any{"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49}})
	io.WriteString(w, "data: [DONE]\n\n")
}

func (m *modelScript) anthropic(w http.ResponseWriter, body map[string]any) {
	var c conversation
	for _, x := range body["messages"].([]any) {
		msg := x.(map[string]any)
		if msg["role"] != "user" {
			continue
		}
		switch content := msg["content"].(type) {
		case string:
			if c.first == "" {
				c.first = content
			}
			c.last = content
		case []any:
			for _, b := range content {
				blk := b.(map[string]any)
				switch blk["type"] {
				case "tool_result":
					c.results = append(c.results, str(blk["content"]))
				case "text":
					if c.first == "" {
						c.first = str(blk["text"])
					}
				}
			}
		}
	}
	for _, x := range asList(body["tools"]) {
		c.tools = append(c.tools, str(x.(map[string]any)["name"]))
	}
	event := func(name string, v any) {
		b, _ := json.Marshal(v)
		io.WriteString(w, "event: "+name+"\ndata: "+string(b)+"\n\n")
	}
	event("message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_s", "type": "message",
		"role": "assistant", "model": body["model"], "content": []any{}, "usage": map[string]any{"input_tokens": 30, "output_tokens": 1}}})
	tn := c.next()
	stop := "end_turn"
	if tn.calls == nil {
		event("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
		for _, piece := range splitText(tn.text) {
			event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": piece}})
		}
		event("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	} else {
		stop = "tool_use"
		for i, call := range tn.calls {
			event("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": map[string]any{
				"type": "tool_use", "id": fmt.Sprintf("toolu_%d_%d", len(c.results), i), "name": call.name, "input": map[string]any{}}})
			half := len(call.args) / 2
			for _, part := range []string{call.args[:half], call.args[half:]} {
				event("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
					"delta": map[string]any{"type": "input_json_delta", "partial_json": part}})
			}
			event("content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
		}
	}
	event("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop}, "usage": map[string]any{"output_tokens": 12}})
	event("message_stop", map[string]any{"type": "message_stop"})
}

func asList(v any) []any { l, _ := v.([]any); return l }

func splitText(s string) []string {
	if len(s) < 8 {
		return []string{s}
	}
	return []string{s[:len(s)/2], s[len(s)/2:]}
}

// shipInstantSplit puts the shipped instant-split skill in a directory of
// shipped skills, as `make build` does.
func shipInstantSplit(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "instant-split.wasm"), skillWasm(t, "skills/shipped/instant-split"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := os.ReadFile(filepath.Join(moduleRoot, "skills/shipped/instant-split/manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "instant-split.json"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// agentEnv is the whole app with the AI plugin's OpenAI and Anthropic
// upstreams both pointed at a scripted model, and instant-split shipped.
type agentEnv struct {
	*servertest.Env
	model   *modelScript
	mounted *app.Mounted
}

func startAgents(t testing.TB, vars ...map[string]string) *agentEnv {
	t.Helper()
	ms := newModelScript(t)
	file := aiPluginsFile(t, ms)
	env := map[string]string{"AGENTBOT_PLUGINS": file, "AGENTBOT_SKILL_DIR": shipInstantSplit(t),
		"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/agents=100000-M,/api/chat=100000-M,/api/instance=100000-M"}
	for _, v := range vars {
		maps.Copy(env, v)
	}
	se, m := mountApp(t, env)
	return &agentEnv{Env: se, model: ms, mounted: m}
}

// provision makes an agent with instant-split installed and returns its id.
func (e *agentEnv) provision(t testing.TB, c *servertest.Client, model string, config map[string]any) string {
	t.Helper()
	body := map[string]any{"name": "Splitter", "model": model}
	if config != nil {
		body["config"] = config
	}
	id := c.Do("POST", "/api/agents/provision", body).Expect(t, 201, "").JSON["agent"].(map[string]any)["id"].(string)
	c.Do("POST", "/api/skills", map[string]any{"skillId": "instant-split", "agentId": id}).Expect(t, 201, "")
	return id
}

func (e *agentEnv) user(t testing.TB, email, plan string) (*servertest.Client, string) {
	t.Helper()
	c := e.Client(t)
	uid, csrf := c.SignUp(email, "password-"+email)
	if err := e.Store.SetSubscription(context.Background(), uid, plan, "active"); err != nil {
		t.Fatal(err)
	}
	c.Header.Set("X-CSRF-Token", csrf)
	return c, uid
}

func TestAgentCallsSkillAndAnswersWithItsResult(t *testing.T) {
	e := startAgents(t)
	for _, tc := range []struct{ name, model, plan string }{
		{"openai", "gpt-4o-mini", "solo"},
		{"anthropic", "claude-3-5-sonnet", "collective"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, uid := e.user(t, tc.name+"@example.com", tc.plan)
			id := e.provision(t, c, tc.model, nil)
			r := c.Do("POST", "/api/chat", map[string]any{"agentId": id, "message": "simulate my streaming earnings"}).Expect(t, 200, "")
			reply := r.Str("reply")
			// The skill really ran: its exact computation (200000 × 0.004 =
			// 800 USDC, split 50/25/25) comes back in the final answer.
			if !strings.HasPrefix(reply, "The simulation says: ") || !strings.Contains(reply, `"800`) || !strings.Contains(reply, "400") {
				t.Fatalf("reply = %q; want the model's answer carrying the skill's result", reply)
			}
			outcome := r.JSON["outcome"].(map[string]any)
			if outcome["roundTrips"] != float64(2) || outcome["toolCalls"] != float64(1) || outcome["status"] != "ok" {
				t.Errorf("outcome = %v", outcome)
			}
			// The transcript: user, assistant with the call, the tool result, the answer.
			h := c.Do("GET", "/api/agents/"+id+"/messages", nil).Expect(t, 200, "")
			msgs := h.JSON["messages"].([]any)
			if len(msgs) != 4 {
				t.Fatalf("messages = %s; want 4", h.Body)
			}
			call := msgs[1].(map[string]any)["toolCalls"].([]any)[0].(map[string]any)
			tool := msgs[2].(map[string]any)
			if call["name"] != "instant-split__simulate" || tool["toolCallId"] != call["id"] || tool["isError"] != false {
				t.Errorf("tool pair = %v / %v", call, tool)
			}
			// Usage: two model calls and one skill call, attributed to the agent.
			st := c.Do("GET", "/api/agents/"+id+"/stats", nil).Expect(t, 200, "").JSON["stats"].(map[string]any)
			if st["runs"] != float64(1) || st["runsOk"] != float64(1) || st["toolCalls"] != float64(1) || st["messagesProcessed"] != float64(4) {
				t.Errorf("stats = %v", st)
			}
			usage := agentUsage(t, e, uid)
			var model, skill int
			for _, u := range usage {
				if u.AgentID != id || u.RunID != r.Str("runId") {
					t.Errorf("usage %+v not attributed to the run", u)
				}
				switch u.Target {
				case "generate-text":
					model++
				case "skill:instant-split":
					skill++
				}
			}
			if model != 2 || skill != 1 {
				t.Errorf("usage = %+v; want 2 model calls and 1 skill call", usage)
			}
			if hist := c.Do("GET", "/api/chat?agentId="+id, nil).Expect(t, 200, ""); hist.JSON["total"] != float64(4) {
				t.Errorf("GET /api/chat = %s", hist.Body)
			}
		})
	}
}

// agentUsage writes the queued usage records and reads the user's.
func agentUsage(t *testing.T, e *agentEnv, uid string) []store.UsageEvent {
	t.Helper()
	ctx := context.Background()
	if err := e.mounted.Gateway.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := e.Store.Usage(ctx, uid, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestAgentToolArgumentsAreValidated(t *testing.T) {
	e := startAgents(t)
	c, _ := e.user(t, "v@example.com", "solo")
	id := e.provision(t, c, "gpt-4o-mini", nil)
	r := c.Do("POST", "/api/chat", map[string]any{"agentId": id, "message": "invalid call please"}).Expect(t, 200, "")
	if !strings.Contains(r.Str("reply"), "invalid arguments") || !strings.Contains(r.Str("reply"), "streams") {
		t.Errorf("reply = %q; want the validator's message, naming the field, handed back to the model", r.Str("reply"))
	}
	msgs := c.Do("GET", "/api/agents/"+id+"/messages", nil).Expect(t, 200, "").JSON["messages"].([]any)
	if tool := msgs[2].(map[string]any); tool["isError"] != true {
		t.Errorf("tool result = %v; want isError", tool)
	}
}

func TestAgentMemoryTool(t *testing.T) {
	e := startAgents(t)
	c, _ := e.user(t, "mem@example.com", "solo")
	id := e.provision(t, c, "gpt-4o-mini", nil)
	c.Do("POST", "/api/chat", map[string]any{"agentId": id, "message": "remember my favourite venue"}).Expect(t, 200, "")
	r := c.Do("GET", "/api/memory?agentId="+id, nil).Expect(t, 200, "")
	if fav := r.JSON["memory"].(map[string]any)["favourite"].(map[string]any); fav["venue"] != "Fabric" {
		t.Errorf("memory = %s", r.Body)
	}
}

func TestAgentRunLimitsEndInErrorKeepingTheTranscript(t *testing.T) {
	e := startAgents(t)
	c, _ := e.user(t, "limits@example.com", "network")
	for _, tc := range []struct {
		message, code string
		config        map[string]any
	}{
		{"loop forever", "ROUND_TRIPS_EXCEEDED", map[string]any{"maxRoundTrips": 3}},
		{"repeat yourself", "REPEATED_TOOL_CALL", nil},
		// A model call costs $0.01: the second does not fit in $0.015.
		{"loop forever", "BUDGET_EXCEEDED", map[string]any{"runBudgetMicroUsd": 15000}},
		// The shortest deadline an agent may have: the model is still thinking.
		{"dawdle, please", "DEADLINE_EXCEEDED", map[string]any{"runTimeoutSeconds": 5}},
	} {
		t.Run(tc.code, func(t *testing.T) {
			id := c.Do("POST", "/api/agents/provision", map[string]any{"name": tc.code, "config": tc.config}).Expect(t, 201, "").
				JSON["agent"].(map[string]any)["id"].(string)
			c.Do("POST", "/api/skills", map[string]any{"skillId": "instant-split", "agentId": id}).Expect(t, 201, "")
			r := c.Do("POST", "/api/chat", map[string]any{"agentId": id, "message": tc.message}).Expect(t, 422, tc.code)
			if r.Str("runId") == "" {
				t.Errorf("error = %s; want the run's id", r.Body)
			}
			h := c.Do("GET", "/api/agents/"+id+"/messages", nil).Expect(t, 200, "")
			msgs := h.JSON["messages"].([]any)
			if len(msgs) < 1 || msgs[0].(map[string]any)["content"] != tc.message {
				t.Fatalf("transcript = %s; want it kept, starting with the message", h.Body)
			}
			// Every stored call has its result: no orphan tool call.
			calls, results := 0, 0
			for _, m := range msgs {
				mm := m.(map[string]any)
				calls += len(asList(mm["toolCalls"]))
				if mm["role"] == "tool" {
					results++
				}
			}
			if calls != results {
				t.Errorf("%d calls, %d results in %s", calls, results, h.Body)
			}
			st := c.Do("GET", "/api/agents/"+id+"/stats", nil).Expect(t, 200, "").JSON["stats"].(map[string]any)
			if st["runsFailed"] != float64(1) || st["runsOk"] != float64(0) {
				t.Errorf("stats = %v; want the run counted as failed", st)
			}
		})
	}
}

func TestAgentChatStreamsEventsAndStoppedAgentRefuses(t *testing.T) {
	e := startAgents(t)
	c, _ := e.user(t, "stream@example.com", "solo")
	id := e.provision(t, c, "gpt-4o-mini", nil)
	r := c.Do("POST", "/api/chat", map[string]any{"agentId": id, "message": "simulate it", "stream": true}).Expect(t, 200, "")
	if ct := r.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type = %q", ct)
	}
	var types []string
	for _, line := range strings.Split(string(r.Body), "\n") {
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			types = append(types, name)
		}
	}
	want := []string{"run.started", "tool.call", "tool.result", "run.finished"}
	for _, w := range want {
		found := false
		for _, got := range types {
			found = found || got == w
		}
		if !found {
			t.Errorf("events = %v; missing %s", types, w)
		}
	}
	if types[0] != "run.started" || types[len(types)-1] != "run.finished" {
		t.Errorf("events = %v; want run.started first and run.finished last", types)
	}
	c.Do("POST", "/api/instance/"+id+"/stop", nil).Expect(t, 200, "")
	c.Do("POST", "/api/chat", map[string]any{"agentId": id, "message": "hello"}).Expect(t, 409, "AGENT_NOT_RUNNING")
	c.Do("POST", "/api/chat", map[string]any{"agentId": id, "message": "hello", "stream": true}).Expect(t, 409, "AGENT_NOT_RUNNING")
}

func TestAgentActionMultiplexer(t *testing.T) {
	e := startAgents(t)
	c, _ := e.user(t, "mux@example.com", "solo")
	id := e.provision(t, c, "gpt-4o-mini", nil)
	if r := c.Do("GET", "/api/agent", nil).Expect(t, 200, ""); r.Str("apiVersion") != "1.0.0" {
		t.Errorf("GET /api/agent = %s", r.Body)
	}
	sess := c.Do("POST", "/api/agent", map[string]any{"action": "create-session"}).Expect(t, 200, "").Str("sessionId")
	r := c.Do("POST", "/api/agent", map[string]any{"message": "hi", "sessionId": sess}).Expect(t, 200, "")
	if r.Str("reply") != "Hello from the model" || r.Str("sessionId") != sess || r.Str("agentId") != id {
		t.Errorf("chat = %s", r.Body)
	}
	c.Do("POST", "/api/agent", map[string]any{"message": "hi", "sessionId": "../x"}).Expect(t, 400, "VALIDATION_ERROR")
	r = c.Do("GET", "/api/agent?action=sessions", nil).Expect(t, 200, "")
	sessions := r.JSON["sessions"].([]any)
	if len(sessions) != 1 || sessions[0].(map[string]any)["id"] != sess || sessions[0].(map[string]any)["messageCount"] != float64(2) {
		t.Errorf("sessions = %s", r.Body)
	}
	c.Do("GET", "/api/agent?action=session&sessionId="+sess, nil).Expect(t, 200, "")
	c.Do("GET", "/api/agent?action=session&sessionId=sess_0000000000000000", nil).Expect(t, 404, "NOT_FOUND")
	if r := c.Do("GET", "/api/agent?action=memory", nil).Expect(t, 200, ""); len(r.JSON["memory"].([]any)) != 2 {
		t.Errorf("memory = %s", r.Body)
	}
	if r := c.Do("GET", "/api/agent?action=skills", nil).Expect(t, 200, ""); len(r.JSON["skills"].([]any)) != 1 {
		t.Errorf("skills = %s", r.Body)
	}
	c.Do("POST", "/api/agent", map[string]any{"action": "update-skill", "skillId": "instant-split", "enabled": false}).Expect(t, 200, "")
	if r := c.Do("GET", "/api/agent?action=skills", nil).Expect(t, 200, ""); len(r.JSON["skills"].([]any)) != 0 {
		t.Errorf("skills after disabling = %s", r.Body)
	}
	c.Do("POST", "/api/agent", map[string]any{"action": "set-credential", "key": "openai", "value": "sk-mine-123456"}).Expect(t, 200, "")
	if r := c.Do("GET", "/api/agent?action=credentials", nil).Expect(t, 200, ""); r.JSON["credentials"].(map[string]any)["openai"] != true {
		t.Errorf("credentials = %s", r.Body)
	}
	// The agent's model calls now use the caller's own key.
	c.Do("POST", "/api/agent", map[string]any{"message": "hi again"}).Expect(t, 200, "")
	if got := e.model.lastAuth(); got != "Bearer sk-mine-123456" {
		t.Errorf("upstream saw %q; want the caller's own key", got)
	}
	c.Do("POST", "/api/agent", map[string]any{"action": "set-credential", "key": "nope", "value": "x"}).Expect(t, 400, "INVALID_PROVIDER")
	c.Do("POST", "/api/agent", map[string]any{"action": "dance"}).Expect(t, 400, "INVALID_ACTION")
	c.Do("GET", "/api/agent?action=dance", nil).Expect(t, 400, "INVALID_ACTION")
}

func TestAgentLiveChannel(t *testing.T) {
	e := startAgents(t)
	c, _ := e.user(t, "live@example.com", "solo")
	id := e.provision(t, c, "gpt-4o-mini", nil)
	tok := c.Do("GET", "/api/instance/"+id+"/token", nil).Expect(t, 200, "").Str("token")
	wsURL := "ws" + strings.TrimPrefix(e.URL, "http") + "/api/agents/" + id + "/live"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A wrong token is refused before the upgrade, as JSON.
	_, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + strings.Repeat("0", 64)}}})
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("wrong token: err %v, response %v; want 401 before upgrade", err, resp)
	}
	conn, _, err := websocket.Dial(ctx, wsURL+"?token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	read := func() map[string]any {
		t.Helper()
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	if ev := read(); ev["type"] != "connected" {
		t.Fatalf("first frame = %v", ev)
	}
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"chat","message":"simulate over the socket"}`)); err != nil {
		t.Fatal(err)
	}
	var types []string
	for {
		ev := read()
		types = append(types, ev["type"].(string))
		if ev["agentId"] != id {
			t.Errorf("event %v does not name the agent", ev)
		}
		if ev["type"] == "run.finished" {
			if reply, _ := ev["reply"].(string); ev["status"] != "ok" || !strings.Contains(reply, "800") {
				t.Errorf("run.finished = %v; want ok with the skill's result", ev)
			}
			break
		}
	}
	if !slices.Contains(types, "tool.call") || !slices.Contains(types, "tool.result") || !slices.Contains(types, "message.delta") {
		t.Errorf("events = %v; want deltas, the tool call and its result", types)
	}
	// Runs started elsewhere (HTTP chat) reach the socket too.
	c.Do("POST", "/api/chat", map[string]any{"agentId": id, "message": "hi"}).Expect(t, 200, "")
	for {
		if ev := read(); ev["type"] == "run.finished" {
			break
		}
	}
	// Rotation shuts the old token out.
	c.Do("POST", "/api/instance/"+id+"/token", nil).Expect(t, 200, "")
	if _, resp, err := websocket.Dial(ctx, wsURL+"?token="+tok, nil); err == nil || resp.StatusCode != 401 {
		t.Errorf("rotated-out token: %v %v; want 401", err, resp)
	}
}

// A plan granted outside this node (the operator's `agentbot plan`, another
// node's webhook) pays for the next run at once, even when the gateway had
// just cached the account without it; and a run refused for payment says
// why in words.
func TestAgentRunSeesAPlanGrantedElsewhere(t *testing.T) {
	e := startAgents(t)
	c, uid := e.user(t, "late@example.com", "")
	// A free call caches the account, planless, on this node.
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "skill:instant-split", "action": "list_rules"}).Expect(t, 200, "")
	c.Do("POST", "/api/agents/provision", map[string]any{"name": "x"}).Expect(t, 402, "PAYMENT_REQUIRED")
	if err := e.Store.SetSubscription(context.Background(), uid, "solo", "active"); err != nil {
		t.Fatal(err)
	}
	id := e.provision(t, c, "gpt-4o-mini", nil)
	c.Do("POST", "/api/chat", map[string]any{"agentId": id, "message": "hello"}).Expect(t, 200, "")

	// Taken away again: the run ends in a 402 whose message explains it.
	if err := e.Store.SetSubscription(context.Background(), uid, "", ""); err != nil {
		t.Fatal(err)
	}
	r := c.Do("POST", "/api/chat", map[string]any{"agentId": id, "message": "hello"}).Expect(t, 402, "PAYMENT_REQUIRED")
	if msg := r.Str("error"); !strings.Contains(msg, "Payment required") {
		t.Errorf("error = %q; want the payment step's explanation", msg)
	}
}
