package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func post(t *testing.T, srv *httptest.Server, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const tools = `"tools":[{"type":"function","function":{"name":"instant-split__simulate"}},
	{"type":"function","function":{"name":"instant-split__simulate_all"}},{"type":"function","function":{"name":"memory_list"}}]`

// Named tools become calls, in order of appearance, with the JSON object
// after each name; a longer tool name is not mistaken for a shorter one.
func TestNamedToolsBecomeCalls(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp := post(t, srv, `{"model":"m",`+tools+`,"messages":[{"role":"user",
		"content":"first memory_list then instant-split__simulate {\"streams\": 200000, \"rate\": \"0.004\"} please"}]}`)
	var out struct {
		Choices []struct {
			Message      message `json:"message"`
			FinishReason string  `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	calls := out.Choices[0].Message.ToolCalls
	if out.Choices[0].FinishReason != "tool_calls" || len(calls) != 2 {
		t.Fatalf("reply = %+v; want two tool calls", out.Choices[0])
	}
	if calls[0].Function.Name != "memory_list" || calls[0].Function.Arguments != "{}" {
		t.Errorf("first call = %+v; want memory_list {}", calls[0].Function)
	}
	if calls[1].Function.Name != "instant-split__simulate" || calls[1].Function.Arguments != `{"rate":"0.004","streams":200000}` {
		t.Errorf("second call = %+v; want instant-split__simulate with the object", calls[1].Function)
	}
}

// A streamed answer to tool results reassembles into the report of each
// result, followed by a usage chunk and [DONE].
func TestStreamedAnswerToToolResults(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp := post(t, srv, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"memory_list","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"c1","content":"{\"keys\":[\"ünïcode\"]}"}]}`)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var text strings.Builder
	var sawUsage, sawDone bool
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			sawDone = true
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Usage *struct {
				TotalTokens int `json:"total_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
		if c.Usage != nil && c.Usage.TotalTokens > 0 {
			sawUsage = true
		}
	}
	if want := `memory_list returned: {"keys":["ünïcode"]}`; text.String() != want {
		t.Errorf("streamed text = %q; want %q", text.String(), want)
	}
	if !sawUsage || !sawDone {
		t.Errorf("usage chunk %v, [DONE] %v; want both", sawUsage, sawDone)
	}
}

func TestHeartbeatEchoAndBadRequests(t *testing.T) {
	if got := decide(request{Messages: []message{{Role: "user", Content: "Heartbeat: anything to report?"}}}); got.text != "HEARTBEAT_OK" {
		t.Errorf("heartbeat reply = %q", got.text)
	}
	if got := decide(request{Messages: []message{{Role: "user", Content: []any{map[string]any{"type": "text", "text": "hi"}}}}}); got.text != "You said: hi" {
		t.Errorf("echo = %q", got.text)
	}
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	if resp := post(t, srv, `{"messages": 7}`); resp.StatusCode != 400 {
		t.Errorf("bad body = %d; want 400", resp.StatusCode)
	}
}
