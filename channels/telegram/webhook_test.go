package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/agentbot/gateway/channels"
)

// update is a Telegram update carrying a text message from a person.
const update = `{"update_id": 100001, "message": {"message_id": 7, "date": 1700000000,
	"from": {"id": 5551, "is_bot": false, "first_name": "Ann", "username": "ann"},
	"chat": {"id": 5551, "type": "private"}, "text": "hello"}}`

func serveOnce(d *Driver, b *channels.Binding, sink channels.Sink, method, secret, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/api/channels/telegram/bnd_1", strings.NewReader(body))
	if secret != "" {
		r.Header.Set(SecretHeader, secret)
	}
	w := httptest.NewRecorder()
	d.ServeWebhook(w, r, b, sink)
	return w
}

func TestServeWebhook(t *testing.T) {
	d := New(Options{})
	b := &channels.Binding{ID: "bnd_1", WebhookSecret: "s3cret_-Token"}

	sink := newSink()
	w := serveOnce(d, b, sink, http.MethodPost, b.WebhookSecret, update)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("good delivery: %d %q; want an empty 200", w.Code, w.Body)
	}
	want := channels.Inbound{ChatID: "5551", SenderID: "5551", SenderName: "Ann", Text: "hello",
		MsgID: "5551:7", ReplyTo: "7", At: sink.accepted()[0].At}
	if got := sink.accepted(); len(got) != 1 || got[0] != want || got[0].At.Unix() != 1700000000 {
		t.Errorf("accepted %+v; want %+v at 1700000000", got, want)
	}

	big := `{"update_id": 1, "message": {"text": "` + strings.Repeat("a", maxWebhookBody) + `"}}`
	for _, tc := range []struct {
		name   string
		b      *channels.Binding
		method string
		secret string
		body   string
		status int
		code   string
	}{
		{"forged secret", b, http.MethodPost, "s3cret_-Tokem", update, 401, "WEBHOOK_SIGNATURE_INVALID"},
		{"longer secret", b, http.MethodPost, b.WebhookSecret + "x", update, 401, "WEBHOOK_SIGNATURE_INVALID"},
		{"missing secret", b, http.MethodPost, "", update, 401, "WEBHOOK_SIGNATURE_INVALID"},
		{"binding without secret", &channels.Binding{}, http.MethodPost, "", update, 401, "WEBHOOK_SIGNATURE_INVALID"},
		{"binding without secret, any header", &channels.Binding{}, http.MethodPost, "x", update, 401, "WEBHOOK_SIGNATURE_INVALID"},
		{"GET", b, http.MethodGet, b.WebhookSecret, "", 405, "METHOD_NOT_ALLOWED"},
		{"bad JSON", b, http.MethodPost, b.WebhookSecret, `{"update_id":`, 400, "INVALID_JSON"},
		{"not an object", b, http.MethodPost, b.WebhookSecret, `[1,2]`, 400, "INVALID_JSON"},
		{"no update_id", b, http.MethodPost, b.WebhookSecret, `{"message":{}}`, 400, "INVALID_JSON"},
		{"too big", b, http.MethodPost, b.WebhookSecret, big, 413, "PAYLOAD_TOO_LARGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := newSink()
			w := serveOnce(d, tc.b, sink, tc.method, tc.secret, tc.body)
			var body struct{ Error, Code string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != tc.status || body.Code != tc.code || body.Error == "" {
				t.Errorf("ServeWebhook = %d %s; want %d with code %s", w.Code, w.Body, tc.status, tc.code)
			}
			if n := len(sink.accepted()); n != 0 {
				t.Errorf("%d messages accepted; want none", n)
			}
		})
	}

	t.Run("accept fails", func(t *testing.T) {
		sink := newSink()
		sink.accept = func(int, channels.Inbound) error { return errors.New("database down") }
		w := serveOnce(d, b, sink, http.MethodPost, b.WebhookSecret, update)
		if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "database") ||
			!strings.Contains(w.Body.String(), `"WEBHOOK_NOT_KEPT"`) {
			t.Errorf("ServeWebhook with a failing sink = %d %s; want 503 WEBHOOK_NOT_KEPT without the cause", w.Code, w.Body)
		}
	})
	t.Run("not a text message", func(t *testing.T) {
		sink := newSink()
		body := `{"update_id": 5, "edited_message": {"message_id": 7, "date": 1, "chat": {"id": 1}, "text": "x"}}`
		if w := serveOnce(d, b, sink, http.MethodPost, b.WebhookSecret, body); w.Code != http.StatusOK {
			t.Errorf("ServeWebhook(edited message) = %d; want 200", w.Code)
		}
		if n := len(sink.accepted()); n != 0 {
			t.Errorf("%d accepted; want none", n)
		}
	})
}

