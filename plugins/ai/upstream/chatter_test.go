package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/plugins/ai/upstream"
)

// protocol describes one wire protocol for the tests both adapters must pass.
type protocol struct {
	name   string
	client func(baseURL, key string) upstream.Chatter
	path   string
	// first is the start of a stream up to and including the delta "Hel"; rest finishes it with "lo".
	first, rest string
	// errorBody is the protocol's error body.
	errorBody func(typ, msg string) string
}

var protocols = []protocol{
	{
		name: "OpenAI",
		client: func(u, key string) upstream.Chatter {
			return &upstream.OpenAI{Endpoint: upstream.Endpoint{BaseURL: u + "/v1", APIKey: key}}
		},
		path:  "/v1/chat/completions",
		first: strings.Join(strings.SplitAfter(openAIChunks(true), "\n\n")[:2], ""),
		rest:  strings.Join(strings.SplitAfter(openAIChunks(true), "\n\n")[2:], "") + openAIUsageChunk + "data: [DONE]\n\n",
		errorBody: func(typ, msg string) string {
			return fmt.Sprintf(`{"error":{"message":%q,"type":%q,"param":null,"code":null}}`, msg, typ)
		},
	},
	{
		name: "Anthropic",
		client: func(u, key string) upstream.Chatter {
			return &upstream.Anthropic{Endpoint: upstream.Endpoint{BaseURL: u + "/v1", APIKey: key}}
		},
		path:  "/v1/messages",
		first: anthropicStart,
		rest:  anthropicMiddle + anthropicEnd + anthropicStop,
		errorBody: func(typ, msg string) string {
			return fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`, typ, msg)
		},
	},
}

var hi = upstream.ChatRequest{Model: "m", Messages: []upstream.Message{{Role: "user", Content: "Hi"}}}

// blockingUpstream answers with p.first, flushes, and then waits for release (nil: forever) or for the client
// to go away. It reports on gone when the request has ended from the server's point of view.
func blockingUpstream(t *testing.T, p protocol, release <-chan struct{}) (srv *httptest.Server, gone <-chan struct{}) {
	t.Helper()
	g := make(chan struct{})
	stop := make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(g)
		writeSSE(w, p.first)
		w.(http.Flusher).Flush()
		select {
		case <-release:
			io.WriteString(w, p.rest)
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first, so that Close never waits on a stuck handler
	return srv, g
}

const patience = 30 * time.Second // generous: only a broken implementation waits this long

func TestChatStreamDeliversFirstDeltaBeforeEnd(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			release := make(chan struct{})
			srv, _ := blockingUpstream(t, p, release)
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			var once sync.Once
			var deltas []string
			got, err := p.client(srv.URL, "k-test-secret").ChatStream(ctx, hi, func(d string) error {
				once.Do(func() { close(release) }) // the server cannot finish before this
				deltas = append(deltas, d)
				return nil
			})
			if err != nil || got.Content != "Hello" || len(deltas) != 2 {
				t.Errorf("%s ChatStream(%q) = %+v, %v with deltas %q; want Hello in two deltas, the first before the server finished",
					p.name, hi.Messages[0].Content, got, err, deltas)
			}
		})
	}
}

func TestChatStreamCancel(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			srv, gone := blockingUpstream(t, p, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := make(chan struct{}, 1)
			done := make(chan error, 1)
			go func() {
				_, err := p.client(srv.URL, "k-test-secret").ChatStream(ctx, hi, func(string) error {
					started <- struct{}{}
					return nil
				})
				done <- err
			}()
			select {
			case <-started:
			case <-time.After(patience):
				t.Fatal("no delta arrived")
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("%s ChatStream after cancel = %v; want context.Canceled", p.name, err)
				}
			case <-time.After(patience):
				t.Fatalf("%s ChatStream did not return after cancel", p.name)
			}
			select {
			case <-gone:
			case <-time.After(patience):
				t.Errorf("%s upstream request still open after cancel", p.name)
			}
		})
	}
}

func TestChatStreamOnDeltaErrorAborts(t *testing.T) {
	errStop := errors.New("client went away")
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			srv, gone := blockingUpstream(t, p, nil)
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			calls := 0
			got, err := p.client(srv.URL, "k-test-secret").ChatStream(ctx, hi, func(string) error {
				calls++
				return errStop
			})
			if !errors.Is(err, errStop) || got != nil || calls != 1 {
				t.Errorf("%s ChatStream with failing onDelta = %+v, %v after %d calls; want nil, %v after 1", p.name, got, err, calls, errStop)
			}
			select {
			case <-gone:
			case <-time.After(patience):
				t.Errorf("%s upstream request still open after onDelta failed", p.name)
			}
		})
	}
}

func TestChatUpstreamErrors(t *testing.T) {
	const key = "sk-live-0123456789abcdef"
	type reply struct {
		status  int
		header  map[string]string
		errType string // with msg, the protocol's error body
		msg     string
		raw     string // instead, a raw body
	}
	tests := []struct {
		name    string
		reply   reply
		stream  bool // also run through ChatStream
		wantErr upstream.Error
	}{
		{"rate limited", reply{status: 429, header: map[string]string{"Retry-After": "7"}, errType: "rate_limit_error",
			msg: "Rate limit reached for requests"}, true,
			upstream.Error{Status: 429, Message: "Rate limit reached for requests", Retryable: true, RetryAfter: 7 * time.Second}},
		{"bad key", reply{status: 401, errType: "authentication_error", msg: "Incorrect API key provided: " + key + "."}, true,
			upstream.Error{Status: 401, Message: "Incorrect API key provided: [redacted]."}},
		{"server error", reply{status: 500, errType: "api_error", msg: "Internal server error"}, true,
			upstream.Error{Status: 500, Message: "Internal server error", Retryable: true}},
		{"overloaded", reply{status: 529, errType: "overloaded_error", msg: "Overloaded"}, true,
			upstream.Error{Status: 529, Message: "Overloaded", Retryable: true}},
		{"bad request", reply{status: 400, errType: "invalid_request_error", msg: "model: field required"}, true,
			upstream.Error{Status: 400, Message: "model: field required"}},
		{"long message", reply{status: 400, errType: "invalid_request_error", msg: strings.Repeat("word ", 100)}, true,
			upstream.Error{Status: 400, Message: strings.TrimSpace(strings.Repeat("word ", 60))[:299] + "…"}},
		{"HTML error page", reply{status: 502, raw: "<html><body><h1>502 Bad Gateway</h1></body></html>"}, true,
			upstream.Error{Status: 502, Message: "Bad Gateway", Retryable: true}},
		{"malformed JSON", reply{status: 200, raw: `{"id": "x", "choices": [`}, false,
			upstream.Error{Status: 200, Message: "malformed response: unexpected end of JSON input"}},
		{"wrong JSON types", reply{status: 200, raw: `{"id": 7}`}, false,
			upstream.Error{Status: 200, Message: "malformed response: json: cannot unmarshal number into Go struct field"}},
	}
	for _, p := range protocols {
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				srv, _ := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) {
					for k, v := range tt.reply.header {
						w.Header().Set(k, v)
					}
					body := tt.reply.raw
					if body == "" {
						body = p.errorBody(tt.reply.errType, tt.reply.msg)
					}
					if strings.HasPrefix(body, "<") {
						w.Header().Set("Content-Type", "text/html")
						w.WriteHeader(tt.reply.status)
						io.WriteString(w, body)
						return
					}
					writeJSON(w, tt.reply.status, body)
				})
				c := p.client(srv.URL, key)
				calls := map[string]func() (*upstream.ChatResponse, error){
					"Chat": func() (*upstream.ChatResponse, error) { return c.Chat(context.Background(), hi) },
				}
				if tt.stream {
					calls["ChatStream"] = func() (*upstream.ChatResponse, error) {
						return c.ChatStream(context.Background(), hi, func(string) error { return nil })
					}
				}
				for name, call := range calls {
					got, err := call()
					var ue *upstream.Error
					if !errors.As(err, &ue) || got != nil || !sameError(ue, &tt.wantErr) {
						t.Errorf("%s(%q) = %+v, %#v; want nil, %#v", name, tt.name, got, err, &tt.wantErr)
						continue
					}
					if strings.Contains(err.Error(), key) {
						t.Errorf("%s(%q) error %q contains the API key", name, tt.name, err)
					}
				}
			})
		}
	}
}

// sameError compares errors. A wanted "malformed …" message need only be a prefix: the rest is the JSON
// decoder's wording, which names the adapters' private types.
func sameError(got, want *upstream.Error) bool {
	msgOK := got.Message == want.Message ||
		strings.HasPrefix(want.Message, "malformed") && strings.HasPrefix(got.Message, want.Message)
	return msgOK && got.Status == want.Status && got.Retryable == want.Retryable && got.RetryAfter == want.RetryAfter
}

func TestChatNetworkError(t *testing.T) {
	const key = "sk-live-0123456789abcdef"
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	for _, p := range protocols {
		c := p.client(url, key)
		for name, call := range map[string]func() (*upstream.ChatResponse, error){
			"Chat":       func() (*upstream.ChatResponse, error) { return c.Chat(context.Background(), hi) },
			"ChatStream": func() (*upstream.ChatResponse, error) { return c.ChatStream(context.Background(), hi, nil) },
		} {
			got, err := call()
			var ue *upstream.Error
			if !errors.As(err, &ue) || got != nil || ue.Status != 0 || !ue.Retryable || strings.Contains(ue.Message, key) {
				t.Errorf("%s %s(unreachable) = %+v, %v; want a retryable *Error with Status 0", p.name, name, got, err)
			}
		}
	}
}

func TestChatCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, p := range protocols {
		srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) {
			t.Errorf("%s upstream called with a cancelled context", p.name)
		})
		c := p.client(srv.URL, "k-test-secret")
		for name, call := range map[string]func() (*upstream.ChatResponse, error){
			"Chat":       func() (*upstream.ChatResponse, error) { return c.Chat(ctx, hi) },
			"ChatStream": func() (*upstream.ChatResponse, error) { return c.ChatStream(ctx, hi, nil) },
		} {
			if got, err := call(); !errors.Is(err, context.Canceled) || got != nil {
				t.Errorf("%s %s(cancelled) = %+v, %v; want nil, context.Canceled", p.name, name, got, err)
			}
		}
		if len(reqs) != 0 {
			t.Errorf("%s upstream received %d requests; want 0", p.name, len(reqs))
		}
	}
}
