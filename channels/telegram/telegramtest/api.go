package telegramtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
)

// Telegram's own descriptions of the failures the fake answers.
const (
	descUnauthorized   = "Unauthorized"
	descNotFound       = "Not Found"
	descOtherPoller    = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
	descWebhookActive  = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
	descSetWebhook     = "Conflict: terminated by setWebhook request"
	descChatNotFound   = "Bad Request: chat not found"
	descBlocked        = "Forbidden: bot was blocked by the user"
	descEmptyText      = "Bad Request: message text is empty"
	descTooLong        = "Bad Request: message is too long"
	descReplyNotFound  = "Bad Request: message to be replied not found"
	descBadParseMode   = "Bad Request: unsupported parse_mode"
	descBadSecret      = "Bad Request: secret token contains unallowed characters"
	descBadWebhookURL  = "Bad Request: bad webhook: invalid URL"
	descBadMaxConns    = "Bad Request: bad webhook: max_connections must be between 1 and 100"
	descChatIDEmpty    = "Bad Request: chat_id is empty"
	maxPollTimeoutSecs = 50 // Telegram caps a long poll near this
	maxTextUnits       = 4096
)

// methods are the Bot API methods the fake answers, by their lower-case
// name (Telegram matches method names without regard to case).
var methods = map[string]string{
	"getme":          "getMe",
	"getupdates":     "getUpdates",
	"sendmessage":    "sendMessage",
	"setwebhook":     "setWebhook",
	"deletewebhook":  "deleteWebhook",
	"getwebhookinfo": "getWebhookInfo",
}

// apiError is a {ok:false} answer.
type apiError struct {
	code       int
	desc       string
	retryAfter int
}

// serveHTTP answers /bot<token>/<method>.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || token == "" || method == "" || strings.Contains(method, "/") {
		writeError(w, &apiError{code: http.StatusNotFound, desc: descNotFound})
		return
	}
	p, err := parseParams(w, r)
	if err != nil {
		writeError(w, &apiError{code: http.StatusBadRequest, desc: "Bad Request: " + err.Error()})
		return
	}

	s.mu.Lock()
	b, ok := s.bots[token]
	if !ok {
		s.mu.Unlock()
		writeError(w, &apiError{code: http.StatusUnauthorized, desc: descUnauthorized})
		return
	}
	name, known := methods[strings.ToLower(method)]
	if !known {
		name = method
	}
	b.calls[name]++
	if f := b.faults[name]; len(f) > 0 {
		b.faults[name] = f[1:]
		s.mu.Unlock()
		writeError(w, &apiError{code: f[0].code, desc: f[0].desc, retryAfter: f[0].retryAfter})
		return
	}
	var (
		result any
		desc   string
		e      *apiError
	)
	switch name {
	case "getMe":
		result = map[string]any{
			"id": b.id, "is_bot": true, "first_name": b.username, "username": b.username,
			"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
		}
	case "getUpdates":
		var answered bool
		result, e, answered = s.getUpdates(r.Context(), b, p)
		if !answered {
			s.mu.Unlock()
			return // the client left, or the server is closing
		}
	case "sendMessage":
		result, e = b.sendMessage(p)
	case "setWebhook":
		result, desc, e = b.setWebhook(p)
	case "deleteWebhook":
		result, desc = b.deleteWebhook(p)
	case "getWebhookInfo":
		result = map[string]any{
			"url": b.webhook.URL, "has_custom_certificate": false, "pending_update_count": len(b.pending),
			"max_connections": b.webhook.MaxConnections, "allowed_updates": b.webhook.AllowedUpdates,
		}
	default:
		e = &apiError{code: http.StatusNotFound, desc: descNotFound}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeOK(w, result, desc)
}

