package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const token = "123456:AAEabcdefghijklmnopqrstuvwxyz012345"

// answer is a Bot API answer.
type answer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
	status int
}

// call POSTs params as JSON to method.
func call(t *testing.T, ctx context.Context, s *Server, tok, method string, params any) answer {
	t.Helper()
	a, err := tryCall(ctx, s, tok, method, params)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return a
}

// tryCall is call for other goroutines than the test's.
func tryCall(ctx context.Context, s *Server, tok, method string, params any) (answer, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/bot"+tok+"/"+method, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	return tryDo(req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	a, err := tryDo(req)
	if err != nil {
		t.Fatalf("%s: %v", req.URL.Path, err)
	}
	return a
}

func tryDo(req *http.Request) (answer, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return answer{}, fmt.Errorf("answer not JSON: %w", err)
	}
	a.status = resp.StatusCode
	if !a.OK && a.ErrorCode != resp.StatusCode {
		return a, fmt.Errorf("error_code %d with HTTP %d", a.ErrorCode, resp.StatusCode)
	}
	return a, nil
}

// async runs tryCall in a goroutine; the answer (zero on error) arrives on
// the channel.
func async(ctx context.Context, s *Server, method string, params any) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		a, _ := tryCall(ctx, s, token, method, params)
		ch <- a
	}()
	return ch
}

func updateIDs(t *testing.T, a answer) []int64 {
	t.Helper()
	if !a.OK {
		t.Fatalf("getUpdates: %d %s", a.ErrorCode, a.Description)
	}
	var ups []struct {
		ID int64 `json:"update_id"`
	}
	if err := json.Unmarshal(a.Result, &ups); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(ups))
	for i, u := range ups {
		ids[i] = u.ID
	}
	return ids
}

