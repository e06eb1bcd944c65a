package channels

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/agentbot/gateway/core/store"
)

// dispatch answers inbound messages on every node: it claims them (woken
// by a fresh message here, or every claim interval for messages accepted
// elsewhere and claims that expired), runs the agent, sends the reply and
// records the outcome; at most Workers at once.
func (s *Service) dispatch(ctx context.Context) {
	every := min(s.cfg.ClaimTTL/3, 2*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	slots := make(chan struct{}, s.cfg.Workers)
	var running int
	done := make(chan struct{}, s.cfg.Workers)
	defer func() {
		for ; running > 0; running-- {
			<-done
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		case <-done:
			running--
			<-slots
		}
		free := s.cfg.Workers - running
		if free == 0 {
			continue
		}
		refs, err := s.cfg.Store.ClaimChannelInbound(ctx, s.cfg.Node, time.Now().Add(s.cfg.ClaimTTL), free)
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Log.Warn("channels: claiming inbound messages", "err", err)
			}
			continue
		}
		for _, ref := range refs {
			slots <- struct{}{}
			running++
			go func() {
				defer func() { done <- struct{}{} }()
				s.answer(ctx, ref)
			}()
		}
		if len(refs) == free {
			s.poke() // there may be more
		}
	}
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// answer runs the agent on one claimed message and sends its reply, keeping
// the claim alive meanwhile; the outcome is recorded even if ctx ends.
func (s *Service) answer(ctx context.Context, ref store.InboundRef) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.renewClaim(ctx, ref, cancel)
	status, runID, msg := s.process(ctx, ref)
	if ctx.Err() != nil && status != store.InboundAnswered {
		return // shutting down or the claim was lost: whoever holds it next answers
	}
	rec, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer done()
	if err := s.cfg.Store.FinishChannelInbound(rec, ref, s.cfg.Node, status, runID, msg); err != nil {
		s.cfg.Log.Warn("channels: recording an answer", "binding", ref.BindingID, "msg", ref.MsgID, "err", err)
	}
	// A chat's next message waits for this one; look for it now.
	s.poke()
}

func (s *Service) renewClaim(ctx context.Context, ref store.InboundRef, lost context.CancelFunc) {
	t := time.NewTicker(s.cfg.ClaimTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := s.cfg.Store.RenewChannelInbound(ctx, ref, s.cfg.Node, time.Now().Add(s.cfg.ClaimTTL))
		if err == nil && !ok {
			lost()
			return
		}
	}
}

// maxAttempts bounds how often one message is tried: a message whose
// answering keeps killing its node is given up.
const maxAttempts = 3

// process decides and does what a message needs; it returns the outcome.
func (s *Service) process(ctx context.Context, ref store.InboundRef) (status, runID, msg string) {
	m, err := s.cfg.Store.ChannelInbound(ctx, ref.UserID, ref.BindingID, ref.MsgID)
	if err != nil {
		return store.InboundFailed, "", err.Error()
	}
	if m.Attempts > maxAttempts {
		return store.InboundFailed, "", fmt.Sprintf("given up after %d attempts", maxAttempts)
	}
	sb, err := s.cfg.Store.ChannelBinding(ctx, ref.UserID, ref.BindingID)
	if err != nil {
		return store.InboundFailed, "", err.Error()
	}
	if len(sb.AllowFrom) > 0 && !slices.Contains(sb.AllowFrom, m.SenderID) {
		return store.InboundIgnored, "", "the sender is not on the binding's allow list"
	}
	if limit := s.cfg.ChatPerMinute; limit > 0 {
		n, err := s.cfg.Store.RecentChannelInbound(ctx, ref.UserID, ref.BindingID, m.ChatID, m.ReceivedAt.Add(-time.Minute), m.ReceivedAt)
		if err != nil {
			return store.InboundFailed, "", err.Error()
		}
		if n > int64(limit) {
			return store.InboundIgnored, "", fmt.Sprintf("this chat sent more than %d messages in a minute", limit)
		}
	}
	d, ok := s.drivers[sb.Kind]
	if !ok {
		return store.InboundFailed, "", "no driver for " + sb.Kind
	}
	if w, ok := d.(Windowed); ok && m.SentAt != nil && time.Since(*m.SentAt) > w.Window() {
		e := &Error{Code: CodeWindowClosed, Permanent: true,
			Message: fmt.Sprintf("the message is older than the channel's %s reply window; a free-form reply is not allowed", w.Window())}
		s.recordSendError(ctx, sb, e)
		return store.InboundFailed, "", e.Error()
	}
	if m.Body == "" {
		return store.InboundIgnored, "", "empty message"
	}
	reply, err := s.cfg.Run(ctx, ref.UserID, m.AgentID, topic(sb.Kind, m.ChatID), m.Body)
	if reply != nil {
		runID = reply.RunID
	}
	switch {
	case errors.Is(err, ErrAgentNotRunning):
		return store.InboundFailed, runID, "the agent is not running"
	case err != nil:
		return store.InboundFailed, runID, err.Error()
	case reply == nil || reply.Text == "":
		return store.InboundAnswered, runID, "the agent had nothing to say"
	}
	b, err := s.open(sb)
	if err != nil {
		return store.InboundFailed, runID, err.Error()
	}
	if err := s.send(ctx, d, b, m.ChatID, reply.Text, m.ReplyTo); err != nil {
		s.recordSendError(ctx, sb, err)
		return store.InboundFailed, runID, err.Error()
	}
	return store.InboundAnswered, runID, ""
}