// getUpdates answers one long poll. s.mu is held on entry and on return,
// and released while the call waits. answered is false when nothing is to
// be written (the client gave up, or the server is closing).
func (s *Server) getUpdates(ctx context.Context, b *bot, p params) (result any, e *apiError, answered bool) {
	offset, err := p.int64("offset")
	if err != nil {
		return nil, badRequest(err), true
	}
	limit, err := p.int64("limit")
	if err != nil {
		return nil, badRequest(err), true
	}
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, err := p.int64("timeout")
	if err != nil {
		return nil, badRequest(err), true
	}
	timeout = min(max(timeout, 0), maxPollTimeoutSecs)
	var allowed []string
	if err := p.json("allowed_updates", &allowed); err != nil {
		return nil, badRequest(err), true
	}
	b.offsets = append(b.offsets, offset)

	// A stalled call is a dead connection: it never reaches the poller
	// logic, so it cannot end another poller.
	for b.stall {
		ch := b.changed
		s.mu.Unlock()
		select {
		case <-ch:
			s.mu.Lock()
		case <-ctx.Done():
			s.mu.Lock()
			b.abandoned++
			return nil, nil, false
		case <-s.ctx.Done():
			s.mu.Lock()
			return nil, nil, false
		}
	}
	if b.webhook.URL != "" {
		b.conflicts++
		return nil, &apiError{code: http.StatusConflict, desc: descWebhookActive}, true
	}
	if b.poller != nil {
		b.poller.reason = descOtherPoller
		close(b.poller.kill)
	}
	me := &poller{kill: make(chan struct{})}
	b.poller = me
	defer func() {
		if b.poller == me {
			b.poller = nil
		}
	}()
	if offset > 0 {
		b.confirmBelow(offset)
	}

	timer := time.NewTimer(time.Duration(timeout) * time.Second)
	defer timer.Stop()
	expired := timeout == 0
	for {
		if b.poller != me { // ended by a newer poller or setWebhook
			b.conflicts++
			return nil, &apiError{code: http.StatusConflict, desc: me.reason}, true
		}
		if ups := b.collect(offset, int(limit), allowed); len(ups) > 0 || expired {
			b.polls++
			return ups, nil, true
		}
		ch := b.changed
		s.mu.Unlock()
		select {
		case <-ch:
			s.mu.Lock()
		case <-timer.C:
			s.mu.Lock()
			expired = true
		case <-me.kill: // answered at the top of the loop
			s.mu.Lock()
		case <-ctx.Done():
			s.mu.Lock()
			b.abandoned++
			return nil, nil, false
		case <-s.ctx.Done():
			s.mu.Lock()
			return nil, nil, false
		}
	}
}

// confirmBelow forgets the updates before offset; s.mu is held.
func (b *bot) confirmBelow(offset int64) {
	i, _ := slices.BinarySearch(b.pending, offset)
	for _, id := range b.pending[:i] {
		delete(b.failed, id)
	}
	b.pending = slices.Delete(b.pending, 0, i)
}

// collect returns up to limit pending updates from offset on. Updates of a
// kind outside allowed (when given) are dropped, as Telegram never makes
// them for a bot that does not ask for them. s.mu is held.
func (b *bot) collect(offset int64, limit int, allowed []string) []json.RawMessage {
	ups := []json.RawMessage{}
	for _, id := range b.collectIDs(allowed) {
		if id < offset {
			continue
		}
		if len(ups) == limit {
			break
		}
		ups = append(ups, b.history[id].raw)
	}
	return ups
}

// sendMessage records a message the bot sends; s.mu is held.
func (b *bot) sendMessage(p params) (any, *apiError) {
	if !p.has("chat_id") || p["chat_id"] == "" {
		return nil, &apiError{code: http.StatusBadRequest, desc: descChatIDEmpty}
	}
	chatID, err := p.int64("chat_id")
	if err != nil || !b.chats[chatID] {
		// The fake knows no @usernames.
		return nil, &apiError{code: http.StatusBadRequest, desc: descChatNotFound}
	}
	text := p["text"]
	switch {
	case strings.TrimSpace(text) == "":
		return nil, &apiError{code: http.StatusBadRequest, desc: descEmptyText}
	case len(utf16.Encode([]rune(text))) > maxTextUnits:
		return nil, &apiError{code: http.StatusBadRequest, desc: descTooLong}
	}
	mode := p["parse_mode"]
	switch mode {
	case "", "HTML", "Markdown", "MarkdownV2":
	default:
		return nil, &apiError{code: http.StatusBadRequest, desc: descBadParseMode}
	}
	if b.blocked[chatID] {
		return nil, &apiError{code: http.StatusForbidden, desc: descBlocked}
	}
	var reply struct {
		MessageID                int64 `json:"message_id"`
		AllowSendingWithoutReply bool  `json:"allow_sending_without_reply"`
	}
	if err := p.json("reply_parameters", &reply); err != nil {
		return nil, badRequest(err)
	}
	if reply.MessageID == 0 { // the older spelling
		if reply.MessageID, err = p.int64("reply_to_message_id"); err != nil {
			return nil, badRequest(err)
		}
		reply.AllowSendingWithoutReply = reply.AllowSendingWithoutReply || p.bool("allow_sending_without_reply")
	}
	replyExists := reply.MessageID > 0 && reply.MessageID <= b.nextMsg[chatID]
	if reply.MessageID != 0 && !replyExists && !reply.AllowSendingWithoutReply {
		return nil, &apiError{code: http.StatusBadRequest, desc: descReplyNotFound}
	}

	b.nextMsg[chatID]++
	msgID := b.nextMsg[chatID]
	b.sent = append(b.sent, SentMessage{ChatID: chatID, MessageID: msgID, Text: text, ReplyTo: reply.MessageID,
		AllowWithoutReply: reply.AllowSendingWithoutReply, ParseMode: mode})
	b.touch()
	now := time.Now().Unix()
	msg := map[string]any{
		"message_id": msgID,
		"from":       map[string]any{"id": b.id, "is_bot": true, "first_name": b.username, "username": b.username},
		"chat":       chatObject(chatID),
		"date":       now,
		"text":       text,
	}
	if replyExists {
		msg["reply_to_message"] = map[string]any{"message_id": reply.MessageID, "chat": chatObject(chatID), "date": now}
	}
	return msg, nil
}

