package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/sdk/client"
)

// fake serves one handler and returns a client for it.
func fake(t *testing.T, h http.HandlerFunc, opts ...client.Option) *client.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRefusesBadBaseURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://x", "http://", "://"} {
		if _, err := client.New(u); err == nil {
			t.Errorf("New(%q) = nil error; want a refusal", u)
		}
	}
	c, err := client.New("https://agentbot.example/prefix/")
	if err != nil || c.BaseURL() != "https://agentbot.example/prefix" {
		t.Errorf("New(with a prefix) = %v, %v", c, err)
	}
}

// Options reach the wire: the key as a bearer credential, the user agent, the
// given http.Client (its transport), and a base URL's path prefix.
func TestOptions(t *testing.T) {
	var got *http.Request
	used := false
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		io.WriteString(w, `{"keys":[{"id":"key_1","name":"a","keyPreview":"sk_ab…","createdAt":"2030-01-02T03:04:05.000Z","lastUsed":null}]}`)
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL+"/base", client.WithAPIKey("sk_test"), client.WithUserAgent("me/1"), client.WithHTTPClient(hc))
	keys, err := c.ListKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !used || got.URL.Path != "/base/api/keys" || got.Header.Get("Authorization") != "Bearer sk_test" ||
		got.Header.Get("User-Agent") != "me/1" {
		t.Errorf("request: transport used %v, path %s, headers %v", used, got.URL.Path, got.Header)
	}
	if len(keys) != 1 || keys[0].ID != "key_1" || keys[0].LastUsed != nil || keys[0].CreatedAt.Year() != 2030 {
		t.Errorf("keys = %+v", keys)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Every shape of error body becomes an *Error: the gateway's (extra members
// in Fields), OpenAI's nested one, an RFC 9457 problem, and a body that is
// not JSON at all.
func TestErrors(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		status            int
		header            map[string]string
		want              client.Error
	}{
		{"gateway", "application/json", `{"error":"limits.maxOutputBytes exceeds the server maximum (1048576)","code":"INVALID_MANIFEST","request_id":"rid1","field":"limits.maxOutputBytes","limit":1048576}`,
			400, nil, client.Error{Status: 400, Code: "INVALID_MANIFEST", Message: "limits.maxOutputBytes exceeds the server maximum (1048576)",
				RequestID: "rid1", Fields: map[string]any{"field": "limits.maxOutputBytes", "limit": 1048576.0}}},
		{"rate limited", "application/json", `{"error":"Too many requests","code":"RATE_LIMITED"}`,
			429, map[string]string{"Retry-After": "7", "X-Request-Id": "rid2"}, client.Error{Status: 429, Code: "RATE_LIMITED",
				Message: "Too many requests", RequestID: "rid2", RetryAfter: 7 * time.Second}},
		{"openai", "application/json", `{"error":{"message":"Invalid API key","type":"authentication_error","code":"invalid_api_key"}}`,
			401, nil, client.Error{Status: 401, Code: "invalid_api_key", Message: "Invalid API key"}},
		{"problem", "application/problem+json", `{"type":"https://paymentauth.org/problems/payment-expired","title":"Payment expired","detail":"the challenge has expired","status":402}`,
			402, nil, client.Error{Status: 402, Message: "the challenge has expired",
				Fields: map[string]any{"type": "https://paymentauth.org/problems/payment-expired", "title": "Payment expired", "status": 402.0}}},
		{"html", "text/html", `<html>bad gateway</html>`, 502, nil, client.Error{Status: 502, Message: "Bad Gateway: <html>bad gateway</html>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			_, err := c.Call(context.Background(), "x", nil)
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("Call = %v; want an *Error", err)
			}
			if fmt.Sprint(*e) != fmt.Sprint(tt.want) {
				t.Errorf("error = %+v;\nwant %+v", *e, tt.want)
			}
			if client.StatusOf(fmt.Errorf("wrapped: %w", err)) != tt.status {
				t.Errorf("StatusOf = %d; want %d", client.StatusOf(err), tt.status)
			}
			if tt.want.Code != "" && !client.IsCode(fmt.Errorf("wrapped: %w", err), tt.want.Code) {
				t.Errorf("IsCode(%s) = false", tt.want.Code)
			}
		})
	}
	if client.IsCode(errors.New("plain"), "X") || client.StatusOf(errors.New("plain")) != 0 {
		t.Error("IsCode/StatusOf of a plain error")
	}
	e := &client.Error{Status: 402, Code: "PAYMENT_REQUIRED", Message: "pay", RequestID: "r", Fields: map[string]any{"b": 1, "a": 2}}
	if e.Error() != "402 PAYMENT_REQUIRED: pay (request r)" || strings.Join(e.FieldNames(), ",") != "a,b" {
		t.Errorf("Error() = %q, FieldNames = %v", e.Error(), e.FieldNames())
	}
}

