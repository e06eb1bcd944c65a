package ai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/agentbot/gateway/plugins/ai"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

// Platform keys the test configuration gives each upstream.
var platformKeys = map[string]string{
	"openai":     "sk-platform-openai",
	"anthropic":  "sk-ant-platform",
	"openrouter": "sk-or-platform",
	"groq":       "gsk-platform",
	"gemini":     "gem-platform",
}

// upstreamReq is one request a fake upstream received.
type upstreamReq struct {
	Provider string // the first path segment: which configured upstream was called
	Path     string // the rest of the path, e.g. /v1/chat/completions
	Header   http.Header
	Raw      []byte
	JSON     map[string]any // Raw decoded, when it was JSON
}

// fakeUpstream is one httptest server standing in for every upstream: each provider is configured with the base
// URL <server>/<provider>/v1, so the path says who was called. It speaks the OpenAI protocol under
// /chat/completions and /audio/*, and Anthropic's under /messages.
type fakeUpstream struct {
	t   *testing.T
	srv *httptest.Server

	mu   sync.Mutex
	reqs []upstreamReq
	// respond, when set, answers instead of the defaults.
	respond func(w http.ResponseWriter, r upstreamReq)
	// in and out are the token counts the default answers report; deltas the streamed pieces.
	in, out int64
	deltas  []string
}

func newFakeUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{t: t, in: 19, out: 2, deltas: []string{"Hel", "lo"}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake upstream: reading body: %v", err)
	}
	prov, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	req := upstreamReq{Provider: prov, Path: "/" + rest, Header: r.Header.Clone(), Raw: raw}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &req.JSON); err != nil {
			f.t.Errorf("fake upstream: body %q is not JSON: %v", raw, err)
		}
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	respond, in, out, deltas := f.respond, f.in, f.out, f.deltas
	f.mu.Unlock()
	if respond != nil {
		respond(w, req)
		return
	}
	answer(w, req, in, out, deltas)
}

// answer is the default behaviour: a successful completion, stream, speech or transcription.
func answer(w http.ResponseWriter, r upstreamReq, in, out int64, deltas []string) {
	model, _ := r.JSON["model"].(string)
	stream, _ := r.JSON["stream"].(bool)
	switch {
	case strings.HasSuffix(r.Path, "/chat/completions") && stream:
		writeSSE(w, openAIStream(model, deltas, in, out))
	case strings.HasSuffix(r.Path, "/chat/completions"):
		writeJSON(w, 200, openAICompletion(model, "Hello there", in, out))
	case strings.HasSuffix(r.Path, "/messages") && stream:
		writeSSE(w, anthropicStream(model, deltas, in, out))
	case strings.HasSuffix(r.Path, "/messages"):
		writeJSON(w, 200, anthropicMessage(model, "Hello there", in, out))
	case strings.HasSuffix(r.Path, "/audio/speech"):
		w.Header().Set("Content-Type", "audio/mpeg")
		w.Write([]byte("ID3-fake-mp3"))
	case strings.HasSuffix(r.Path, "/audio/transcriptions"):
		writeJSON(w, 200, `{"text":"hello world"}`)
	default:
		writeJSON(w, 404, `{"error":{"message":"no such route"}}`)
	}
}

// requests returns what the fake has received so far.
func (f *fakeUpstream) requests() []upstreamReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]upstreamReq(nil), f.reqs...)
}

// last returns the one request the fake received since the last reset.
func (f *fakeUpstream) last(t *testing.T) upstreamReq {
	t.Helper()
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("the upstream received %d requests; want 1", len(reqs))
	}
	return reqs[0]
}

func (f *fakeUpstream) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = nil
}

func (f *fakeUpstream) setRespond(fn func(w http.ResponseWriter, r upstreamReq)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond = fn
}

func (f *fakeUpstream) setUsage(in, out int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.in, f.out = in, out
}

// baseURL is where the configuration points provider name.
func (f *fakeUpstream) baseURL(name string) string { return f.srv.URL + "/" + name + "/v1" }

// config is a configuration pointing every default upstream at the fake, with platform keys.
func (f *fakeUpstream) config() map[string]any {
	ups := map[string]any{}
	for name, key := range platformKeys {
		u := map[string]any{"baseUrl": f.baseURL(name), "apiKey": key}
		if name == "anthropic" {
			u["protocol"] = "anthropic"
		}
		ups[name] = u
	}
	return map[string]any{"upstreams": ups}
}

