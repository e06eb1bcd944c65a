package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/channels"
	"github.com/agentbot/gateway/channels/whatsapp/whatsapptest"
)

var sentAt = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// errorCode is a JSON error answer's code ("" when the body is not one).
func errorCode(body []byte) string {
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return ""
	}
	return e.Code
}

func TestWebhookVerify(t *testing.T) {
	s, _ := newWebhook(t)
	resp, err := s.Verify(t.Context(), testVerify, "1158201444")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || string(resp.Body) != "1158201444" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("Verify = %d %q (%s); want 200 with the challenge as text/plain",
			resp.Status, resp.Body, resp.Header.Get("Content-Type"))
	}

	refused := []struct{ name, token, challenge string }{
		{"wrong verify token", "verify-me-please!", "1158201444"},
		{"verify token prefix", "verify-me", "1158201444"},
		{"empty verify token", "", "1158201444"},
		{"empty challenge", testVerify, ""},
		{"challenge too long", testVerify, strings.Repeat("1", maxChallenge+1)},
		{"challenge with markup", testVerify, "<script>alert(1)</script>"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.Verify(t.Context(), tt.token, tt.challenge)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != 403 || errorCode(resp.Body) != codeVerifyRefused {
				t.Errorf("Verify(%q, %q) = %d %s; want 403 %s", tt.token, tt.challenge, resp.Status, resp.Body, codeVerifyRefused)
			}
		})
	}
}

func TestWebhookVerifyRequiresSubscribe(t *testing.T) {
	d, b := New(Options{Log: quiet}), testBinding()
	r := httptest.NewRequest(http.MethodGet, "/?hub.mode=unsubscribe&hub.verify_token="+testVerify+"&hub.challenge=42", nil)
	w := httptest.NewRecorder()
	d.ServeWebhook(w, r, b, &memSink{})
	if w.Code != 403 {
		t.Errorf("GET hub.mode=unsubscribe = %d; want 403", w.Code)
	}
}

func TestWebhookVerifyWithoutVerifyToken(t *testing.T) {
	d, b := New(Options{Log: quiet}), testBinding()
	b.Cred.VerifyToken = ""
	r := httptest.NewRequest(http.MethodGet, "/?hub.mode=subscribe&hub.verify_token=&hub.challenge=42", nil)
	w := httptest.NewRecorder()
	d.ServeWebhook(w, r, b, &memSink{})
	if w.Code != 403 {
		t.Errorf("GET with an empty verify token on both sides = %d; want 403", w.Code)
	}
}

func TestWebhookMessage(t *testing.T) {
	s, sink := newWebhook(t)
	resp, err := s.Message(t.Context(), testNumber, user, "Ada", "wamid.ID1", "hello there", sentAt)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 {
		t.Fatalf("Message = %d %s; want 200", resp.Status, resp.Body)
	}
	want := channels.Inbound{
		ChatID: user, SenderID: user, SenderName: "Ada", Text: "hello there",
		MsgID: "wamid.ID1", At: sentAt, ReplyTo: "wamid.ID1",
	}
	if got := sink.accepted(); len(got) != 1 || got[0] != want {
		t.Errorf("accepted %+v; want [%+v]", got, want)
	}
}