// Login keeps the session: later requests send its cookie, and those that
// change state send its CSRF token too; Logout drops both.
func TestLoginKeepsTheSession(t *testing.T) {
	type seen struct{ method, path, cookie, csrf string }
	var reqs []seen
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		ck, _ := r.Cookie("agentbot_session")
		v := ""
		if ck != nil {
			v = ck.Value
		}
		reqs = append(reqs, seen{r.Method, r.URL.Path, v, r.Header.Get("X-CSRF-Token")})
		switch r.URL.Path {
		case "/api/auth/login":
			var in map[string]string
			json.NewDecoder(r.Body).Decode(&in)
			if in["password"] != "right" {
				w.WriteHeader(401)
				io.WriteString(w, `{"error":"Invalid email or password","code":"INVALID_CREDENTIALS"}`)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "agentbot_session", Value: "sess", Path: "/", HttpOnly: true})
			io.WriteString(w, `{"user":{"id":"usr_1","email":"ada@example.com"},"csrfToken":"tok","expiresAt":"2030-01-01T00:00:00.000Z"}`)
		case "/api/keys":
			io.WriteString(w, `{"id":"key_1","name":"n","key":"sk_x","createdAt":"2030-01-01T00:00:00.000Z","keys":[]}`)
		default:
			io.WriteString(w, `{"success":true}`)
		}
	})
	ctx := context.Background()
	if _, err := c.Login(ctx, "ada@example.com", "wrong"); !client.IsCode(err, client.CodeInvalidCredentials) {
		t.Fatalf("Login(wrong) = %v", err)
	}
	s, err := c.Login(ctx, "ada@example.com", "right")
	if err != nil || s.User.ID != "usr_1" || s.CSRFToken != "tok" {
		t.Fatalf("Login = %+v, %v", s, err)
	}
	c.ListKeys(ctx)
	c.CreateKey(ctx, "n")
	c.Logout(ctx)
	c.ListKeys(ctx)
	want := []seen{
		{"POST", "/api/auth/login", "", ""}, {"POST", "/api/auth/login", "", ""},
		{"GET", "/api/keys", "sess", ""}, {"POST", "/api/keys", "sess", "tok"},
		{"POST", "/api/auth/logout", "sess", "tok"}, {"GET", "/api/keys", "", ""},
	}
	if fmt.Sprint(reqs) != fmt.Sprint(want) {
		t.Errorf("requests = %v;\nwant %v", reqs, want)
	}
}