func openAICompletion(model, content string, in, out int64) string {
	return fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,
		"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],
		"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`, model, content, in, out, in+out)
}

func openAIStream(model string, deltas []string, in, out int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n", model)
	for _, d := range deltas {
		fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", model, d)
	}
	fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", model)
	fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":%q,\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", model, in, out, in+out)
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

func anthropicMessage(model, content string, in, out int64) string {
	return fmt.Sprintf(`{"id":"msg_1","type":"message","role":"assistant","model":%q,
		"content":[{"type":"text","text":%q}],"stop_reason":"end_turn","stop_sequence":null,
		"usage":{"input_tokens":%d,"output_tokens":%d}}`, model, content, in, out)
}

func anthropicStream(model string, deltas []string, in, out int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":%q,\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":%d,\"output_tokens\":1}}}\n\n", model, in)
	b.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for _, d := range deltas {
		fmt.Fprintf(&b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":%q}}\n\n", d)
	}
	b.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	fmt.Fprintf(&b, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":%d}}\n\n", out)
	b.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func writeSSE(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/event-stream")
	io.WriteString(w, body)
}

// upstreamError answers every request with status and an OpenAI-style error body, plus headers.
func upstreamError(status int, headers map[string]string) func(http.ResponseWriter, upstreamReq) {
	return func(w http.ResponseWriter, r upstreamReq) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		writeJSON(w, status, fmt.Sprintf(`{"error":{"message":"upstream says %d","type":"test"}}`, status))
	}
}

// serveAI starts the AI provider behind gRPC and configures it with cfg (nil: the fake's configuration).
func serveAI(t *testing.T, f *fakeUpstream, cfg map[string]any) *provider.Client {
	t.Helper()
	c := providertest.Serve(t, ai.New())
	if cfg == nil {
		cfg = f.config()
	}
	configure(t, c, cfg)
	return c
}

func configure(t *testing.T, c *provider.Client, cfg map[string]any) {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Configure(context.Background(), &provider.ConfigureRequest{Config: raw})
	if err != nil {
		t.Fatalf("Configure(%s) = %v", raw, err)
	}
	if resp.Error != nil {
		t.Fatalf("Configure(%s) = %v; want no error", raw, resp.Error)
	}
}

// invoke runs a non-streaming call and fails the test on a transport error.
func invoke(t *testing.T, c *provider.Client, capability, input string, caller provider.Caller) *provider.InvokeResponse {
	t.Helper()
	resp, err := c.Invoke(context.Background(), &provider.InvokeRequest{Capability: capability, Input: json.RawMessage(input), Caller: caller})
	if err != nil {
		t.Fatalf("Invoke(%s, %s) = %v", capability, input, err)
	}
	return resp
}

// decode unmarshals JSON into a map, failing the test when it is not a JSON object.
func decode(t *testing.T, what string, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s = %q: not a JSON object: %v", what, b, err)
	}
	return m
}

// errString renders an error for messages, "<nil>" when absent.
func errString(e *provider.Error) string {
	if e == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%d %s %q %v", e.Status, e.Code, e.Message, e.Fields)
}

// checkErr reports whether e has the wanted status and code.
func checkErr(t *testing.T, call string, e *provider.Error, status int, code string) bool {
	t.Helper()
	if e == nil || e.Status != status || e.Code != code {
		t.Errorf("%s error = %s; want %d %s", call, errString(e), status, code)
		return false
	}
	return true
}

// httpResult is a route's whole response.
type httpResult struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

func (r httpResult) json(t *testing.T, call string) map[string]any {
	t.Helper()
	return decode(t, call, r.Body)
}

// do calls a route and gathers its response.
func do(t *testing.T, c *provider.Client, req *provider.HTTPRequest) httpResult {
	t.Helper()
	var res httpResult
	first := true
	err := c.HandleHTTP(context.Background(), req, func(p *provider.HTTPResponsePart) error {
		if first {
			res.Status, res.Headers = p.Status, p.Headers
			first = false
		}
		res.Body = append(res.Body, p.Body...)
		return nil
	})
	if err != nil {
		t.Fatalf("HandleHTTP(%s %s) = %v", req.Method, req.Path, err)
	}
	return res
}

// strs converts a decoded JSON array of strings.
func strs(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func equal(a, b any) bool { return reflect.DeepEqual(a, b) }