func TestAuthAndMethods(t *testing.T) {
	s := New(t)
	s.AddBot(token, 123456, "fake_bot")
	ctx := context.Background()

	if a := call(t, ctx, s, "999:AAEnope", "getMe", nil); a.status != 401 || a.Description != "Unauthorized" {
		t.Errorf("unknown token: %+v", a)
	}
	if a := call(t, ctx, s, token, "fooBar", nil); a.status != 404 {
		t.Errorf("unknown method: %+v", a)
	}
	// Method names ignore case; GET with a query works too.
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/bot"+token+"/GETME", nil)
	a := do(t, req)
	var me struct {
		ID       int64  `json:"id"`
		IsBot    bool   `json:"is_bot"`
		Username string `json:"username"`
	}
	if err := json.Unmarshal(a.Result, &me); err != nil || me.ID != 123456 || !me.IsBot || me.Username != "fake_bot" {
		t.Errorf("getMe = %s (%v)", a.Result, err)
	}
	if n := s.Calls(token, "getMe"); n != 1 {
		t.Errorf("Calls(getMe) = %d; want 1", n)
	}

	// sendMessage as a form, then as multipart, with a reply.
	s.UserMessage(token, 42, 42, "hi")
	form := url.Values{"chat_id": {"42"}, "text": {"a"}, "reply_parameters": {`{"message_id":1}`}}
	req, _ = http.NewRequest(http.MethodPost, s.URL()+"/bot"+token+"/sendMessage", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if a := do(t, req); !a.OK {
		t.Fatalf("form sendMessage: %+v", a)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("chat_id", "42")
	_ = mw.WriteField("text", "b")
	_ = mw.WriteField("parse_mode", "HTML")
	_ = mw.Close()
	req, _ = http.NewRequest(http.MethodPost, s.URL()+"/bot"+token+"/sendMessage", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if a := do(t, req); !a.OK {
		t.Fatalf("multipart sendMessage: %+v", a)
	}
	want := []SentMessage{{ChatID: 42, MessageID: 2, Text: "a", ReplyTo: 1}, {ChatID: 42, MessageID: 3, Text: "b", ParseMode: "HTML"}}
	if got := s.Sent(token); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Sent = %+v; want %+v", got, want)
	}
	if a := call(t, ctx, s, token, "sendMessage", map[string]any{"chat_id": 42, "text": "c", "reply_parameters": map[string]any{"message_id": 50}}); a.status != 400 {
		t.Errorf("reply to a missing message: %+v", a)
	}
	if a := call(t, ctx, s, token, "sendMessage", map[string]any{"chat_id": 7, "text": "c"}); a.Description != "Bad Request: chat not found" {
		t.Errorf("unknown chat: %+v", a)
	}
	s.RateLimit(token, 1, 3)
	if a := call(t, ctx, s, token, "sendMessage", map[string]any{"chat_id": 42, "text": "c"}); a.status != 429 || a.Parameters.RetryAfter != 3 {
		t.Errorf("rate limited: %+v", a)
	}
	ctxW, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.WaitSent(ctxW, token, 2); err != nil {
		t.Errorf("WaitSent: %v", err)
	}
}

func TestLongPoll(t *testing.T) {
	s := New(t)
	s.AddBot(token, 123456, "fake_bot")
	ctx := context.Background()

	// An empty poll waits out its timeout.
	start := time.Now()
	if ids := updateIDs(t, call(t, ctx, s, token, "getUpdates", map[string]any{"timeout": 1})); len(ids) != 0 {
		t.Errorf("empty poll returned %v", ids)
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("an empty 1s poll returned after %s", took)
	}

	// A waiting poll wakes on a message.
	got := async(ctx, s, "getUpdates", map[string]any{"timeout": 30})
	waitFor(t, func() bool { return len(s.Offsets(token)) == 2 })
	id := s.UserMessage(token, 42, 42, "hi")
	select {
	case a := <-got:
		if ids := updateIDs(t, a); len(ids) != 1 || ids[0] != id {
			t.Errorf("poll returned %v; want [%d]", ids, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the poll did not wake")
	}

	// Until confirmed, the update comes again; an offset past it forgets it.
	if ids := updateIDs(t, call(t, ctx, s, token, "getUpdates", map[string]any{})); len(ids) != 1 {
		t.Errorf("unconfirmed update not returned again: %v", ids)
	}
	if ids := updateIDs(t, call(t, ctx, s, token, "getUpdates", map[string]any{"offset": id + 1})); len(ids) != 0 || s.Pending(token) != 0 {
		t.Errorf("confirmed update returned again: %v", ids)
	}
	s.Redeliver(token, id)
	if ids := updateIDs(t, call(t, ctx, s, token, "getUpdates", map[string]any{"offset": id})); len(ids) != 1 || ids[0] != id {
		t.Errorf("redelivered update: %v; want [%d]", ids, id)
	}

	// A second poller ends the first with 409.
	first := async(ctx, s, "getUpdates", map[string]any{"offset": id + 1, "timeout": 30})
	waitFor(t, func() bool { return len(s.Offsets(token)) == 6 })
	second := async(ctx, s, "getUpdates", map[string]any{"offset": id + 1, "timeout": 1})
	if a := <-first; a.status != 409 || !strings.Contains(a.Description, "terminated by other getUpdates request") {
		t.Errorf("first poller: %+v; want 409", a)
	}
	if a := <-second; !a.OK {
		t.Errorf("second poller: %+v", a)
	}
	if n := s.Conflicts(token); n != 1 {
		t.Errorf("Conflicts = %d; want 1", n)
	}
}

func TestStall(t *testing.T) {
	s := New(t)
	s.AddBot(token, 123456, "fake_bot")
	s.Stall(token, true)
	s.UserMessage(token, 42, 42, "hi")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	body, _ := json.Marshal(map[string]any{"timeout": 0})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/bot"+token+"/getUpdates", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a stalled poll answered %d", resp.StatusCode)
	}
	waitFor(t, func() bool { return s.Abandoned(token) == 1 })
	s.Stall(token, false)
	if ids := updateIDs(t, call(t, context.Background(), s, token, "getUpdates", map[string]any{})); len(ids) != 1 {
		t.Errorf("after the stall: %v", ids)
	}
	if n := s.Polls(token); n != 1 {
		t.Errorf("Polls = %d; want 1 (the stalled call never completed)", n)
	}
}

func TestWebhookDelivery(t *testing.T) {
	s := New(t)
	s.AddBot(token, 123456, "fake_bot")
	ctx := context.Background()
	var hits atomic.Int32
	got := make(chan []byte, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(SecretHeader) != "sec" {
			t.Errorf("delivery with secret %q", r.Header.Get(SecretHeader))
		}
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // retried
			return
		}
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer hook.Close()

	if a := call(t, ctx, s, token, "setWebhook", map[string]any{"url": hook.URL, "secret_token": "sec", "allowed_updates": []string{"message"}}); !a.OK {
		t.Fatalf("setWebhook: %+v", a)
	}
	if a := call(t, ctx, s, token, "getUpdates", map[string]any{}); a.status != 409 {
		t.Errorf("getUpdates with a webhook: %+v; want 409", a)
	}
	id := s.UserMessage(token, 42, 42, "hi")
	select {
	case b := <-got:
		var u struct {
			ID int64 `json:"update_id"`
		}
		if json.Unmarshal(b, &u) != nil || u.ID != id {
			t.Errorf("delivered %s; want update %d", b, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
	waitFor(t, func() bool { return s.Pending(token) == 0 })
	if a := call(t, ctx, s, token, "setWebhook", map[string]any{"url": hook.URL, "secret_token": "bad secret!"}); a.status != 400 {
		t.Errorf("setWebhook with a bad secret: %+v", a)
	}
	if a := call(t, ctx, s, token, "deleteWebhook", map[string]any{}); !a.OK || s.Webhook(token).URL != "" {
		t.Errorf("deleteWebhook: %+v", a)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
