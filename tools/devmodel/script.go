package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
)

// request is the part of an OpenAI chat completions request the script reads.
type request struct {
	Model    string    `json:"model"`
	Messages []message `json:"messages"`
	Tools    []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	Stream bool `json:"stream"`
}

type message struct {
	Role       string     `json:"role"`
	Content    any        `json:"content"` // a string, or a list of parts
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

type toolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// text is a message's content as text (the text parts of a list).
func (m message) text() string {
	switch c := m.Content.(type) {
	case string:
		return c
	case []any:
		var b strings.Builder
		for _, p := range c {
			if part, ok := p.(map[string]any); ok {
				if s, ok := part["text"].(string); ok {
					b.WriteString(s)
				}
			}
		}
		return b.String()
	}
	return ""
}

// reply is the script's move: text, or tool calls.
type reply struct {
	text  string
	calls []toolCall
}

var callSeq atomic.Int64

// decide applies the script to a conversation.
func decide(req request) reply {
	if len(req.Messages) == 0 {
		return reply{text: "Say something."}
	}
	last := req.Messages[len(req.Messages)-1]
	switch last.Role {
	case "tool":
		return reply{text: answerResults(req.Messages)}
	case "user":
		offered := make([]string, len(req.Tools))
		for i, t := range req.Tools {
			offered[i] = t.Function.Name
		}
		if calls := namedCalls(last.text(), offered); len(calls) > 0 {
			return reply{calls: calls}
		}
		if strings.Contains(strings.ToLower(last.text()), "heartbeat") {
			return reply{text: "HEARTBEAT_OK"}
		}
		return reply{text: "You said: " + last.text()}
	}
	return reply{text: "I have nothing to add."}
}

// namedCalls finds the offered tools named in text, in order of appearance,
// each with the JSON object that follows its name (or {}).
func namedCalls(text string, offered []string) []toolCall {
	type hit struct {
		at   int
		name string
	}
	var hits []hit
	for _, name := range offered {
		if name == "" {
			continue
		}
		for from := 0; ; {
			i := strings.Index(text[from:], name)
			if i < 0 {
				break
			}
			at := from + i
			end := at + len(name)
			// A whole name, not a prefix of a longer tool's name.
			if end == len(text) || !isNameByte(text[end]) {
				if at == 0 || !isNameByte(text[at-1]) {
					hits = append(hits, hit{at, name})
				}
			}
			from = end
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].at < hits[j].at })
	calls := make([]toolCall, 0, len(hits))
	for _, h := range hits {
		args := "{}"
		rest := strings.TrimLeft(text[h.at+len(h.name):], " \t\n:")
		if strings.HasPrefix(rest, "{") {
			var obj map[string]any
			dec := json.NewDecoder(strings.NewReader(rest))
			if dec.Decode(&obj) == nil {
				b, _ := json.Marshal(obj)
				args = string(b)
			}
		}
		var c toolCall
		c.ID = fmt.Sprintf("call_dev_%d", callSeq.Add(1))
		c.Type = "function"
		c.Function.Name, c.Function.Arguments = h.name, args
		calls = append(calls, c)
	}
	return calls
}

func isNameByte(b byte) bool {
	return b == '_' || b == '-' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// answerResults reports the results of the last assistant turn's calls.
func answerResults(msgs []message) string {
	names := map[string]string{}
	start := len(msgs)
	for start > 0 && msgs[start-1].Role == "tool" {
		start--
	}
	if start > 0 {
		for _, c := range msgs[start-1].ToolCalls {
			names[c.ID] = c.Function.Name
		}
	}
	var b strings.Builder
	for i, m := range msgs[start:] {
		if i > 0 {
			b.WriteString("\n")
		}
		name := names[m.ToolCallID]
		if name == "" {
			name = "the tool"
		}
		fmt.Fprintf(&b, "%s returned: %s", name, m.text())
	}
	return b.String()
}

// tokens is a rough token count (four bytes a token), reported as usage.
func tokens(s string) int { return (len(s) + 3) / 4 }

// Handler serves the stand-in model.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[{"id":"devmodel","object":"model","owned_by":"agentbot"}]}`)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
		var req request
		if err == nil {
			err = json.Unmarshal(body, &req)
		}
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error"}}`, "invalid request body: "+err.Error())
			return
		}
		rp := decide(req)
		usage := map[string]int{"prompt_tokens": tokens(string(body)), "completion_tokens": tokens(rp.text) + 8*len(rp.calls)}
		usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
		if req.Stream {
			stream(w, req.Model, rp, usage)
			return
		}
		msg := map[string]any{"role": "assistant", "content": rp.text}
		finish := "stop"
		if len(rp.calls) > 0 {
			msg["content"], msg["tool_calls"], finish = nil, rp.calls, "tool_calls"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-dev", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}}, "usage": usage})
	})
	return mux
}

// stream writes the reply as chat.completion.chunk events: text in a few
// pieces, each call's arguments in two, then the usage chunk and [DONE].
func stream(w http.ResponseWriter, model string, rp reply, usage map[string]int) {
	w.Header().Set("Content-Type", "text/event-stream")
	flusher, _ := w.(http.Flusher)
	send := func(v any) {
		var b bytes.Buffer
		b.WriteString("data: ")
		json.NewEncoder(&b).Encode(v)
		b.WriteString("\n")
		w.Write(b.Bytes())
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": "chatcmpl-dev", "object": "chat.completion.chunk", "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	send(chunk(map[string]any{"role": "assistant"}, nil))
	finish := "stop"
	if len(rp.calls) == 0 {
		for _, piece := range pieces(rp.text, 3) {
			send(chunk(map[string]any{"content": piece}, nil))
		}
	} else {
		finish = "tool_calls"
		for i, c := range rp.calls {
			send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": c.ID, "type": "function",
				"function": map[string]any{"name": c.Function.Name, "arguments": ""}}}}, nil))
			for _, part := range pieces(c.Function.Arguments, 2) {
				send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i,
					"function": map[string]any{"arguments": part}}}}, nil))
			}
		}
	}
	send(chunk(map[string]any{}, finish))
	send(map[string]any{"id": "chatcmpl-dev", "object": "chat.completion.chunk", "model": model, "choices": []any{},
		"usage": usage})
	io.WriteString(w, "data: [DONE]\n\n")
}

// pieces cuts s into at most n parts at byte boundaries that keep UTF-8
// sequences whole.
func pieces(s string, n int) []string {
	if s == "" {
		return []string{""}
	}
	var out []string
	size := (len(s) + n - 1) / n
	for len(s) > 0 {
		cut := min(size, len(s))
		for cut < len(s) && s[cut]&0xC0 == 0x80 {
			cut++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}
