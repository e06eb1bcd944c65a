package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"

	"github.com/agentbot/gateway/channels"
)

// messageCreate is the body of POST /channels/{id}/messages. It is ours,
// not disgo's discord.MessageCreate, whose message_reference drops
// fail_if_not_exists when false (Discord then defaults it to true) and
// whose allowed_mentions sends parse as null.
type messageCreate struct {
	Content          string            `json:"content"`
	MessageReference *messageReference `json:"message_reference,omitempty"`
	AllowedMentions  allowedMentions   `json:"allowed_mentions"`
}

type messageReference struct {
	MessageID       string `json:"message_id"`
	FailIfNotExists bool   `json:"fail_if_not_exists"`
}

// allowedMentions with an empty Parse pings nobody: agent text must not
// reach @everyone, roles or users by quoting their mention syntax.
type allowedMentions struct {
	Parse []string `json:"parse"`
}

// Send posts text to the channel chatID (a guild channel or a DM channel),
// as a reply to the message replyTo when set. A reply to a message that is
// gone is sent as a plain message.
func (d *Driver) Send(ctx context.Context, b *channels.Binding, chatID, text string, replyTo string) error {
	if !isSnowflake(chatID) {
		return &channels.Error{Code: channels.CodeChatUnreachable, Message: fmt.Sprintf("chat id %q is not a Discord channel id", chatID), Permanent: true}
	}
	if replyTo != "" && !isSnowflake(replyTo) {
		return &channels.Error{Code: channels.CodeRejected, Message: fmt.Sprintf("reply-to %q is not a Discord message id", replyTo), Permanent: true}
	}
	if strings.TrimSpace(text) == "" {
		return &channels.Error{Code: channels.CodeRejected, Message: "empty message", Permanent: true}
	}
	if n := utf8.RuneCountInString(text); n > maxText {
		return &channels.Error{Code: channels.CodeRejected, Message: fmt.Sprintf("message of %d characters, Discord takes at most %d", n, maxText), Permanent: true}
	}
	body := messageCreate{Content: text, AllowedMentions: allowedMentions{Parse: []string{}}}
	if replyTo != "" {
		body.MessageReference = &messageReference{MessageID: replyTo}
	}
	// chatID is all digits, so it cannot leave the route's path.
	err := d.rest.Do(rest.CreateMessage.Compile(nil, chatID), body, nil, rest.WithToken(discord.TokenTypeBot, b.Cred.Token), withCtx(ctx))
	if err != nil {
		return restError(ctx, "POST /channels/{id}/messages", err)
	}
	return nil
}

// isSnowflake reports whether s looks like a Discord id: 1–20 decimal digits.
func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// restError turns a failed disgo REST call into the channels error shape:
// 429 is a *channels.RetryAfter, 401 CodeCredentialRefused, 403 and 404
// CodeChatUnreachable, another 4xx CodeRejected (all permanent); 5xx and
// transport failures are CodeUnavailable. A call ended by ctx returns
// ctx's error.
func restError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("discord: %s: %w", what, ctx.Err())
	}
	var re rest.Error
	if !errors.As(err, &re) || re.Response == nil {
		return unavailable(what, err)
	}
	status := re.Response.StatusCode
	msg := fmt.Sprintf("%s: %d", what, status)
	if re.Message != "" {
		msg += " " + re.Message
	}
	if re.Code != 0 {
		msg += fmt.Sprintf(" (code %d)", re.Code)
	}
	switch {
	case status == http.StatusTooManyRequests:
		return retryAfter(re.Response.Header, re.RsBody)
	case status == http.StatusUnauthorized:
		return &channels.Error{Code: channels.CodeCredentialRefused, Message: msg, Permanent: true}
	case status == http.StatusForbidden || status == http.StatusNotFound:
		return &channels.Error{Code: channels.CodeChatUnreachable, Message: msg, Permanent: true}
	case status >= 400 && status < 500:
		return &channels.Error{Code: channels.CodeRejected, Message: msg, Permanent: true}
	default:
		return &channels.Error{Code: channels.CodeUnavailable, Message: msg}
	}
}

// maxRetryAfter caps a rate limit's wait, whatever the answer says.
const maxRetryAfter = time.Hour

// retryAfter reads a 429: the body's retry_after (float seconds) and
// global flag, else the Retry-After header; 1 s when neither says.
func retryAfter(h http.Header, body []byte) *channels.RetryAfter {
	var rl struct {
		RetryAfter *float64 `json:"retry_after"`
		Global     bool     `json:"global"`
	}
	_ = json.Unmarshal(body, &rl)
	ra := &channels.RetryAfter{
		After:  time.Second,
		Global: rl.Global || strings.EqualFold(h.Get("X-RateLimit-Global"), "true") || strings.EqualFold(h.Get("X-RateLimit-Scope"), "global"),
	}
	secs := math.NaN()
	if rl.RetryAfter != nil {
		secs = *rl.RetryAfter
	} else if v, err := strconv.ParseFloat(strings.TrimSpace(h.Get("Retry-After")), 64); err == nil {
		secs = v
	}
	switch {
	case math.IsNaN(secs):
	case secs <= 0:
		ra.After = 0
	case secs >= maxRetryAfter.Seconds():
		ra.After = maxRetryAfter
	default:
		ra.After = time.Duration(secs * float64(time.Second))
	}
	return ra
}
