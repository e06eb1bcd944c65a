package whatsapp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agentbot/gateway/channels/whatsapp/whatsapptest"
)

// FuzzWebhook posts arbitrary bodies with a valid signature: the webhook
// never panics, answers 200 or 400 only (the sink never fails here), and
// hands over only complete text messages.
func FuzzWebhook(f *testing.F) {
	f.Add(whatsapptest.MessagePayload(testNumber, user, "Ada", "wamid.ID1", "hello", sentAt))
	f.Add(whatsapptest.StatusPayload(testNumber, "wamid.OUT1", user, "read", sentAt))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":` +
		`{"phone_number_id":"` + testNumber + `"},"contacts":[],"messages":[{"from":"1","id":"w","timestamp":"99999999999999999999",` +
		`"type":"text","text":{"body":"\u0000"}}]}}]}]}`))
	f.Add([]byte(`{"entry":[{"changes":[{"value":{"messages":[{"text":7}]}}]}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte{})
	d, b := New(Options{Log: quiet}), testBinding()
	f.Fuzz(func(t *testing.T, body []byte) {
		sink := &memSink{}
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("X-Hub-Signature-256", whatsapptest.Sign(testSecret, body))
		w := httptest.NewRecorder()
		d.ServeWebhook(w, r, b, sink)
		if w.Code != 200 && w.Code != 400 {
			t.Fatalf("POST %q = %d %s; want 200 or 400", body, w.Code, w.Body)
		}
		for _, in := range sink.accepted() {
			if in.ChatID == "" || in.SenderID != in.ChatID || in.MsgID == "" || in.ReplyTo != in.MsgID || in.Text == "" {
				t.Fatalf("POST %q accepted %+v; want a complete text message", body, in)
			}
		}
		if w.Code != 200 && len(sink.accepted()) != 0 {
			t.Fatalf("POST %q = %d yet accepted %d messages", body, w.Code, len(sink.accepted()))
		}
	})
}
