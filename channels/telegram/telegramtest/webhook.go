package telegramtest

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"time"
)

// A webhook delivery is tried hookAttempts times, waiting hookBackoff,
// then twice that, and so on, between tries; then the update stays pending
// (for getUpdates once the webhook is deleted) and the webhook moves on to
// the next one. Telegram itself keeps trying for much longer.
const (
	hookAttempts = 5
	hookBackoff  = 20 * time.Millisecond
)

// SecretHeader is the header that carries a webhook's secret_token.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// deliverLoop POSTs b's pending updates to its webhook, one at a time and
// in order, while one is set, until the server closes.
func (s *Server) deliverLoop(b *bot) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		u, hook, ok := b.nextDelivery()
		ch := b.changed
		if ok {
			b.inflight, b.again = u.id, false
		}
		s.mu.Unlock()
		if !ok {
			select {
			case <-ch:
				continue
			case <-s.ctx.Done():
				return
			}
		}
		delivered, current := s.deliver(b, u, hook)
		s.mu.Lock()
		switch {
		case delivered && !b.again:
			if i, found := slices.BinarySearch(b.pending, u.id); found {
				b.pending = slices.Delete(b.pending, i, i+1)
			}
		case !delivered && current:
			b.failed[u.id] = true
		}
		b.inflight = 0
		b.touch()
		s.mu.Unlock()
		if s.ctx.Err() != nil {
			return
		}
	}
}

// nextDelivery is the oldest pending update the webhook should get, if a
// webhook is set; s.mu is held.
func (b *bot) nextDelivery() (update, WebhookInfo, bool) {
	if b.webhook.URL == "" {
		return update{}, WebhookInfo{}, false
	}
	for _, id := range b.collectIDs(b.webhook.AllowedUpdates) {
		if !b.failed[id] {
			return b.history[id], b.webhook, true
		}
	}
	return update{}, WebhookInfo{}, false
}

// collectIDs drops pending updates of a kind outside allowed (when given)
// and returns the rest; s.mu is held.
func (b *bot) collectIDs(allowed []string) []int64 {
	if len(allowed) > 0 {
		b.pending = slices.DeleteFunc(b.pending, func(id int64) bool {
			return !slices.Contains(allowed, b.history[id].kind)
		})
	}
	return b.pending
}

// deliver POSTs u to hook, retrying non-2xx answers. delivered: some try
// got a 2xx. current: hook was still the bot's webhook at the end (false:
// the webhook was changed or deleted meanwhile, or the server is closing).
func (s *Server) deliver(b *bot, u update, hook WebhookInfo) (delivered, current bool) {
	wait := hookBackoff
	for attempt := range hookAttempts {
		if attempt > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return false, false
			}
			wait *= 2
		}
		s.mu.Lock()
		same := b.webhook.URL == hook.URL && b.webhook.Secret == hook.Secret
		s.mu.Unlock()
		if !same {
			return false, false
		}
		if s.post(hook, u) {
			return true, true
		}
	}
	return false, s.ctx.Err() == nil
}

// post makes one delivery; true on a 2xx answer.
func (s *Server) post(hook WebhookInfo, u update) bool {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, hook.URL, bytes.NewReader(u.raw))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	if hook.Secret != "" {
		req.Header.Set(SecretHeader, hook.Secret)
	}
	resp, err := s.hook.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}
