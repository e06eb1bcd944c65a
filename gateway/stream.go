package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/sdk/provider"
)

// pump runs a streaming call and hands its chunks to onData on the calling
// goroutine, in order, the moment they arrive. Until the first data chunk it
// calls onIdle every keepAlive. It returns the usage reported and the failure,
// if any: a chunk carrying an error, an onData error, or a dispatch error.
func (g *Gateway) pump(ctx context.Context, d Dispatcher, req *provider.InvokeRequest,
	onData func(json.RawMessage) error, onIdle func()) (provider.Usage, *api.Error) {
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
				failed = &api.Error{Status: http.StatusBadGateway, Code: "PLUGIN_ERROR", Message: "The provider sent malformed data"}
				cancel()
				continue
			}
			waiting = nil // keepalives only until the first chunk
			if err := onData(buf.Bytes()); err != nil {
				failed = callError(context.Canceled)
				cancel()
			}
		case <-waiting:
			onIdle()
		}
	}
}

// sse writes server-sent events, committing the headers lazily so that a
// failure before any output can still be an ordinary JSON error.
type sse struct {
	w       http.ResponseWriter
	started bool
}

func (s *sse) commit() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

func (s *sse) event(name string, data []byte) error {
	s.commit()
	return writeEvent(s.w, name, data)
}

func (s *sse) keepAlive() {
	s.commit()
	if _, err := s.w.Write([]byte(": keepalive\n\n")); err == nil {
		flush(s.w)
	}
}

// stream answers a streaming call as text/event-stream: each chunk is written
// and flushed the moment it arrives; keepalive comments are sent while waiting
// for the first; a failure after output has begun travels as an "error" event.
func (g *Gateway) stream(w http.ResponseWriter, r *http.Request, d Dispatcher, req *provider.InvokeRequest,
	c *Call, pay *Payment, start time.Time) error {
	out := &sse{w: w}
	usage, failed := g.pump(r.Context(), d, req, func(data json.RawMessage) error { return out.event("", data) }, out.keepAlive)
	if failed != nil && r.Context().Err() != nil {
		failed = callError(context.Canceled)
	}
	g.finish(r.Context(), c, pay, failed, usage, start)
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
	done, _ := json.Marshal(map[string]any{"plugin": c.ID, "usage": usageJSON(usage), "payment": paymentJSON(pay),
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
