package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// SentMessage is one POST /channels/{id}/messages the fake took.
type SentMessage struct {
	ChannelID string
	Content   string
	// ReplyTo is message_reference.message_id ("" for none), and
	// FailIfNotExists its fail_if_not_exists.
	ReplyTo         string
	FailIfNotExists bool
	// Raw is the request body as sent.
	Raw json.RawMessage
}

// auth returns the account of the request's "Authorization: Bot <token>",
// or answers 401; s.mu is held.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) *bot {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bot ")
	if b := s.bots[token]; ok && b != nil {
		return b
	}
	writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401: Unauthorized", "code": 0})
	return nil
}

func (b *bot) user() map[string]any {
	return map[string]any{"id": b.id, "username": b.username, "discriminator": "0", "global_name": nil, "avatar": nil, "bot": b.isBot}
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.auth(w, r); b != nil {
		writeJSON(w, http.StatusOK, b.user())
	}
}

func (s *Server) getGatewayBot(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.auth(w, r); b != nil {
		writeJSON(w, http.StatusOK, map[string]any{
			"url":    s.GatewayURL(),
			"shards": 1,
			"session_start_limit": map[string]any{
				"total": 1000, "remaining": 1000 - b.identifies, "reset_after": 86_400_000, "max_concurrency": 1,
			},
		})
	}
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad body", "code": 50109})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.auth(w, r)
	if b == nil {
		return
	}
	channelID := r.PathValue("id")
	if len(b.failures) > 0 {
		status := b.failures[0]
		b.failures = b.failures[1:]
		writeJSON(w, status, map[string]any{"message": http.StatusText(status), "code": 0})
		return
	}
	if len(b.rateLimits) > 0 {
		rl := b.rateLimits[0]
		b.rateLimits = b.rateLimits[1:]
		scope := "user"
		if rl.global {
			w.Header().Set("X-RateLimit-Global", "true")
			scope = "global"
		}
		w.Header().Set("X-RateLimit-Scope", scope)
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(rl.after.Seconds()))))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "You are being rate limited.", "retry_after": rl.after.Seconds(), "global": rl.global})
		return
	}
	if b.forbidden[channelID] {
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "Missing Access", "code": 50001})
		return
	}
	var body struct {
		Content          string `json:"content"`
		MessageReference *struct {
			MessageID       string `json:"message_id"`
			FailIfNotExists *bool  `json:"fail_if_not_exists"`
		} `json:"message_reference"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "400: Bad Request", "code": 50109})
		return
	}
	if strings.TrimSpace(body.Content) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Cannot send an empty message", "code": 50006})
		return
	}
	if utf8.RuneCountInString(body.Content) > 2000 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid Form Body", "code": 50035})
		return
	}
	m := SentMessage{ChannelID: channelID, Content: body.Content, Raw: raw}
	msgType := 0
	if ref := body.MessageReference; ref != nil {
		m.ReplyTo = ref.MessageID
		// Discord's default for fail_if_not_exists is true.
		m.FailIfNotExists = ref.FailIfNotExists == nil || *ref.FailIfNotExists
		msgType = 19
	}
	b.sent = append(b.sent, m)
	s.notify()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": s.newID(), "channel_id": channelID, "content": body.Content, "type": msgType,
		"author": b.user(), "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"mentions": []any{}, "attachments": []any{}, "embeds": []any{},
	})
}

func (s *Server) postDMChannel(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || body.RecipientID == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid Form Body", "code": 50035})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.auth(w, r)
	if b == nil {
		return
	}
	id := b.dms[body.RecipientID]
	if id == "" {
		id = s.newID()
		b.dms[body.RecipientID] = id
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "type": 1,
		"recipients": []any{map[string]any{"id": body.RecipientID, "username": "user-" + body.RecipientID, "bot": false}},
	})
}

// Sent returns the messages the bot of token sent, oldest first.
func (s *Server) Sent(token string) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bot(token); b != nil {
		return append([]SentMessage(nil), b.sent...)
	}
	return nil
}

// WaitSent waits until the bot of token has sent at least n messages and
// returns them all, or ctx's error.
func (s *Server) WaitSent(ctx context.Context, token string, n int) ([]SentMessage, error) {
	var sent []SentMessage
	err := s.Wait(ctx, func() bool {
		sent = s.Sent(token)
		return len(sent) >= n
	})
	if err != nil {
		return sent, fmt.Errorf("discordtest: %d of %d messages sent: %w", len(sent), n, err)
	}
	return sent, nil
}

// RateLimit answers the bot's next n message sends with 429, retry_after
// (in the body, as float seconds, and rounded up in Retry-After) and the
// global flag.
func (s *Server) RateLimit(token string, n int, retryAfter time.Duration, global bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bot(token); b != nil {
		for range n {
			b.rateLimits = append(b.rateLimits, rateLimit{after: retryAfter, global: global})
		}
	}
}

// FailSends answers the bot's next n message sends with status (and a
// Discord error body), before any RateLimit.
func (s *Server) FailSends(token string, n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bot(token); b != nil {
		for range n {
			b.failures = append(b.failures, status)
		}
	}
}

// Forbid answers the bot's sends to channelID with 403 Missing Access.
func (s *Server) Forbid(token, channelID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bot(token); b != nil {
		b.forbidden[channelID] = true
	}
}
