package telegram

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentbot/gateway/channels"
)

func TestDecodeUpdate(t *testing.T) {
	from := `"from": {"id": 5551, "is_bot": false, "first_name": "Ann", "last_name": "Lee", "username": "ann"}`
	chat := `"chat": {"id": -100777, "type": "supergroup", "title": "G"}`
	for _, tc := range []struct {
		name   string
		raw    string
		id     int64
		ok     bool
		sender string
		err    bool
	}{
		{name: "text", raw: `{"update_id": 9, "message": {"message_id": 3, "date": 1, ` + from + `, ` + chat + `, "text": "hi"}}`,
			id: 9, ok: true, sender: "Ann Lee"},
		{name: "username only", raw: `{"update_id": 9, "message": {"message_id": 3, "date": 1, "from": {"id": 1, "is_bot": false, "first_name": "", "username": "ann"}, ` + chat + `, "text": "hi"}}`,
			id: 9, ok: true, sender: "@ann"},
		// A message origin newer than the library: the text is still read.
		{name: "unknown union variant", raw: `{"update_id": 9, "message": {"message_id": 3, "date": 1, ` + from + `, ` + chat + `, "text": "fwd", "forward_origin": {"type": "hologram", "date": 1}}}`,
			id: 9, ok: true, sender: "Ann Lee"},
		{name: "from a bot", raw: `{"update_id": 9, "message": {"message_id": 3, "date": 1, "from": {"id": 2, "is_bot": true, "first_name": "B"}, ` + chat + `, "text": "hi"}}`, id: 9},
		{name: "no sender", raw: `{"update_id": 9, "message": {"message_id": 3, "date": 1, ` + chat + `, "text": "hi"}}`, id: 9},
		{name: "no text", raw: `{"update_id": 9, "message": {"message_id": 3, "date": 1, ` + from + `, ` + chat + `, "sticker": {}}}`, id: 9},
		{name: "edited", raw: `{"update_id": 9, "edited_message": {"message_id": 3, "date": 1, ` + from + `, ` + chat + `, "text": "hi"}}`, id: 9},
		{name: "no chat", raw: `{"update_id": 9, "message": {"message_id": 3, "date": 1, ` + from + `, "text": "hi"}}`, id: 9},
		{name: "text of the wrong type", raw: `{"update_id": 9, "message": {"message_id": 3, ` + from + `, ` + chat + `, "text": 5}}`, id: 9},
		{name: "message of the wrong type", raw: `{"update_id": 9, "message": "hi"}`, id: 9},
		{name: "no update_id", raw: `{"message": {}}`, err: true},
		{name: "update_id of the wrong type", raw: `{"update_id": "9"}`, err: true},
		{name: "negative update_id", raw: `{"update_id": -9}`, err: true},
		{name: "not an object", raw: `[]`, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := decodeUpdate([]byte(tc.raw))
			if (err != nil) != tc.err {
				t.Fatalf("decodeUpdate(%s) error = %v; want error %v", tc.raw, err, tc.err)
			}
			if u.id != tc.id || u.ok != tc.ok {
				t.Errorf("decodeUpdate(%s) = id %d, ok %v; want %d, %v", tc.raw, u.id, u.ok, tc.id, tc.ok)
			}
			if tc.ok && (u.in.SenderName != tc.sender || u.in.ChatID != "-100777" || u.in.MsgID != "-100777:3") {
				t.Errorf("decodeUpdate(%s) = %+v; want sender %q in -100777, message 3", tc.raw, u.in, tc.sender)
			}
		})
	}
}

// FuzzServeWebhook: whatever the body, an authenticated delivery never
// panics, is answered with one of the documented statuses, and accepts only
// complete messages.
func FuzzServeWebhook(f *testing.F) {
	for _, seed := range []string{
		update, ``, `null`, `{}`, `[]`, `"x"`, `{"update_id": 1}`, `{"update_id": 1, "message": null}`,
		`{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "from": {"id": 1}, "text": "x", "date": -1}}`,
		`{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "from": {"id": 1}, "text": "x", "reply_to_message": {"reply_to_message": {}}}}`,
		`{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "from": {"id": 1}, "text": "x", "forward_origin": {"type": "user"}}}`,
		`{"update_id": 1e400}`, `{"update_id": 1, "message": {"message_id": 99999999999999999999}}`,
		strings.Repeat(`{"a":`, 10000),
	} {
		f.Add([]byte(seed))
	}
	d := New(Options{})
	b := &channels.Binding{ID: "bnd_1", WebhookSecret: "secret"}
	f.Fuzz(func(t *testing.T, body []byte) {
		sink := newSink()
		r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		r.Header.Set(SecretHeader, "secret")
		w := httptest.NewRecorder()
		d.ServeWebhook(w, r, b, sink)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("ServeWebhook(%q) = %d", body, w.Code)
		}
		for _, in := range sink.accepted() {
			if w.Code != http.StatusOK || in.ChatID == "" || in.ChatID == "0" || in.SenderID == "" || in.Text == "" ||
				in.MsgID != in.ChatID+":"+in.ReplyTo {
				t.Fatalf("ServeWebhook(%q) = %d, accepted %+v", body, w.Code, in)
			}
		}
	})
}