// setWebhook sets (or, with an empty url, removes) the webhook; s.mu is
// held.
func (b *bot) setWebhook(p params) (any, string, *apiError) {
	raw := p["url"]
	if raw == "" {
		result, desc := b.deleteWebhook(p)
		return result, desc, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", &apiError{code: http.StatusBadRequest, desc: descBadWebhookURL}
	}
	secret := p["secret_token"]
	if p.has("secret_token") && !validSecret(secret) {
		return nil, "", &apiError{code: http.StatusBadRequest, desc: descBadSecret}
	}
	maxConns, err := p.int64("max_connections")
	if err != nil {
		return nil, "", badRequest(err)
	}
	if maxConns == 0 {
		maxConns = 40
	}
	if maxConns < 1 || maxConns > 100 {
		return nil, "", &apiError{code: http.StatusBadRequest, desc: descBadMaxConns}
	}
	var allowed []string
	if err := p.json("allowed_updates", &allowed); err != nil {
		return nil, "", badRequest(err)
	}
	if p.bool("drop_pending_updates") {
		b.dropPending()
	}
	if b.poller != nil {
		b.poller.reason = descSetWebhook
		close(b.poller.kill)
		b.poller = nil
	}
	clear(b.failed) // a new webhook gets another chance at everything pending
	b.webhook = WebhookInfo{URL: raw, Secret: secret, MaxConnections: int(maxConns), AllowedUpdates: allowed}
	b.touch()
	return true, "Webhook was set", nil
}

// deleteWebhook removes the webhook, keeping pending updates unless asked
// to drop them; s.mu is held.
func (b *bot) deleteWebhook(p params) (any, string) {
	if p.bool("drop_pending_updates") {
		b.dropPending()
	}
	was := b.webhook.URL != ""
	b.webhook = WebhookInfo{}
	b.touch()
	if !was {
		return true, "Webhook is already deleted"
	}
	return true, "Webhook was deleted"
}

// dropPending forgets every pending update; s.mu is held.
func (b *bot) dropPending() {
	b.pending = nil
	clear(b.failed)
}

// validSecret: 1–256 characters of A-Z a-z 0-9 _ -.
func validSecret(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func badRequest(err error) *apiError {
	return &apiError{code: http.StatusBadRequest, desc: "Bad Request: " + err.Error()}
}

// writeOK writes {ok:true, result[, description]}.
func writeOK(w http.ResponseWriter, result any, description string) {
	body := map[string]any{"ok": true, "result": result}
	if description != "" {
		body["description"] = description
	}
	writeJSON(w, http.StatusOK, body)
}

// writeError writes {ok:false, error_code, description[, parameters]} with
// error_code as the HTTP status, as Telegram does.
func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"ok": false, "error_code": e.code, "description": e.desc}
	if e.retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": e.retryAfter}
	}
	writeJSON(w, e.code, body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	buf, err := json.Marshal(body)
	if err != nil {
		panic("telegramtest: answer not JSON: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf)
}
