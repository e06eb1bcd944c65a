package discord

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/agentbot/gateway/channels"
)

// messageEvent is the part of a MESSAGE_CREATE dispatch the driver reads.
// It is decoded here rather than into disgo's discord.Message, whose
// UnmarshalJSON panics on a top-level component that is not a container
// (a frame from the Gateway must never panic the driver).
type messageEvent struct {
	ID        string `json:"id"`
	ChannelID string `json:"channel_id"`
	GuildID   string `json:"guild_id"`
	Type      int    `json:"type"`
	Content   string `json:"content"`
	Timestamp string `json:"timestamp"`
	WebhookID string `json:"webhook_id"`
	Author    struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Bot      bool   `json:"bot"`
		System   bool   `json:"system"`
	} `json:"author"`
	Mentions []struct {
		ID string `json:"id"`
	} `json:"mentions"`
}

// Message types a person writes: DEFAULT and REPLY. The others are
// system notices (joins, pins, boosts, thread starts).
const (
	messageTypeDefault = 0
	messageTypeReply   = 19
)

// inbound reads a MESSAGE_CREATE for the bot self (its user id; empty if
// unknown). It keeps DMs and guild messages that mention the bot, written
// by a person (not a bot, the system or a webhook) with some text left
// once the bot's mention is taken out; everything else is not for the
// agent (ok false).
func inbound(data []byte, self string) (in channels.Inbound, ok bool) {
	var m messageEvent
	if err := json.Unmarshal(data, &m); err != nil {
		return channels.Inbound{}, false
	}
	if !isSnowflake(m.ID) || !isSnowflake(m.ChannelID) || !isSnowflake(m.Author.ID) {
		return channels.Inbound{}, false
	}
	if m.Type != messageTypeDefault && m.Type != messageTypeReply {
		return channels.Inbound{}, false
	}
	if m.Author.Bot || m.Author.System || m.WebhookID != "" || m.Author.ID == self {
		return channels.Inbound{}, false
	}
	if m.GuildID != "" && (self == "" || !mentions(m, self)) {
		return channels.Inbound{}, false
	}
	text := m.Content
	if self != "" {
		text = stripMention(text, self)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return channels.Inbound{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, m.Timestamp)
	if err != nil {
		at = time.Time{}
	}
	return channels.Inbound{
		ChatID:     m.ChannelID,
		SenderID:   m.Author.ID,
		SenderName: m.Author.Username,
		Text:       text,
		MsgID:      m.ID,
		At:         at,
		ReplyTo:    m.ID,
	}, true
}

// mentions reports whether m mentions the user id.
func mentions(m messageEvent, id string) bool {
	for _, u := range m.Mentions {
		if u.ID == id {
			return true
		}
	}
	return false
}

// stripMention removes every <@id> and <@!id> from s, with one space
// after it where it stood at the start or after a space, so that
// "<@1> hi" reads "hi" and "hey <@1> there" reads "hey there".
func stripMention(s, id string) string {
	for _, m := range [...]string{"<@" + id + ">", "<@!" + id + ">"} {
		for {
			i := strings.Index(s, m)
			if i < 0 {
				break
			}
			j := i + len(m)
			if j < len(s) && s[j] == ' ' && (i == 0 || s[i-1] == ' ') {
				j++
			}
			s = s[:i] + s[j:]
		}
	}
	return s
}
