package telegram

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/channels"
	"github.com/agentbot/gateway/channels/telegram/telegramtest"
)

func TestSend(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const user, group = int64(5551), int64(-1001234567890)
	f.tg.UserMessage(f.token, user, user, "hi") // message 1 in the private chat
	f.tg.AddChat(f.token, group)

	markup := "<b>not bold</b> *nor this* [x](http://e.com)"
	if err := f.d.Send(ctx, f.b, "5551", markup, "1"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := f.d.Send(ctx, f.b, "-1001234567890", "to the group", ""); err != nil {
		t.Fatalf("Send(group): %v", err)
	}
	// A reply to a message that is gone is still sent, unquoted.
	if err := f.d.Send(ctx, f.b, "5551", "late reply", "5551:99"); err != nil {
		t.Fatalf("Send(reply to a missing message): %v", err)
	}
	// A text of exactly MaxText UTF-16 units (emoji take two).
	long := strings.Repeat("😀", MaxText/2)
	if err := f.d.Send(ctx, f.b, "5551", long, "not-an-id"); err != nil {
		t.Fatalf("Send(%d UTF-16 units): %v", MaxText, err)
	}

	want := []telegramtest.SentMessage{
		{ChatID: user, MessageID: 2, Text: markup, ReplyTo: 1, AllowWithoutReply: true},
		{ChatID: group, MessageID: 1, Text: "to the group"},
		{ChatID: user, MessageID: 3, Text: "late reply", ReplyTo: 99, AllowWithoutReply: true},
		{ChatID: user, MessageID: 4, Text: long},
	}
	got := f.tg.Sent(f.token)
	if len(got) != len(want) {
		t.Fatalf("sent %d messages; want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sent[%d] = %+v; want %+v", i, got[i], want[i])
		}
	}
}

func TestSendRateLimited(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.tg.AddChat(f.token, 42)
	f.tg.RateLimit(f.token, 1, 7)

	err := f.d.Send(ctx, f.b, "42", "hello", "")
	var ra *channels.RetryAfter
	if !errors.As(err, &ra) {
		t.Fatalf("Send while rate limited = %v (%T); want *channels.RetryAfter", err, err)
	}
	if ra.After != 7*time.Second || !ra.Global {
		t.Errorf("RetryAfter = %+v; want 7s, global", ra)
	}
	if n := len(f.tg.Sent(f.token)); n != 0 {
		t.Errorf("a rate-limited send was recorded (%d sent)", n)
	}
	if err := f.d.Send(ctx, f.b, "42", "hello", ""); err != nil {
		t.Fatalf("Send after the limit: %v", err)
	}
}

func TestSendRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.tg.AddChat(f.token, 42)
	f.tg.AddChat(f.token, 43)
	f.tg.Block(f.token, 43, true)

	for _, tc := range []struct {
		name      string
		fault     func()
		chat      string
		text      string
		code      string
		permanent bool
	}{
		{name: "chat not found", chat: "77", text: "x", code: channels.CodeChatUnreachable, permanent: true},
		{name: "blocked", chat: "43", text: "x", code: channels.CodeChatUnreachable, permanent: true},
		{name: "kicked", chat: "42", text: "x", code: channels.CodeChatUnreachable, permanent: true,
			fault: func() {
				f.tg.FailNext(f.token, "sendMessage", 1, 403, "Forbidden: bot was kicked from the supergroup chat")
			}},
		{name: "migrated", chat: "42", text: "x", code: channels.CodeChatUnreachable, permanent: true,
			fault: func() {
				f.tg.FailNext(f.token, "sendMessage", 1, 400, "Bad Request: group chat was upgraded to a supergroup chat")
			}},
		{name: "other 400", chat: "42", text: "x", code: channels.CodeRejected, permanent: true,
			fault: func() { f.tg.FailNext(f.token, "sendMessage", 1, 400, "Bad Request: can't parse entities") }},
		{name: "401", chat: "42", text: "x", code: channels.CodeCredentialRefused, permanent: true,
			fault: func() { f.tg.FailNext(f.token, "sendMessage", 1, 401, "Unauthorized") }},
		{name: "500", chat: "42", text: "x", code: channels.CodeUnavailable, permanent: false,
			fault: func() { f.tg.FailNext(f.token, "sendMessage", 1, 500, "Internal Server Error") }},
		{name: "empty text", chat: "42", text: " \n", code: channels.CodeRejected, permanent: true},
		{name: "too long", chat: "42", text: strings.Repeat("😀", MaxText/2) + "!", code: channels.CodeRejected, permanent: true},
		{name: "bad chat id", chat: "../getMe", text: "x", code: channels.CodeChatUnreachable, permanent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != nil {
				tc.fault()
			}
			err := f.d.Send(ctx, f.b, tc.chat, tc.text, "")
			ce := asChannelError(t, err)
			if ce.Code != tc.code || ce.Permanent != tc.permanent {
				t.Errorf("Send = %+v; want %s, permanent %v", ce, tc.code, tc.permanent)
			}
		})
	}
	if n := len(f.tg.Sent(f.token)); n != 0 {
		t.Errorf("%d refused messages were recorded as sent", n)
	}
	// Nothing the driver itself refused reached Telegram: one call per
	// case that the fake answered.
	if n := f.tg.Calls(f.token, "sendMessage"); n != 7 {
		t.Errorf("sendMessage calls = %d; want 7", n)
	}

	t.Run("bad token", func(t *testing.T) {
		b := *f.b
		b.Cred.Token = "123:abc"
		ce := asChannelError(t, f.d.Send(ctx, &b, "42", "x", ""))
		if ce.Code != channels.CodeCredentialRefused || !ce.Permanent {
			t.Errorf("Send(bad token) = %+v; want permanent %s", ce, channels.CodeCredentialRefused)
		}
	})
	t.Run("no server", func(t *testing.T) {
		d := New(Options{ServerURL: "http://127.0.0.1:1"})
		ce := asChannelError(t, d.Send(ctx, f.b, "42", "x", ""))
		if ce.Code != channels.CodeUnavailable || ce.Permanent {
			t.Errorf("Send(no server) = %+v; want transient %s", ce, channels.CodeUnavailable)
		}
	})
}

func TestSendBadGateway(t *testing.T) {
	// A proxy's 502 page is not a Bot API answer: transient.
	srv := newStatusServer(t, http.StatusBadGateway, "<html>502 Bad Gateway</html>")
	d := New(Options{ServerURL: srv})
	b := &channels.Binding{Cred: channels.Credential{Token: testToken(1)}}
	ce := asChannelError(t, d.Send(context.Background(), b, "42", "x", ""))
	if ce.Code != channels.CodeUnavailable || ce.Permanent {
		t.Errorf("Send(502 page) = %+v; want transient %s", ce, channels.CodeUnavailable)
	}
}
