package discord

import (
	"testing"
	"time"
)

func TestStripMention(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<@42> hi", "hi"},
		{"<@!42> hi", "hi"},
		{"hey <@42> there", "hey there"},
		{"hey <@42>", "hey "},
		{"<@42><@!42>x", "x"},
		{"<@420> hi", "<@420> hi"},
		{"<@4> hi", "<@4> hi"},
		{"a<@42>b", "ab"},
		{"no mention", "no mention"},
	} {
		if got := stripMention(tc.in, "42"); got != tc.want {
			t.Errorf("stripMention(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestInbound(t *testing.T) {
	const self = "42"
	dm := `{"id":"100","channel_id":"200","type":0,"content":"hello","timestamp":"2025-01-02T03:04:05.678000+00:00","author":{"id":"300","username":"ann"}}`
	in, ok := inbound([]byte(dm), self)
	if !ok {
		t.Fatalf("inbound(DM) not ok")
	}
	if in.ChatID != "200" || in.SenderID != "300" || in.SenderName != "ann" || in.Text != "hello" || in.MsgID != "100" || in.ReplyTo != "100" {
		t.Errorf("inbound(DM) = %+v", in)
	}
	if want := time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, time.UTC); !in.At.Equal(want) {
		t.Errorf("inbound(DM).At = %v; want %v", in.At, want)
	}

	for _, tc := range []struct {
		name, data string
		want       bool
		text       string
	}{
		{"guild with mention", `{"id":"1","channel_id":"2","guild_id":"9","content":"<@42> yo","author":{"id":"3"},"mentions":[{"id":"42"}]}`, true, "yo"},
		{"reply type", `{"id":"1","channel_id":"2","type":19,"content":"yo","author":{"id":"3"}}`, true, "yo"},
		{"guild without mention", `{"id":"1","channel_id":"2","guild_id":"9","content":"yo","author":{"id":"3"},"mentions":[{"id":"7"}]}`, false, ""},
		{"guild, mention text only", `{"id":"1","channel_id":"2","guild_id":"9","content":"<@42> yo","author":{"id":"3"}}`, false, ""},
		{"own message", `{"id":"1","channel_id":"2","content":"yo","author":{"id":"42"}}`, false, ""},
		{"another bot", `{"id":"1","channel_id":"2","content":"yo","author":{"id":"3","bot":true}}`, false, ""},
		{"system", `{"id":"1","channel_id":"2","content":"yo","author":{"id":"3","system":true}}`, false, ""},
		{"webhook", `{"id":"1","channel_id":"2","content":"yo","webhook_id":"5","author":{"id":"3"}}`, false, ""},
		{"join notice", `{"id":"1","channel_id":"2","type":7,"content":"yo","author":{"id":"3"}}`, false, ""},
		{"only a mention", `{"id":"1","channel_id":"2","guild_id":"9","content":"<@42>","author":{"id":"3"},"mentions":[{"id":"42"}]}`, false, ""},
		{"empty (no content intent)", `{"id":"1","channel_id":"2","content":"","author":{"id":"3"}}`, false, ""},
		{"numeric id", `{"id":1,"channel_id":"2","content":"yo","author":{"id":"3"}}`, false, ""},
		{"channel not a snowflake", `{"id":"1","channel_id":"../x","content":"yo","author":{"id":"3"}}`, false, ""},
		{"no author", `{"id":"1","channel_id":"2","content":"yo"}`, false, ""},
		{"null", `null`, false, ""},
		{"array", `[]`, false, ""},
		{"components", `{"id":"1","channel_id":"2","content":"yo","author":{"id":"3"},"components":[{"type":2}]}`, true, "yo"},
		{"bad timestamp", `{"id":"1","channel_id":"2","content":"yo","author":{"id":"3"},"timestamp":"yesterday"}`, true, "yo"},
	} {
		in, ok := inbound([]byte(tc.data), self)
		if ok != tc.want || in.Text != tc.text {
			t.Errorf("inbound(%s) = %+v, %v; want ok %v, text %q", tc.name, in, ok, tc.want, tc.text)
		}
	}

	if _, ok := inbound([]byte(`{"id":"1","channel_id":"2","guild_id":"9","content":"<@42> yo","author":{"id":"3"},"mentions":[{"id":"42"}]}`), ""); ok {
		t.Errorf("inbound(guild message, bot id unknown) ok; want ignored")
	}
}
