package api

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain applies ms so that the first one is outermost.
func Chain(h http.Handler, ms ...Middleware) http.Handler {
	for i := len(ms) - 1; i >= 0; i-- {
		h = ms[i](h)
	}
	return h
}

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the request's id, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// WithRequestID assigns an id to each request (a client's X-Request-Id is kept
// when it is short and printable) and echoes it in the response.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header()["X-Request-Id"] = []string{id}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// StatusRecorder records the status and size written through it. It keeps
// http.Flusher working (streaming responses pass through unbuffered).
type StatusRecorder struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

func (s *StatusRecorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.Bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher.
func (s *StatusRecorder) Flush() {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack implements http.Hijacker when the underlying writer does.
func (s *StatusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := s.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// AccessLog logs one structured line per request.
func AccessLog(log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &StatusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			status := rec.Status
			if status == 0 {
				status = http.StatusOK
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", RequestID(r.Context())),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int64("bytes", rec.Bytes),
				slog.Duration("duration", time.Since(start)),
				slog.String("remote", r.RemoteAddr),
			)
		})
	}
}

// Recover turns a panic into a logged 500 JSON response. http.ErrAbortHandler is
// re-panicked, as net/http expects.
func Recover(log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &StatusRecorder{ResponseWriter: w}
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "request_id", RequestID(r.Context()),
					"path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.Status == 0 {
					WriteError(w, RequestID(r.Context()), Internal(nil))
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// LimitBodyTo caps request bodies at limit bytes (MaxBody when limit is 0): a
// declared larger body is refused with 413 before the handler runs, and a
// chunked one is cut where it passes the limit.
func LimitBodyTo(limit int64) Middleware {
	if limit <= 0 {
		limit = MaxBody
	}
	tooLarge := ErrTooLarge
	if limit != MaxBody {
		tooLarge = &Error{Status: 413, Code: CodePayloadTooLarge, Message: "Request body too large"}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				WriteError(w, RequestID(r.Context()), tooLarge)
				return
			}
			if r.Body != nil {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// SecurityHeaders sets the headers every response carries
// (docs/api-conventions.md#requests-and-responses).
func SecurityHeaders(hsts bool) Middleware {
	nosniff, referrerPolicy, frameDeny := []string{"nosniff"}, []string{"strict-origin-when-cross-origin"}, []string{"DENY"}
	csp, hstsValue := []string{"default-src 'none'; frame-ancestors 'none'"}, []string{"max-age=63072000; includeSubDomains"}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Canonical keys and values shared by every response: nothing
			// is allocated. Header.Add appends past their capacity (a
			// copy), and nothing writes into a header's values in place.
			h := w.Header()
			h["X-Content-Type-Options"] = nosniff
			h["Referrer-Policy"] = referrerPolicy
			h["X-Frame-Options"] = frameDeny
			h["Content-Security-Policy"] = csp
			if hsts {
				h["Strict-Transport-Security"] = hstsValue
			}
			next.ServeHTTP(w, r)
		})
	}
}

// CORS answers preflights with 204 and adds CORS headers for allowed origins.
// "*" allows any origin (without credentials).
type CORS struct {
	Origins []string
	Headers []string
}

// Middleware returns the CORS middleware.
func (c CORS) Middleware(next http.Handler) http.Handler {
	any := slices.Contains(c.Origins, "*")
	headers := strings.Join(append([]string{"Content-Type", "Authorization", "X-CSRF-Token", "X-Request-Id",
		"X-Plugin-Id", "X-Payment-Method", "Payment-Authorization", "PAYMENT-SIGNATURE", "Idempotency-Key"}, c.Headers...), ", ")
	expose := "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, X-Plugin-Id, " +
		"WWW-Authenticate, Payment-Receipt, PAYMENT-REQUIRED, PAYMENT-RESPONSE"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && (any || slices.Contains(c.Origins, origin))
		if !any {
			// The answer depends on Origin: caches must not share it across origins.
			w.Header().Add("Vary", "Origin")
		}
		if allowed {
			h := w.Header()
			if any {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			h.Set("Access-Control-Expose-Headers", expose)
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				h := w.Header()
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", headers)
				h.Set("Access-Control-Max-Age", strconv.Itoa(600))
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
