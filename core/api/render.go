package api

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// HandlerFunc is an endpoint: it writes a success response itself and returns an
// error for everything else, which the adapter renders.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error

// Adapter turns HandlerFuncs into httprouter handles with one error path.
type Adapter struct {
	Log *slog.Logger
}

// Handle adapts h.
func (a Adapter) Handle(h HandlerFunc) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if err := h(w, r, ps); err != nil {
			a.Render(w, r, err)
		}
	}
}

// Render writes err as the contract's JSON error. 5xx causes are logged with the
// request id and never sent to the client.
func (a Adapter) Render(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	rid := RequestID(r.Context())
	if e.Status >= 500 {
		log := a.Log
		if log == nil {
			log = slog.Default()
		}
		log.ErrorContext(r.Context(), "request failed", "request_id", rid, "method", r.Method,
			"path", r.URL.Path, "status", e.Status, "code", e.Code, "err", e.Err)
	}
	WriteError(w, rid, e)
}

// WriteError writes e without logging; for middleware that answers before any handler.
func WriteError(w http.ResponseWriter, requestID string, e *Error) {
	body := make(map[string]any, len(e.Fields)+3)
	for k, v := range e.Fields {
		body[k] = v
	}
	body["error"] = e.Message
	if e.Code != "" {
		body["code"] = e.Code
	}
	if requestID != "" {
		body["request_id"] = requestID
	}
	ct := "application/json; charset=utf-8"
	for k, vs := range e.Header {
		if http.CanonicalHeaderKey(k) == "Content-Type" {
			ct = vs[0] // e.g. application/problem+json
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeJSON(w, e.Status, ct, body)
}

// JSON writes v with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	writeJSON(w, status, "application/json; charset=utf-8", v)
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		buf = []byte(`{"error":"Internal server error","code":"INTERNAL"}`)
	}
	h := w.Header()
	if err != nil {
		contentType = "application/json; charset=utf-8"
	}
	h.Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(append(buf, '\n'))
}

// RawJSON writes b, a JSON document the caller encoded (and is sure of), with
// status; a newline follows unless b ends with one, as JSON's encoding adds
// one. b is not modified: it may be shared by concurrent requests.
func RawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	if n := len(b); n > 0 && b[n-1] != '\n' {
		_, _ = w.Write(newline)
	}
}

var newline = []byte{'\n'}

// OK writes v with status 200.
func OK(w http.ResponseWriter, v any) { JSON(w, http.StatusOK, v) }
