package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/store"
)

// IdempotencyTTL is how long a paid call's answer is kept for its Idempotency-Key.
const IdempotencyTTL = 24 * time.Hour

// maxKept bounds an answer kept for replay; larger ones are not kept.
const maxKept = 1 << 20

// replayHeaders are the response headers a replayed answer repeats.
var replayHeaders = []string{"Content-Type", "X-Plugin-Id", "Payment-Receipt", "PAYMENT-RESPONSE", "Cache-Control"}

// idempotent runs a call at most once per Idempotency-Key: a repeat of the
// same request (same key, same payer, same body) gets the first answer again,
// receipt included, without paying twice; a repeat while the first runs → 409;
// the key reused for another request → 422. Only successful, non-streamed
// answers are kept: a failure leaves the key free to retry.
func (g *Gateway) idempotent(w http.ResponseWriter, r *http.Request, key string, body []byte, run func(http.ResponseWriter) error) error {
	if len(key) > 255 || strings.TrimSpace(key) == "" {
		return api.BadRequest(api.CodeInvalidIdempotencyKey, "Idempotency-Key must be 1 to 255 characters")
	}
	scope := idempotencyScope(r)
	if scope == "" {
		return run(w) // nothing identifies the caller: nothing to replay to
	}
	k := sha256.Sum256([]byte(scope + "\x00" + key))
	h := sha256.New()
	for _, part := range []string{r.Method, r.URL.Path, r.Header.Get("X-Plugin-Id")} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(body)
	reqHash := h.Sum(nil)
	storeKey := "idem:" + hex.EncodeToString(k[:])
	kept, err := g.Store.BeginReplay(r.Context(), storeKey, reqHash, IdempotencyTTL)
	switch {
	case errors.Is(err, store.ErrReplayInProgress):
		return api.Conflict(api.CodeIdempotencyInProgress, "A request with this Idempotency-Key is still being processed")
	case errors.Is(err, store.ErrReplayMismatch):
		return &api.Error{Status: http.StatusUnprocessableEntity, Code: api.CodeIdempotencyKeyReused,
			Message: "This Idempotency-Key was used for a different request"}
	case err != nil:
		return err
	case kept != nil:
		var hdr map[string][]string
		_ = json.Unmarshal([]byte(kept.Header), &hdr)
		for k, vs := range hdr {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(kept.Status)
		_, _ = w.Write(kept.Body)
		return nil
	}
	rec := &recorder{ResponseWriter: w}
	runErr := run(rec)
	ctx := context.WithoutCancel(r.Context())
	if runErr != nil || rec.status < 200 || rec.status > 299 || rec.overflow ||
		strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
		if err := g.Store.AbandonReplay(ctx, storeKey); err != nil {
			g.log().Error("abandon idempotency key", "err", err)
		}
		return runErr
	}
	hdr := map[string][]string{}
	for _, name := range replayHeaders {
		if vs := rec.Header().Values(name); len(vs) > 0 {
			hdr[name] = vs
		}
	}
	hj, _ := json.Marshal(hdr)
	if err := g.Store.FinishReplay(ctx, storeKey, store.Replay{Status: rec.status, Header: string(hj), Body: rec.buf.Bytes()}); err != nil {
		g.log().Error("keep idempotent answer", "err", err)
	}
	return nil
}

// idempotencyScope is whose key space an Idempotency-Key lives in: the
// payment credential presented (its replay must present it again), else the
// authenticated account.
func idempotencyScope(r *http.Request) string {
	if tok, ok := mpp.FromHeader(r.Header); ok {
		s := sha256.Sum256([]byte(tok))
		return "mpp:" + hex.EncodeToString(s[:])
	}
	if v := x402Payment(r.Header); v != "" {
		s := sha256.Sum256([]byte(v))
		return "x402:" + hex.EncodeToString(s[:])
	}
	if p, err := auth.Require(r); err == nil {
		return "user:" + p.UserID
	}
	return ""
}

// recorder passes a response through while keeping a copy of it.
type recorder struct {
	http.ResponseWriter
	status   int
	buf      bytes.Buffer
	overflow bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if !r.overflow {
		if r.buf.Len()+len(p) > maxKept {
			r.overflow = true
			r.buf = bytes.Buffer{}
		} else {
			r.buf.Write(p)
		}
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flushes).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
