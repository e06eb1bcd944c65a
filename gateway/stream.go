package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/sdk/provider"
)

// pump runs a streaming call and hands its chunks to onData on the calling
// goroutine, in order, the moment they arrive. Until the first data chunk it
// calls onIdle every keepAlive. It returns the usage reported and the failure,
// if any: a chunk carrying an error, an onData or onIdle error (an *api.Error
// as it is, any other as the client having gone), or a dispatch error.
func (g *Gateway) pump(ctx context.Context, d Dispatcher, req *provider.InvokeRequest,
	onData func(json.RawMessage) error, onIdle func() error) (provider.Usage, *api.Error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan *provider.Chunk, 8)
	errc := make(chan error, 1)
	go func() {
		defer close(chunks)
		errc <- d.InvokeStream(ctx, req, func(ch *provider.Chunk) error {
			select {
			case chunks <- ch:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	keepAlive := time.NewTicker(g.keepAlive())
	defer keepAlive.Stop()
	waiting := keepAlive.C
	var (
		usage  provider.Usage
		failed *api.Error
		buf    bytes.Buffer
	)
	for {
		select {
		case ch, ok := <-chunks:
			if !ok {
				if err := <-errc; err != nil && failed == nil {
					failed = callError(err)
				}
				return usage, failed
			}
			if ch.Usage != nil {
				usage = mergeUsage(usage, *ch.Usage)
			}
			if failed != nil {
				continue // draining after a failure
			}
			if ch.Error != nil {
				failed = pluginError(ch.Error)
				cancel()
				continue
			}
			if len(ch.Data) == 0 {
				continue
			}
			buf.Reset()
			if err := json.Compact(&buf, ch.Data); err != nil {
				failed = &api.Error{Status: http.StatusBadGateway, Code: api.CodePluginError, Message: "The provider sent malformed data"}
				cancel()
				continue
			}
			waiting = nil // keepalives only until the first chunk
			if err := onData(buf.Bytes()); err != nil {
				failed = writeFailure(err)
				cancel()
			}
		case <-waiting:
			if err := onIdle(); err != nil {
				failed, waiting = writeFailure(err), nil
				cancel()
			}
		}
	}
}

// writeFailure is the failure of a stream whose writer returned err: the
// answer it carries, or the client having gone.
func writeFailure(err error) *api.Error {
	var e *api.Error
	if errors.As(err, &e) {
		return e
	}
	return callError(context.Canceled)
}

// sse writes server-sent events, committing the headers lazily so that a
// failure before any output can still be an ordinary JSON error.
type sse struct {
	w http.ResponseWriter
	// open, if set, runs once just before the headers are committed (a
	// machine payment settles there, its receipt going out with them); its
	// error ends the stream with nothing sent.
	open    func() error
	openErr error
	started bool
	// delivered records that some of the call's output reached the client:
	// from then on the call is charged, whatever happens next.
	delivered bool
}

func (s *sse) commit() error {
	if s.started {
		return nil
	}
	if s.openErr != nil {
		return s.openErr
	}
	if s.open != nil {
		if s.openErr = s.open(); s.openErr != nil {
			return s.openErr
		}
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *sse) event(name string, data []byte) error {
	if err := s.commit(); err != nil {
		return err
	}
	return writeEvent(s.w, name, data)
}

// content writes an unnamed event carrying the call's output.
func (s *sse) content(data json.RawMessage) error {
	if err := s.event("", data); err != nil {
		return err
	}
	s.delivered = true
	return nil
}

func (s *sse) keepAlive() error {
	if err := s.commit(); err != nil {
		return err
	}
	if _, err := s.w.Write([]byte(": keepalive\n\n")); err == nil {
		flush(s.w)
	}
	return nil
}

// stream answers a streaming call as text/event-stream: each chunk is written
// and flushed the moment it arrives; keepalive comments are sent while waiting
// for the first; a failure after output has begun travels as an "error" event.
// The call is charged once a chunk has reached the client, even if the stream
// then fails or the client leaves; it is refunded only if nothing did.
func (g *Gateway) stream(w http.ResponseWriter, r *http.Request, d Dispatcher, req *provider.InvokeRequest,
	c *payments.Request, pay *paid, start time.Time) error {
	out := &sse{w: w, open: g.prepay(w, r, c, pay)}
	usage, failed := g.pump(r.Context(), d, req, out.content, out.keepAlive)
	if failed != nil && r.Context().Err() != nil {
		failed = callError(context.Canceled)
	}
	g.finish(r.Context(), c, pay, failed, out.delivered, usage, start)
	if failed != nil {
		if !out.started {
			return failed
		}
		body := map[string]any{"error": failed.Message, "code": failed.Code, "request_id": api.RequestID(r.Context())}
		for k, v := range failed.Fields {
			body[k] = v
		}
		b, _ := json.Marshal(body)
		_ = out.event("error", b)
		return nil
	}
	done, _ := json.Marshal(map[string]any{"plugin": c.Target, "usage": usageJSON(usage), "payment": paymentJSON(pay),
		"timestamp": g.now().Format(time.RFC3339Nano)})
	_ = out.event("usage", done)
	_ = out.event("", []byte("[DONE]"))
	return nil
}

func writeEvent(w http.ResponseWriter, event string, data []byte) error {
	var b bytes.Buffer
	if event != "" {
		b.WriteString("event: ")
		b.WriteString(event)
		b.WriteByte('\n')
	}
	b.WriteString("data: ")
	b.Write(data)
	b.WriteString("\n\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	flush(w)
	return nil
}

func mergeUsage(a, b provider.Usage) provider.Usage {
	a.InputTokens += b.InputTokens
	a.OutputTokens += b.OutputTokens
	a.CostMicroUSD += b.CostMicroUSD
	if b.Model != "" {
		a.Model = b.Model
	}
	return a
}

func usageJSON(u provider.Usage) map[string]any {
	return map[string]any{"inputTokens": u.InputTokens, "outputTokens": u.OutputTokens,
		"totalTokens": u.InputTokens + u.OutputTokens, "model": u.Model}
}