func TestWebhookSeveralMessages(t *testing.T) {
	s, sink := newWebhook(t)
	body := whatsapptest.NewPayload(testNumber, whatsapptest.Value{
		Contacts: []whatsapptest.Contact{
			{WaID: "111111111", Profile: whatsapptest.Profile{Name: "One"}},
			{WaID: "222222222", Profile: whatsapptest.Profile{Name: "Two"}},
		},
		Messages: []whatsapptest.Message{
			{From: "222222222", ID: "wamid.A", Timestamp: "1772357400", Type: "text", Text: &whatsapptest.Text{Body: "first"}},
			{From: "111111111", ID: "wamid.B", Timestamp: "1772357401", Type: "image"},
			{From: "111111111", ID: "wamid.C", Timestamp: "1772357402", Type: "reaction"},
			{From: "111111111", ID: "wamid.D", Timestamp: "not a time", Type: "text", Text: &whatsapptest.Text{Body: "second"}},
			{From: "111111111", ID: "", Timestamp: "1772357403", Type: "text", Text: &whatsapptest.Text{Body: "no id"}},
		},
	}).JSON()
	resp, err := s.Deliver(t.Context(), body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 {
		t.Fatalf("Deliver = %d %s; want 200", resp.Status, resp.Body)
	}
	want := []channels.Inbound{
		{ChatID: "222222222", SenderID: "222222222", SenderName: "Two", Text: "first", MsgID: "wamid.A",
			At: time.Unix(1772357400, 0).UTC(), ReplyTo: "wamid.A"},
		{ChatID: "111111111", SenderID: "111111111", SenderName: "One", Text: "second", MsgID: "wamid.D", ReplyTo: "wamid.D"},
	}
	got := sink.accepted()
	if len(got) != len(want) {
		t.Fatalf("accepted %+v; want %+v (text messages with ids only)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("accepted[%d] = %+v; want %+v", i, got[i], want[i])
		}
	}
}

func TestWebhookForged(t *testing.T) {
	body := whatsapptest.MessagePayload(testNumber, user, "Ada", "wamid.ID1", "hello", sentAt)
	other := whatsapptest.MessagePayload(testNumber, user, "Ada", "wamid.ID2", "hello", sentAt)
	good := whatsapptest.Sign(testSecret, body)
	tests := []struct {
		name, signature string
	}{
		{"missing header", ""},
		{"forged", "sha256=" + strings.Repeat("0", 64)},
		{"over a different body", whatsapptest.Sign(testSecret, other)},
		{"wrong secret", whatsapptest.Sign("fedcba9876543210fedcba9876543210", body)},
		{"no scheme", strings.TrimPrefix(good, "sha256=")},
		{"sha1 scheme", "sha1=" + strings.TrimPrefix(good, "sha256=")},
		{"truncated", good[:len(good)-2]},
		{"not hex", good[:len(good)-2] + "zz"},
		{"trailing data", good + "00"},
		{"empty after scheme", "sha256="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, sink := newWebhook(t)
			resp, err := s.Post(t.Context(), body, tt.signature)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != 401 || errorCode(resp.Body) != codeSignatureInvalid {
				t.Errorf("Post = %d %s; want 401 %s", resp.Status, resp.Body, codeSignatureInvalid)
			}
			if got := sink.accepted(); len(got) != 0 {
				t.Errorf("accepted %+v; want nothing", got)
			}
		})
	}
}

func TestWebhookWithoutAppSecret(t *testing.T) {
	d, b, sink := New(Options{Log: quiet}), testBinding(), &memSink{}
	b.Cred.AppSecret = ""
	body := whatsapptest.MessagePayload(testNumber, user, "Ada", "wamid.ID1", "hello", sentAt)
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("X-Hub-Signature-256", whatsapptest.Sign("", body))
	w := httptest.NewRecorder()
	d.ServeWebhook(w, r, b, sink)
	if w.Code != 401 || len(sink.accepted()) != 0 {
		t.Errorf("POST signed with an empty secret = %d, accepted %d; want 401, nothing", w.Code, len(sink.accepted()))
	}
}

func TestWebhookIgnores(t *testing.T) {
	tests := []struct {
		name string
		body []byte
	}{
		{"another phone number", whatsapptest.MessagePayload("999999999999999", user, "Ada", "wamid.ID1", "hello", sentAt)},
		{"statuses only", whatsapptest.StatusPayload(testNumber, "wamid.OUT1", user, "delivered", sentAt)},
		{"another object", []byte(`{"object":"page","entry":[]}`)},
		{"another field", []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"account_update",` +
			`"value":{"metadata":{"phone_number_id":"` + testNumber + `"},"messages":[{"from":"1","id":"wamid.X","type":"text","text":{"body":"x"}}]}}]}]}`)},
		{"empty object", []byte(`{}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, sink := newWebhook(t)
			resp, err := s.Deliver(t.Context(), tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != 200 {
				t.Errorf("Deliver = %d %s; want 200", resp.Status, resp.Body)
			}
			if got := sink.accepted(); len(got) != 0 {
				t.Errorf("accepted %+v; want nothing", got)
			}
		})
	}
}

