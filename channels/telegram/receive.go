package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/agentbot/gateway/channels"
)

// Bounds of Receive's waits.
const (
	// A failed poll (no answer, a 5xx) is retried after pollBackoff,
	// doubling up to maxPollBackoff; after maxPollFailures failures in a
	// row Receive returns the last one to its supervisor.
	pollBackoff     = 250 * time.Millisecond
	maxPollBackoff  = 5 * time.Second
	maxPollFailures = 8
	// maxRetryAfter caps how long a 429 on getUpdates makes Receive wait.
	maxRetryAfter = 10 * time.Minute
	// pollLimit is getUpdates' limit: Telegram's maximum.
	pollLimit = 100
)

// allowedUpdates: the driver only takes new messages, whichever way it
// receives.
var allowedUpdates = []string{"message"}

// Receive long-polls getUpdates for b until ctx ends (nil) or it fails.
//
// Each completed getUpdates call, with updates or without, is reported to
// sink.Alive, and nothing else is: the watchdog judges the session by it.
// Every update carrying a user's text message becomes a sink.Accept; once
// the whole batch is accepted, sink.SaveOffset gets the last update_id+1
// (past any other updates too), and only then does the next call confirm
// the batch to Telegram. A sink error wrapping channels.ErrFenced is
// returned at once, saving nothing; so is any other sink error, the
// updates then being asked for again by the next Receive. Receive starts
// at b.Offset and does not modify b.
//
// A 409 (another poller on this token, or a webhook set) is returned: the
// supervisor tries again after a pause. A 429 is waited out. No answer or a
// 5xx is retried after a short, growing pause, and returned after a few in
// a row. One call is bounded by PollTimeout+PollGrace, so a stalled
// connection ends.
//
// The loop is the driver's own rather than the library's poller
// (bot.Start), which offers neither a hook per completed call nor control
// of the offset: it advances its offset as it reads updates, before any
// handler has kept them, so a crash would lose them.
func (d *Driver) Receive(ctx context.Context, b *channels.Binding, sink channels.Sink) error {
	token := b.Cred.Token
	if !ValidToken(token) {
		return errMalformedToken
	}
	offset := b.Offset
	failures := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		batch, err := d.getUpdates(ctx, token, offset)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ce *callError
			if !errors.As(err, &ce) {
				return err
			}
			switch {
			case ce.Code == http.StatusConflict:
				return fmt.Errorf("telegram: getUpdates conflict: another poller uses this bot token, or a webhook is set: %w", ce)
			case ce.Code == http.StatusTooManyRequests:
				wait := min(time.Duration(max(1, ce.RetryAfter))*time.Second, maxRetryAfter)
				d.log.WarnContext(ctx, "telegram: getUpdates rate limited", "binding", b.ID, "retry_after", wait)
				if !sleep(ctx, wait) {
					return nil
				}
				continue
			case ce.Code == http.StatusUnauthorized || ce.Code == http.StatusNotFound:
				return ce.channelError()
			}
			failures++
			if failures >= maxPollFailures {
				return fmt.Errorf("telegram: getUpdates failed %d times in a row: %w", failures, ce)
			}
			wait := min(d.backoff<<(failures-1), d.maxBackoff)
			d.log.WarnContext(ctx, "telegram: getUpdates failed; retrying", "binding", b.ID, "err", ce, "retry_in", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		failures = 0
		sink.Alive(ctx)
		next, err := d.accept(ctx, b, batch, offset, sink)
		if err != nil {
			if errors.Is(err, channels.ErrFenced) || ctx.Err() == nil {
				return err
			}
			return nil
		}
		offset = next
	}
}

// accept hands a batch to sink and saves the offset after it, returning
// that offset (offset itself for an empty batch).
func (d *Driver) accept(ctx context.Context, b *channels.Binding, batch []json.RawMessage, offset int64, sink channels.Sink) (int64, error) {
	next := offset
	for _, raw := range batch {
		u, err := decodeUpdate(raw)
		if err != nil {
			// Telegram numbers every update; one without a number cannot be
			// skipped past, only reported.
			return offset, fmt.Errorf("telegram: getUpdates: %w", err)
		}
		next = max(next, u.id+1)
		if !u.ok {
			continue
		}
		if err := sink.Accept(ctx, u.in); err != nil {
			return offset, fmt.Errorf("telegram: accept update %d of binding %s: %w", u.id, b.ID, err)
		}
	}
	if next == offset {
		return offset, nil
	}
	if err := sink.SaveOffset(ctx, next); err != nil {
		return offset, fmt.Errorf("telegram: save offset %d of binding %s: %w", next, b.ID, err)
	}
	return next, nil
}

// getUpdatesParams are getUpdates' parameters.
type getUpdatesParams struct {
	Offset         int64    `json:"offset,omitempty"`
	Limit          int      `json:"limit"`
	Timeout        int      `json:"timeout"`
	AllowedUpdates []string `json:"allowed_updates"`
}

// apiResponse is a Bot API answer, with the result left raw.
type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// getUpdates makes one long poll, bounded by d.pollTimeout. The library
// has no exported call for it (nor a raw request helper), so this is a
// plain JSON POST; updates are decoded one by one (decodeUpdate).
func (d *Driver) getUpdates(ctx context.Context, token string, offset int64) ([]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, d.pollTimeout)
	defer cancel()
	body, err := json.Marshal(getUpdatesParams{Offset: offset, Limit: pollLimit, Timeout: d.pollSecs, AllowedUpdates: allowedUpdates})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.serverURL+"/bot"+token+"/getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, &callError{Method: "getUpdates", Err: redact(err, token)}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, &callError{Method: "getUpdates", Err: redact(err, token)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, &callError{Method: "getUpdates", Err: redact(err, token)}
	}
	if len(data) > maxResponse {
		return nil, &callError{Method: "getUpdates", Err: fmt.Errorf("answer over %d bytes (HTTP %d)", maxResponse, resp.StatusCode)}
	}
	var r apiResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, &callError{Method: "getUpdates", Err: fmt.Errorf("undecodable answer (HTTP %d): %w", resp.StatusCode, err)}
	}
	if !r.OK {
		e := &callError{Method: "getUpdates", Code: r.ErrorCode, Description: r.Description}
		if e.Code == 0 {
			e.Err = fmt.Errorf("HTTP %d without an error code", resp.StatusCode)
		}
		if r.Parameters != nil {
			e.RetryAfter = r.Parameters.RetryAfter
		}
		return nil, e
	}
	var batch []json.RawMessage
	if err := json.Unmarshal(r.Result, &batch); err != nil {
		return nil, &callError{Method: "getUpdates", Err: fmt.Errorf("result is not a list of updates: %w", err)}
	}
	return batch, nil
}

// sleep waits for d or ctx's end, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