// hookServer serves d's webhook for b on 127.0.0.1.
func hookServer(t *testing.T, d *Driver, b *channels.Binding, sink channels.Sink) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.ServeWebhook(w, r, b, sink)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api/channels/telegram/" + b.ID
}

func TestWebhookEndToEnd(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sink := newSink()
	url := hookServer(t, f.d, f.b, sink)

	if err := f.d.SetWebhook(ctx, f.b, url); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	hook := f.tg.Webhook(f.token)
	if hook.URL != url || hook.Secret != f.b.WebhookSecret || hook.MaxConnections != 40 || !slices.Equal(hook.AllowedUpdates, []string{"message"}) {
		t.Errorf("webhook %+v; want %s with the binding's secret, 40 connections, message updates", hook, url)
	}

	id := f.tg.UserMessage(f.token, 5551, 5551, "via webhook")
	first := sink.waitAccepted(t, 1)[0]
	if first.Text != "via webhook" || first.MsgID != "5551:1" {
		t.Errorf("accepted %+v", first)
	}
	waitUntil(t, "the delivery to be acknowledged", func() bool { return f.tg.Pending(f.token) == 0 })

	// A redelivery reaches the sink again with the same MsgID.
	f.tg.Redeliver(f.token, id)
	if got := sink.waitAccepted(t, 2); got[1] != first {
		t.Errorf("redelivery accepted as %+v; want %+v", got[1], first)
	}
	waitUntil(t, "the redelivery to be acknowledged", func() bool { return f.tg.Pending(f.token) == 0 })

	// A 503 makes Telegram deliver again.
	sink.mu.Lock()
	sink.accept = func(n int, _ channels.Inbound) error {
		if n == 2 {
			return errors.New("busy")
		}
		return nil
	}
	sink.mu.Unlock()
	f.tg.UserMessage(f.token, 5551, 5551, "retried")
	if got := sink.waitAccepted(t, 3); got[2].Text != "retried" {
		t.Errorf("accepted %+v; want the retried message", got[2])
	}

	// A forged delivery is refused and accepts nothing.
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(update))
	req.Header.Set(SecretHeader, "forged")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged delivery: %d; want 401", resp.StatusCode)
	}
	if n := len(sink.accepted()); n != 3 {
		t.Errorf("%d accepted after the forged delivery; want 3", n)
	}

	// Back to polling: updates the webhook could not deliver are kept.
	sink.mu.Lock()
	sink.accept = func(int, channels.Inbound) error { return errors.New("down") }
	sink.mu.Unlock()
	kept := f.tg.UserMessage(f.token, 5551, 5551, "kept")
	// Accept calls so far: the first, the redelivery, the refused and the
	// retried one; then the fake's five tries at "kept".
	waitUntil(t, "the webhook to give up", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.calls >= 4+5
	})
	if err := f.d.DeleteWebhook(ctx, f.b); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	if hook := f.tg.Webhook(f.token); hook.URL != "" {
		t.Errorf("webhook still %q after DeleteWebhook", hook.URL)
	}
	polled := newSink()
	startReceive(t, f.d, f.b, polled)
	polled.waitOffset(t, kept+1)
	if got := polled.accepted(); len(got) != 1 || got[0].Text != "kept" {
		t.Errorf("polled %+v; want the undelivered message", got)
	}
}

func TestSetWebhookRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		secret string
		url    string
		code   string
	}{
		{"no secret", "", "http://127.0.0.1/hook", channels.CodeRejected},
		{"bad secret", "a b", "http://127.0.0.1/hook", channels.CodeRejected},
		{"no url", "ok", "", channels.CodeRejected},
		{"url Telegram refuses", "ok", "not a url", channels.CodeRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := *f.b
			b.WebhookSecret = tc.secret
			ce := asChannelError(t, f.d.SetWebhook(ctx, &b, tc.url))
			if ce.Code != tc.code || !ce.Permanent {
				t.Errorf("SetWebhook = %+v; want permanent %s", ce, tc.code)
			}
		})
	}
	if hook := f.tg.Webhook(f.token); hook.URL != "" {
		t.Errorf("a refused SetWebhook left webhook %q", hook.URL)
	}
	f.tg.FailNext(f.token, "deleteWebhook", 1, 401, "Unauthorized")
	ce := asChannelError(t, f.d.DeleteWebhook(ctx, f.b))
	if ce.Code != channels.CodeCredentialRefused {
		t.Errorf("DeleteWebhook after 401 = %+v; want %s", ce, channels.CodeCredentialRefused)
	}
}