func TestWebhookAcceptFails(t *testing.T) {
	s, sink := newWebhook(t)
	sink.fail(errors.New("store down"))
	resp, err := s.Message(t.Context(), testNumber, user, "Ada", "wamid.ID1", "hello", sentAt)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 503 || errorCode(resp.Body) != codeNotKept || bytes.Contains(resp.Body, []byte("store down")) {
		t.Errorf("Message with a failing sink = %d %s; want 503 %s without the cause", resp.Status, resp.Body, codeNotKept)
	}

	// Meta delivers it again; now it is kept.
	sink.fail(nil)
	resp, err = s.Message(t.Context(), testNumber, user, "Ada", "wamid.ID1", "hello", sentAt)
	if err != nil {
		t.Fatal(err)
	}
	if got := sink.accepted(); resp.Status != 200 || len(got) != 1 || got[0].MsgID != "wamid.ID1" {
		t.Errorf("redelivery = %d, accepted %+v; want 200 and wamid.ID1", resp.Status, got)
	}
}

func TestWebhookRedelivery(t *testing.T) {
	s, sink := newWebhook(t)
	body := whatsapptest.MessagePayload(testNumber, user, "Ada", "wamid.ID1", "hello", sentAt)
	for i := range 2 {
		resp, err := s.Deliver(t.Context(), body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 200 {
			t.Fatalf("delivery %d = %d %s; want 200", i+1, resp.Status, resp.Body)
		}
	}
	got := sink.accepted()
	if len(got) != 2 || got[0].MsgID != "wamid.ID1" || got[1] != got[0] {
		t.Errorf("accepted %+v; want the same message twice (the sink dedupes)", got)
	}
}

func TestWebhookTooLarge(t *testing.T) {
	// A real payload padded with whitespace past 1 MiB, correctly signed.
	body := append(whatsapptest.MessagePayload(testNumber, user, "Ada", "wamid.ID1", "hello", sentAt),
		bytes.Repeat([]byte(" "), maxBody)...)
	s, sink := newWebhook(t)
	resp, err := s.Deliver(t.Context(), body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 413 || errorCode(resp.Body) != codeTooLarge || len(sink.accepted()) != 0 {
		t.Errorf("Deliver(%d bytes) = %d %s, accepted %d; want 413, nothing", len(body), resp.Status, resp.Body, len(sink.accepted()))
	}

	// Without a Content-Length the limit holds while reading.
	d, b := New(Options{Log: quiet}), testBinding()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.ContentLength = -1
	r.Header.Set("X-Hub-Signature-256", whatsapptest.Sign(testSecret, body))
	w := httptest.NewRecorder()
	d.ServeWebhook(w, r, b, sink)
	if w.Code != 413 || len(sink.accepted()) != 0 {
		t.Errorf("chunked POST of %d bytes = %d, accepted %d; want 413, nothing", len(body), w.Code, len(sink.accepted()))
	}

	// Exactly 1 MiB is taken.
	body = body[:maxBody]
	if resp, err := s.Deliver(t.Context(), body); err != nil || resp.Status != 200 || len(sink.accepted()) != 1 {
		t.Errorf("Deliver(1 MiB) = %d, %v, accepted %d; want 200 and the message", resp.Status, err, len(sink.accepted()))
	}
}

func TestWebhookBadJSON(t *testing.T) {
	for _, body := range []string{"", "not json", "[]", "null", `{"object":`, `{"object":"whatsapp_business_account"} {}`,
		`{"object":"whatsapp_business_account","entry":"x"}`} {
		s, sink := newWebhook(t)
		resp, err := s.Deliver(t.Context(), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 400 || errorCode(resp.Body) != codeInvalidJSON || len(sink.accepted()) != 0 {
			t.Errorf("Deliver(%q) = %d %s; want 400 %s", body, resp.Status, resp.Body, codeInvalidJSON)
		}
	}
}

func TestWebhookMethod(t *testing.T) {
	d := New(Options{Log: quiet})
	w := httptest.NewRecorder()
	d.ServeWebhook(w, httptest.NewRequest(http.MethodPut, "/", nil), testBinding(), &memSink{})
	if w.Code != 405 || w.Header().Get("Allow") != "GET, POST" || errorCode(w.Body.Bytes()) != codeMethodNotAllowed {
		t.Errorf("PUT = %d %s (Allow %q); want 405", w.Code, w.Body, w.Header().Get("Allow"))
	}
}