// topic is the conversation of one chat.
func topic(kind, chatID string) string {
	t := kind + ":" + chatID
	for utf8.RuneCountInString(t) > 100 {
		t = t[:len(t)-1]
	}
	return t
}

func (s *Service) recordSendError(ctx context.Context, sb *store.ChannelBinding, err error) {
	if rerr := s.cfg.Store.SetChannelError(context.WithoutCancel(ctx), sb.UserID, sb.ID, err.Error()); rerr != nil {
		s.cfg.Log.Warn("channels: recording a send error", "binding", sb.ID, "err", rerr)
	}
}

// send sends a reply to a chat, split at the channel's limit, the first
// part quoting the message it answers; it waits out rate limits (this
// chat's pacing, a bot-wide 429) up to MaxRetryWait in all.
func (s *Service) send(ctx context.Context, d Driver, b *Binding, chatID, text, replyTo string) error {
	deadline := time.Now().Add(s.cfg.MaxRetryWait)
	for i, part := range Split(text, d.MaxText()) {
		quote := ""
		if i == 0 {
			quote = replyTo
		}
		for {
			if err := s.pace(ctx, b, chatID, deadline); err != nil {
				return err
			}
			err := d.Send(ctx, b, chatID, part, quote)
			s.sent(b, chatID)
			var ra *RetryAfter
			if !errors.As(err, &ra) {
				if err != nil {
					return err
				}
				break
			}
			wait := max(ra.After, 100*time.Millisecond)
			if time.Now().Add(wait).After(deadline) {
				return &Error{Code: CodeUnavailable, Message: fmt.Sprintf("rate limited by %s for longer than %s", b.Kind, s.cfg.MaxRetryWait)}
			}
			s.mu.Lock()
			if ra.Global {
				s.paused[b.ID] = time.Now().Add(wait)
			} else {
				s.lastSent[b.ID+"\x00"+chatID] = time.Now().Add(wait - s.cfg.ChatInterval[b.Kind])
			}
			s.mu.Unlock()
		}
	}
	return nil
}

// pace waits until the bot is not throttled and the chat's interval since
// its last message has passed.
func (s *Service) pace(ctx context.Context, b *Binding, chatID string, deadline time.Time) error {
	s.mu.Lock()
	until := s.paused[b.ID]
	if last, ok := s.lastSent[b.ID+"\x00"+chatID]; ok {
		if next := last.Add(s.cfg.ChatInterval[b.Kind]); next.After(until) {
			until = next
		}
	}
	s.mu.Unlock()
	wait := time.Until(until)
	if wait <= 0 {
		return nil
	}
	if time.Now().Add(wait).After(deadline) {
		return &Error{Code: CodeUnavailable, Message: fmt.Sprintf("rate limited by %s for longer than %s", b.Kind, s.cfg.MaxRetryWait)}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

func (s *Service) sent(b *Binding, chatID string) {
	key := b.ID + "\x00" + chatID
	s.mu.Lock()
	defer s.mu.Unlock()
	if last := s.lastSent[key]; last.Before(time.Now()) {
		s.lastSent[key] = time.Now()
	}
	if len(s.lastSent) > 10000 { // forget chats idle for a while
		for k, t := range s.lastSent {
			if time.Since(t) > time.Minute {
				delete(s.lastSent, k)
			}
		}
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
