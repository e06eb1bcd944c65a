package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// publishHello publishes examples/skill-hello's committed module under
// manifest (the example's when empty).
func publishHello(t *testing.T, tm *session, manifest string, args ...string) result {
	t.Helper()
	m := filepath.Join(repoRoot, "examples/skill-hello/manifest.json")
	if manifest != "" {
		m = filepath.Join(t.TempDir(), "manifest.json")
		writeFile(t, m, manifest, 0o644)
	}
	return tm.run(append([]string{"skills", "publish", filepath.Join(repoRoot, "examples/skill-hello/hello.wasm"), "--manifest", m}, args...)...)
}

// gateway call sends --input (inline, @file or stdin) and prints the result;
// refusals have their exit codes.
func TestGatewayCall(t *testing.T) {
	se := gatewayServer(t, nil)
	tm := newTerm(t, map[string]string{"AGENTBOT_URL": se.URL, "AGENTBOT_KEY": account(t, se, "ada@example.com")})
	if r := publishHello(t, tm, ""); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}

	r := tm.ok("gateway", "call", "skill:hello", "--input", `{"action":"hello","name":"Ada"}`)
	if r.stdout != "{\n  \"greeting\": \"Hello, Ada!\"\n}\n" {
		t.Errorf("call printed %q", r.stdout)
	}
	res := jsonOf[struct {
		Plugin  string
		Result  struct{ Greeting string }
		Payment struct{ Method string }
	}](t, tm.ok("gateway", "call", "skill:hello", "--input", `{"action":"hello","name":"Bo"}`, "--json"))
	if res.Plugin != "skill:hello" || res.Result.Greeting != "Hello, Bo!" || res.Payment.Method == "" {
		t.Errorf("--json = %+v", res)
	}
	file := filepath.Join(t.TempDir(), "in.json")
	writeFile(t, file, `{"action":"count"}`, 0o644)
	tm.ok("gateway", "call", "skill:hello", "--input", "@"+file)
	tm.stdin = `{"action":"count"}`
	if r := tm.ok("gateway", "call", "skill:hello", "--input", "-"); !strings.Contains(r.stdout, `"count": 2`) {
		t.Errorf("stdin input: %q", r.stdout)
	}
	// A skill does not stream: --stream prints its one answer.
	if r := tm.ok("gateway", "call", "skill:hello", "--stream", "--input", `{"action":"hello","name":"Cy"}`); !strings.Contains(r.stdout, "Hello, Cy!") {
		t.Errorf("--stream to a skill: %q", r.stdout)
	}

	tm.expect(exitUsage, "gateway", "call", "skill:hello", "--input", `[1]`)
	tm.expect(exitUsage, "gateway", "call", "skill:hello", "--input", "@/does/not/exist")
	tm.expect(exitUsage, "gateway", "call")
	tm.expect(exitNotFound, "gateway", "call", "nope")
	tm.expect(exitRefused, "gateway", "call", "skill:hello", "--input", `{"action":"bye"}`)
	tm.expect(exitRefused, "gateway", "call", "Bad Id!")

	// A priced skill, and an account with neither a plan nor credits.
	man := `{"name":"hello-paid","version":"1.0.0","description":"d","category":"examples","price":"0.50","actions":["hello"]}`
	if r := publishHello(t, tm, man); r.code != 0 {
		t.Fatalf("publish: %+v", r)
	}
	r = tm.expect(exitPayment, "gateway", "call", "skill:hello-paid", "--input", `{"action":"hello","name":"Ada"}`)
	if !strings.Contains(r.stderr, "PAYMENT_REQUIRED") {
		t.Errorf("402: %q", r.stderr)
	}

	ids := jsonOf[struct{ Plugins []struct{ ID string } }](t, tm.ok("gateway", "list", "--json"))
	if !slices.ContainsFunc(ids.Plugins, func(p struct{ ID string }) bool { return p.ID == "skill:hello" }) {
		t.Errorf("gateway list = %+v; want skill:hello", ids)
	}
}

// gateway call --stream prints each chunk the moment it arrives: the fake
// gateway sends the rest only once the first is on the terminal.
func TestGatewayCallStreams(t *testing.T) {
	printed := &notifyWriter{wrote: make(chan struct{}, 1)}
	var body map[string]any
	tm := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, ": keepalive\n\ndata: {\"delta\":\"Hello\"}\n\n")
		w.(http.Flusher).Flush()
		deadline := time.After(10 * time.Second)
		for !strings.Contains(printed.String(), "Hello") {
			select {
			case <-printed.wrote:
			case <-deadline:
				io.WriteString(w, "data: {\"delta\":\" (the first chunk was not printed before the stream ended)\"}\n\n")
				return
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, "data: {\"delta\":\", world\"}\n\ndata: {\"word\":\"two\",\"n\":2}\n\n")
		io.WriteString(w, "event: usage\ndata: {\"plugin\":\"echo-stream\",\"usage\":{}}\n\ndata: [DONE]\n\n")
	})
	tm.stdout = printed
	r := tm.ok("gateway", "call", "echo-stream", "--stream", "--input", `{"text":"hi"}`)
	if r.stdout != "Hello, world\n{\"word\":\"two\",\"n\":2}\n" {
		t.Errorf("stream printed %q", r.stdout)
	}
	if body["stream"] != true || body["text"] != "hi" {
		t.Errorf("request body = %v", body)
	}

	// --json: every event a line of JSON, the usage event included.
	tm.stdout = printed
	r = tm.ok("gateway", "call", "echo-stream", "--stream", "--json")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var events []string
	for _, l := range lines {
		var ev struct {
			Event string
			Data  json.RawMessage
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		events = append(events, ev.Event+string(ev.Data))
	}
	if len(events) != 4 || events[0] != `{"delta":"Hello"}` || !strings.HasPrefix(events[3], "usage{") {
		t.Errorf("--json events = %q", events)
	}
}

// An error event ends the stream with the error's exit code (1: it carries no status).
func TestGatewayCallStreamError(t *testing.T) {
	tm := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"delta\":\"par\"}\n\nevent: error\ndata: {\"error\":\"upstream went away\",\"code\":\"UPSTREAM_ERROR\",\"request_id\":\"r1\"}\n\n")
	})
	r := tm.expect(exitFailure, "gateway", "call", "x", "--stream")
	if r.stdout != "par\n" || !strings.Contains(r.stderr, "UPSTREAM_ERROR") || !strings.Contains(r.stderr, "upstream went away") {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
}
