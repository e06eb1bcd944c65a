package telegram

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/agentbot/gateway/channels"
)

// Send sends text to chatID (a chat id, negative for groups, or a
// channel's @username) as plain text: no parse_mode, since the agent's text
// is not trusted markup. replyTo, when it is a message id (Inbound.ReplyTo,
// or an Inbound.MsgID "<chat>:<message>"), is quoted if that message still
// exists (allow_sending_without_reply); any other replyTo is ignored.
//
// A 429 is a *channels.RetryAfter with Global set: Telegram throttles the
// whole bot. A chat the bot cannot post in (400 "chat not found", 403 "bot
// was blocked by the user", a group upgraded to a supergroup, …) is a
// permanent *channels.Error CodeChatUnreachable; a refused token
// CodeCredentialRefused; any other 400 CodeRejected; no answer or a 5xx
// CodeUnavailable, not permanent.
func (d *Driver) Send(ctx context.Context, b *channels.Binding, chatID, text string, replyTo string) error {
	if !ValidToken(b.Cred.Token) {
		return errMalformedToken
	}
	chat, ok := parseChat(chatID)
	if !ok {
		return &channels.Error{Code: channels.CodeChatUnreachable, Message: "not a Telegram chat id: " + strconv.Quote(chatID), Permanent: true}
	}
	if strings.TrimSpace(text) == "" {
		return &channels.Error{Code: channels.CodeRejected, Message: "message text is empty", Permanent: true}
	}
	if n := len(utf16.Encode([]rune(text))); n > MaxText {
		return &channels.Error{Code: channels.CodeRejected,
			Message: "message is too long: " + strconv.Itoa(n) + " UTF-16 units, at most " + strconv.Itoa(MaxText), Permanent: true}
	}
	params := &bot.SendMessageParams{ChatID: chat, Text: text}
	if id, ok := parseReplyTo(replyTo); ok {
		params.ReplyParameters = &models.ReplyParameters{MessageID: id, AllowSendingWithoutReply: true}
	}
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := d.api(b.Cred.Token).SendMessage(callCtx, params); err != nil {
		return d.fail(ctx, libraryError("sendMessage", b.Cred.Token, err))
	}
	return nil
}

// parseChat is chatID as sendMessage's chat_id: an int64, or an
// @username.
func parseChat(chatID string) (any, bool) {
	if id, err := strconv.ParseInt(chatID, 10, 64); err == nil && id != 0 {
		return id, true
	}
	if name, ok := strings.CutPrefix(chatID, "@"); ok && len(name) >= 4 && len(name) <= 32 && isWord(name) {
		return chatID, true
	}
	return nil, false
}

// parseReplyTo is the message id in replyTo: "<message id>" or
// "<chat id>:<message id>".
func parseReplyTo(replyTo string) (int, bool) {
	if i := strings.LastIndexByte(replyTo, ':'); i >= 0 {
		replyTo = replyTo[i+1:]
	}
	id, err := strconv.ParseInt(replyTo, 10, 32)
	if err != nil || id <= 0 {
		return 0, false
	}
	return int(id), true
}

// isWord: only A-Z a-z 0-9 _.
func isWord(s string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
