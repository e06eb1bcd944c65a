package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-telegram/bot"

	"github.com/agentbot/gateway/channels"
)

// callError is a failed Bot API call: Telegram's {ok:false} answer (Code
// and Description, with parameters), or no usable answer at all (Code 0,
// Err). Its text never holds the token.
type callError struct {
	Method      string
	Code        int
	Description string
	RetryAfter  int   // parameters.retry_after, seconds
	Migrated    bool  // parameters.migrate_to_chat_id was set
	Err         error // no usable answer: the transport's or decoder's error
}

func (e *callError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("telegram: %s: %v", e.Method, e.Err)
	}
	return fmt.Sprintf("telegram: %s: %d %s", e.Method, e.Code, e.Description)
}

func (e *callError) Unwrap() error { return e.Err }

// libraryError turns an error of github.com/go-telegram/bot into a
// callError. The library keeps Telegram's error_code only as one of its
// sentinels, with the description after ", ".
func libraryError(method, token string, err error) *callError {
	e := &callError{Method: method}
	var tooMany *bot.TooManyRequestsError
	var migrate *bot.MigrateError
	switch {
	case errors.As(err, &tooMany):
		e.Code, e.RetryAfter, e.Description = http.StatusTooManyRequests, tooMany.RetryAfter, tooMany.Message
		return e
	case errors.As(err, &migrate):
		e.Code, e.Migrated, e.Description = http.StatusBadRequest, true, migrate.Message
		return e
	}
	for _, s := range []struct {
		code int
		err  error
	}{
		{http.StatusBadRequest, bot.ErrorBadRequest},
		{http.StatusUnauthorized, bot.ErrorUnauthorized},
		{http.StatusForbidden, bot.ErrorForbidden},
		{http.StatusNotFound, bot.ErrorNotFound},
		{http.StatusConflict, bot.ErrorConflict},
	} {
		if errors.Is(err, s.err) {
			e.Code = s.code
			e.Description = strings.TrimPrefix(err.Error(), s.err.Error()+", ")
			return e
		}
	}
	e.Err = redact(err, token)
	return e
}

// chatGone are the 400 descriptions that mean the bot cannot post in the
// chat at all (rather than that this message is wrong).
var chatGone = []string{
	"chat not found", "user not found", "peer_id_invalid", "chat_write_forbidden",
	"have no rights to send", "not enough rights", "need administrator rights",
	"bot was kicked", "chat is deactivated", "group chat was deactivated",
	"chat_restricted", "upgraded to a supergroup",
}

// channelError is e as the channels contract has it: a rate limit is a
// *channels.RetryAfter for the whole bot, a refusal a *channels.Error.
func (e *callError) channelError() error {
	lower := strings.ToLower(e.Description)
	switch {
	case e.Code == http.StatusTooManyRequests:
		return &channels.RetryAfter{After: time.Duration(max(1, e.RetryAfter)) * time.Second, Global: true}
	case e.Code == http.StatusUnauthorized || e.Code == http.StatusNotFound:
		// Telegram answers 404 for a token it does not know the shape of.
		return &channels.Error{Code: channels.CodeCredentialRefused, Message: "Telegram refused the bot token: " + e.Description, Permanent: true}
	case e.Code == http.StatusForbidden:
		return &channels.Error{Code: channels.CodeChatUnreachable, Message: e.Description, Permanent: true}
	case e.Code == http.StatusBadRequest && (e.Migrated || containsAny(lower, chatGone)):
		return &channels.Error{Code: channels.CodeChatUnreachable, Message: e.Description, Permanent: true}
	case e.Code == http.StatusBadRequest:
		return &channels.Error{Code: channels.CodeRejected, Message: e.Description, Permanent: true}
	default: // no answer, 5xx, and anything Telegram is not expected to answer
		return &channels.Error{Code: channels.CodeUnavailable, Message: e.Error()}
	}
}

// fail is the error a call made with ctx returns: the caller's own
// cancellation as such, anything else as the channels contract has it.
func (d *Driver) fail(ctx context.Context, e *callError) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("telegram: %s: %w", e.Method, err)
	}
	return e.channelError()
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// redacted is an error whose text has the bot token masked; it unwraps to
// the original (for errors.Is(err, context.DeadlineExceeded) and such).
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// redact masks token in err's text. A transport error (*url.Error, whose
// URL holds the token) is copied with the URL masked, so that not even an
// unwrapped error shows it.
func redact(err error, token string) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) && err == error(ue) {
		masked := *ue
		masked.URL = strings.ReplaceAll(ue.URL, token, "<token>")
		if !strings.Contains(masked.Error(), token) {
			return &masked
		}
	}
	return &redacted{msg: strings.ReplaceAll(err.Error(), token, "<token>"), err: err}
}

// limitedClient bounds the answers the library reads (it reads them
// whole).
type limitedClient struct{ c *http.Client }

func (l limitedClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := l.c.Do(r)
	if err != nil {
		return nil, err
	}
	resp.Body = limitedBody{Reader: io.LimitReader(resp.Body, maxResponse), Closer: resp.Body}
	return resp, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}
