package telegram

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/agentbot/gateway/channels"
)

// decoded is one update as the driver sees it: its number, and the
// message it carries when that is a user's text message (ok).
type decoded struct {
	id int64
	in channels.Inbound
	ok bool
}

// errNoUpdateID: the JSON is not an update.
var errNoUpdateID = errors.New("update without an update_id")

// decodeUpdate decodes one update with the library's types. Those fail on
// a whole update when one nested union holds a variant newer than the
// library (a new message origin type, say); the update is then read again
// with only the fields the driver uses, so that a text message is never
// lost to a field the driver does not need.
func decodeUpdate(raw []byte) (decoded, error) {
	var u models.Update
	if err := json.Unmarshal(raw, &u); err == nil {
		if u.ID <= 0 {
			return decoded{}, errNoUpdateID
		}
		d := decoded{id: u.ID}
		if m := u.Message; m != nil {
			var from *sender
			if m.From != nil {
				from = &sender{ID: m.From.ID, IsBot: m.From.IsBot, FirstName: m.From.FirstName,
					LastName: m.From.LastName, Username: m.From.Username}
			}
			d.in, d.ok = inbound(message{ID: int64(m.ID), From: from, Chat: chat{ID: m.Chat.ID},
				Date: int64(m.Date), Text: m.Text})
		}
		return d, nil
	}
	var lean struct {
		ID      int64    `json:"update_id"`
		Message *message `json:"message"`
	}
	if err := json.Unmarshal(raw, &lean); err != nil {
		// Even the message is malformed; the update may still be numbered.
		var id struct {
			ID int64 `json:"update_id"`
		}
		if json.Unmarshal(raw, &id) != nil || id.ID <= 0 {
			return decoded{}, errNoUpdateID
		}
		return decoded{id: id.ID}, nil
	}
	if lean.ID <= 0 {
		return decoded{}, errNoUpdateID
	}
	d := decoded{id: lean.ID}
	if lean.Message != nil {
		d.in, d.ok = inbound(*lean.Message)
	}
	return d, nil
}

// message holds the fields of a Telegram Message the driver uses.
type message struct {
	ID   int64   `json:"message_id"`
	From *sender `json:"from"`
	Chat chat    `json:"chat"`
	Date int64   `json:"date"`
	Text string  `json:"text"`
}

type sender struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

type chat struct {
	ID int64 `json:"id"`
}

// inbound is m as a channels.Inbound, if it is a text message from a
// person: messages from bots (other bots, the anonymous-admin bot) and
// messages without text (photos, stickers, service messages) are not.
//
// MsgID is "<chat id>:<message id>", since message ids are only unique in
// a chat; ReplyTo is the message id, which Send quotes. SenderName is the
// sender's first and last name, else their @username.
func inbound(m message) (channels.Inbound, bool) {
	if m.ID <= 0 || m.Chat.ID == 0 || m.From == nil || m.From.ID <= 0 || m.From.IsBot || m.Text == "" {
		return channels.Inbound{}, false
	}
	chatID := strconv.FormatInt(m.Chat.ID, 10)
	msgID := strconv.FormatInt(m.ID, 10)
	in := channels.Inbound{
		ChatID:     chatID,
		SenderID:   strconv.FormatInt(m.From.ID, 10),
		SenderName: strings.TrimSpace(m.From.FirstName + " " + m.From.LastName),
		Text:       m.Text,
		MsgID:      chatID + ":" + msgID,
		ReplyTo:    msgID,
	}
	if in.SenderName == "" && m.From.Username != "" {
		in.SenderName = "@" + m.From.Username
	}
	if m.Date > 0 {
		in.At = time.Unix(m.Date, 0).UTC()
	}
	return in, true
}