// Each event reaches the caller as it arrives: the server sends the second
// only after the client has read the first.
func TestStreamDeliversEventsAsTheyArrive(t *testing.T) {
	readFirst := make(chan struct{})
	var body map[string]any
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, ": keepalive\n\n")
		io.WriteString(w, "data: {\"delta\":\"Hel\"}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-readFirst:
		case <-r.Context().Done():
			return
		case <-time.After(10 * time.Second):
			return // the test fails below: the client did not see the first event in time
		}
		io.WriteString(w, "data: {\"delta\":\"lo\"}\r\n\r\n")
		io.WriteString(w, "event: note\ndata: line one\ndata: line two\n\n")
		io.WriteString(w, "event: usage\ndata: {\"usage\":{\"inputTokens\":1}}\n\ndata: [DONE]\n\n")
		io.WriteString(w, "data: {\"after\":\"done\"}\n\n")
	})
	s, err := c.CallStream(context.Background(), "generate-text", map[string]any{"prompt": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if body["stream"] != true || body["prompt"] != "hi" {
		t.Errorf("request body = %v; want the input with stream:true", body)
	}
	var got []string
	for s.Next() {
		ev := s.Event()
		got = append(got, ev.Name+"|"+string(ev.Data))
		if len(got) == 1 {
			close(readFirst)
		}
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	want := []string{`|{"delta":"Hel"}`, `|{"delta":"lo"}`, "note|line one\nline two", `usage|{"usage":{"inputTokens":1}}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events = %q;\nwant %q", got, want)
	}
	if s.Next() {
		t.Error("Next after the end = true")
	}
}

// An "error" event ends the stream with an *Error; Each and Events stop there.
func TestStreamErrorEvent(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"n\":1}\n\nevent: error\ndata: {\"error\":\"upstream failed\",\"code\":\"UPSTREAM_ERROR\",\"request_id\":\"r9\",\"retryable\":true}\n\n")
	})
	s, err := c.CallStream(context.Background(), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = s.Each(func(client.Event) error { n++; return nil })
	var e *client.Error
	if n != 1 || !errors.As(err, &e) || e.Status != 0 || e.Code != "UPSTREAM_ERROR" || e.RequestID != "r9" || e.Fields["retryable"] != true {
		t.Errorf("Each = %d events, %#v", n, err)
	}

	s, _ = c.CallStream(context.Background(), "x", nil)
	var errs []error
	for ev, err := range s.Events() {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if string(ev.Data) != `{"n":1}` {
			t.Errorf("event = %s", ev.Data)
		}
	}
	if len(errs) != 1 || !client.IsCode(errs[0], "UPSTREAM_ERROR") {
		t.Errorf("Events yielded errors %v", errs)
	}
}

// Leaving an Events loop early closes the connection: the server sees the
// client go while it is still streaming.
func TestStreamBreakClosesTheConnection(t *testing.T) {
	gone := make(chan struct{})
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: {\"i\":%d}\n\n", i); err != nil {
				break
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				close(gone)
				return
			default:
			}
		}
		close(gone)
	})
	s, err := c.CallStream(context.Background(), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range s.Events() {
		break
	}
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the server still streams 10s after the client left the loop")
	}
}

// A refusal before the stream is an ordinary *Error; an id that does not
// stream answers JSON, handed over as one "response" event.
func TestStreamRefusalAndJSONAnswer(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Plugin-Id") == "nope" {
			w.WriteHeader(404)
			io.WriteString(w, `{"error":"No plugin","code":"UNKNOWN_PLUGIN"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"plugin":"skill:x","result":{"ok":true}}`)
	})
	if _, err := c.CallStream(context.Background(), "nope", nil); !client.IsCode(err, client.CodeUnknownPlugin) || client.StatusOf(err) != 404 {
		t.Errorf("CallStream(nope) = %v", err)
	}
	s, err := c.CallStream(context.Background(), "skill:x", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []client.Event
	s.Each(func(ev client.Event) error { got = append(got, ev); return nil })
	if len(got) != 1 || got[0].Name != "response" || string(got[0].Data) != `{"plugin":"skill:x","result":{"ok":true}}` {
		t.Errorf("events = %+v", got)
	}
}

func TestStreamBoundsAnEvent(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: ")
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range client.MaxEventBytes>>20 + 1 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		io.WriteString(w, "\n\n")
	})
	s, err := c.CallStream(context.Background(), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Next() || s.Err() == nil || !strings.Contains(s.Err().Error(), "exceeds") {
		t.Errorf("an oversized event: Next, Err = %v", s.Err())
	}
}

func TestInputMustBeAnObject(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) { t.Error("a request was sent") })
	for _, in := range []any{[]int{1}, "text", json.RawMessage(`[1]`), []byte(`nope`)} {
		if _, err := c.Call(context.Background(), "x", in); err == nil {
			t.Errorf("Call(%v) = nil error; want the input refused", in)
		}
	}
}

// A publish is one multipart request with the manifest and the module, its
// length known in advance; progress counts up to that length.
func TestPublishSkillStreamsTheModuleWithProgress(t *testing.T) {
	module := bytes.Repeat([]byte("\x00asm"), 300_000) // 1.2 MB
	manifest := []byte(`{"name":"greeter","version":"1.0.0"}`)
	var gotLen int64
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		gotLen = r.ContentLength
		if r.URL.Path != "/api/skills/publish" {
			t.Errorf("path = %s", r.URL.Path)
		}
		mr, err := r.MultipartReader()
		if err != nil {
			t.Error(err)
			return
		}
		parts := map[string][]byte{}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Error(err)
				return
			}
			parts[p.FormName()], _ = io.ReadAll(p)
		}
		if !bytes.Equal(parts["module"], module) || !bytes.Equal(parts["manifest"], manifest) {
			t.Errorf("parts: module %d bytes, manifest %q", len(parts["module"]), parts["manifest"])
		}
		w.WriteHeader(201)
		io.WriteString(w, `{"skill":{"name":"greeter","version":"1.0.0","sha256":"ab"},"gatewayId":"skill:greeter"}`)
	})
	for _, size := range []int64{int64(len(module)), -1} {
		var calls int
		var last, total int64
		mono := true
		res, err := c.PublishSkill(context.Background(), &client.PublishRequest{Module: bytes.NewReader(module), Size: size,
			ModuleName: "greeter.wasm", Manifest: manifest, Progress: func(sent, tot int64) {
				calls++
				if sent < last {
					mono = false
				}
				last, total = sent, tot
			}})
		if err != nil {
			t.Fatal(err)
		}
		if res.GatewayID != "skill:greeter" || res.Skill.SHA256 != "ab" {
			t.Errorf("result = %+v", res)
		}
		if calls < 2 || !mono || last != total || total != gotLen || total < int64(len(module)) {
			t.Errorf("size %d: progress %d calls, monotonic %v, last %d of %d; request length %d", size, calls, mono, last, total, gotLen)
		}
	}
	if _, err := c.PublishSkill(context.Background(), &client.PublishRequest{Manifest: manifest}); err == nil {
		t.Error("a release without a module was sent")
	}
}

func TestPluginsStatus(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/admin/plugins" {
			w.WriteHeader(404)
			return
		}
		io.WriteString(w, `{"plugins":[{"name":"ai","up":true,"pid":42,"restarts":1,"breaker":"closed"},{"name":"echo","up":false,"restarts":3,"breaker":"open","error":"exit status 2"}]}`)
	})
	got, err := c.PluginsStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []client.PluginStatus{{Name: "ai", Up: true, Pid: 42, Restarts: 1, Breaker: "closed"},
		{Name: "echo", Restarts: 3, Breaker: "open", Error: "exit status 2"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("status = %+v", got)
	}
}
