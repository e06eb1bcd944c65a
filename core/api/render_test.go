package api_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
)

func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		requestID  string
		err        *api.Error
		wantStatus int
		wantBody   map[string]any
		wantHeader http.Header
	}{
		{
			name:       "plain",
			requestID:  "rid-1",
			err:        api.NotFound("Agent not found"),
			wantStatus: 404,
			wantBody:   map[string]any{"error": "Agent not found", "code": "NOT_FOUND", "request_id": "rid-1"},
		},
		{
			name:       "without request id",
			err:        api.Validation("name is required"),
			wantStatus: 400,
			wantBody:   map[string]any{"error": "name is required", "code": "VALIDATION_ERROR"},
		},
		{
			name:       "extra fields",
			requestID:  "rid-2",
			err:        api.Forbidden("LIMIT_REACHED", "Agent limit reached").With("current", 3).With("limit", 3),
			wantStatus: 403,
			wantBody: map[string]any{"error": "Agent limit reached", "code": "LIMIT_REACHED", "request_id": "rid-2",
				"current": 3.0, "limit": 3.0},
		},
		{
			name:      "header",
			requestID: "rid-3",
			err: &api.Error{Status: 429, Code: "RATE_LIMITED", Message: "Too many requests",
				Header: http.Header{"Retry-After": {"30"}}},
			wantStatus: 429,
			wantBody:   map[string]any{"error": "Too many requests", "code": "RATE_LIMITED", "request_id": "rid-3"},
			wantHeader: http.Header{"Retry-After": {"30"}},
		},
		{
			name:      "fields cannot override the contract members",
			requestID: "rid-4",
			err: &api.Error{Status: 409, Code: "CONFLICT", Message: "Taken",
				Fields: map[string]any{"error": "x", "code": "y", "request_id": "z", "field": "email"}},
			wantStatus: 409,
			wantBody:   map[string]any{"error": "Taken", "code": "CONFLICT", "request_id": "rid-4", "field": "email"},
		},
		{
			name:      "problem+json content type",
			requestID: "rid-6",
			err: &api.Error{Status: 402, Code: "INVALID_CHALLENGE", Message: "Bad challenge",
				Header: http.Header{"Content-Type": {"application/problem+json"}, "Www-Authenticate": {"Payment a", "Payment b"}}},
			wantStatus: 402,
			wantBody:   map[string]any{"error": "Bad challenge", "code": "INVALID_CHALLENGE", "request_id": "rid-6"},
			wantHeader: http.Header{"Content-Type": {"application/problem+json"}, "Www-Authenticate": {"Payment a", "Payment b"}},
		},
		{
			name:       "5xx never carries the cause",
			requestID:  "rid-5",
			err:        api.Internal(errors.New("dial tcp: password=hunter2")),
			wantStatus: 500,
			wantBody:   map[string]any{"error": "Internal server error", "code": "INTERNAL", "request_id": "rid-5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			api.WriteError(rec, tt.requestID, tt.err)
			if rec.Code != tt.wantStatus {
				t.Errorf("WriteError(%v) status = %d; want %d", tt.err, rec.Code, tt.wantStatus)
			}
			if got := errorBody(t, rec); !reflect.DeepEqual(got, tt.wantBody) {
				t.Errorf("WriteError(%v) body = %v; want %v", tt.err, got, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := rec.Header().Values(k); !reflect.DeepEqual(got, v) {
					t.Errorf("WriteError(%v) header %s = %q; want %q", tt.err, k, got, v)
				}
			}
			if strings.Contains(rec.Body.String(), "hunter2") {
				t.Errorf("WriteError(%v) body = %s; leaks the cause", tt.err, rec.Body.String())
			}
		})
	}
}

func TestErrorWithCopies(t *testing.T) {
	base := api.Forbidden("LIMIT", "limit")
	a := base.With("current", 1)
	b := a.With("limit", 2)
	if base.Fields != nil {
		t.Errorf("With changed the receiver's Fields to %v", base.Fields)
	}
	if !reflect.DeepEqual(a.Fields, map[string]any{"current": 1}) {
		t.Errorf("a.Fields = %v; want map[current:1]", a.Fields)
	}
	if !reflect.DeepEqual(b.Fields, map[string]any{"current": 1, "limit": 2}) {
		t.Errorf("b.Fields = %v; want map[current:1 limit:2]", b.Fields)
	}
}

func TestAsError(t *testing.T) {
	nf := api.NotFound("gone")
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{"api error", nf, 404, "NOT_FOUND"},
		{"wrapped api error", fmt.Errorf("loading: %w", nf), 404, "NOT_FOUND"},
		{"max bytes", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: api.MaxBody}), 413, "PAYLOAD_TOO_LARGE"},
		{"plain error", errors.New("boom"), 500, "INTERNAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := api.AsError(tt.err)
			if got.Status != tt.wantStatus || string(got.Code) != tt.wantCode {
				t.Errorf("AsError(%v) = %d %s; want %d %s", tt.err, got.Status, got.Code, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
		wantLogged bool
	}{
		{"4xx is not logged", api.Conflict("EMAIL_TAKEN", "Email already registered"), 409, "EMAIL_TAKEN", "Email already registered", false},
		{"wrapped 4xx", fmt.Errorf("register: %w", api.Conflict("EMAIL_TAKEN", "Email taken")), 409, "EMAIL_TAKEN", "Email taken", false},
		{"internal with cause", api.Internal(errors.New("pq: secret-detail")), 500, "INTERNAL", "Internal server error", true},
		{"bare error", errors.New("pq: secret-detail"), 500, "INTERNAL", "Internal server error", true},
		{"wrapped bare error", fmt.Errorf("load: %w", errors.New("secret-detail")), 500, "INTERNAL", "Internal server error", true},
		{"custom 503", &api.Error{Status: 503, Code: "UNAVAILABLE", Message: "Try later", Err: errors.New("secret-detail")},
			503, "UNAVAILABLE", "Try later", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := newLogger()
			a := api.Adapter{Log: log}
			h := a.Handle(func(http.ResponseWriter, *http.Request, httprouter.Params) error { return tt.err })
			r := httptest.NewRequest(http.MethodGet, "/api/things", nil)
			rec := serveWithID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(w, r, nil) }), r, "rid-render")

			if rec.Code != tt.wantStatus {
				t.Errorf("Render(%v) status = %d; want %d", tt.err, rec.Code, tt.wantStatus)
			}
			want := map[string]any{"error": tt.wantMsg, "code": tt.wantCode, "request_id": "rid-render"}
			if got := errorBody(t, rec); !reflect.DeepEqual(got, want) {
				t.Errorf("Render(%v) body = %v; want %v", tt.err, got, want)
			}
			if strings.Contains(rec.Body.String(), "secret-detail") {
				t.Errorf("Render(%v) body = %s; leaks the cause", tt.err, rec.Body.String())
			}

			records := logs.Records(t)
			if !tt.wantLogged {
				if len(records) != 0 {
					t.Errorf("Render(%v) logged %v; want nothing for a 4xx", tt.err, records)
				}
				return
			}
			if len(records) != 1 {
				t.Fatalf("Render(%v) logged %d records; want 1", tt.err, len(records))
			}
			rec0 := records[0]
			if rec0["level"] != "ERROR" || rec0["request_id"] != "rid-render" || rec0["path"] != "/api/things" ||
				rec0["status"] != float64(tt.wantStatus) || rec0["code"] != tt.wantCode {
				t.Errorf("Render(%v) log = %v; want an ERROR with request id, path, status and code", tt.err, rec0)
			}
			if !strings.Contains(fmt.Sprint(rec0["err"]), "secret-detail") {
				t.Errorf("Render(%v) log err = %v; want the cause", tt.err, rec0["err"])
			}
		})
	}
}

func TestRenderDefaultLogger(t *testing.T) {
	log, logs := newLogger()
	prev := slog.Default()
	slog.SetDefault(log)
	defer slog.SetDefault(prev)

	rec := httptest.NewRecorder()
	api.Adapter{}.Render(rec, httptest.NewRequest(http.MethodGet, "/x", nil), errors.New("secret-detail"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret-detail") {
		t.Errorf("Render with nil Log = %d %s; want 500 without the cause", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "secret-detail") {
		t.Errorf("Render with nil Log logged %q; want the cause in slog.Default", logs.String())
	}
}

func TestJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	api.JSON(rec, http.StatusCreated, map[string]string{"id": "a1"})
	if rec.Code != 201 || rec.Body.String() != "{\"id\":\"a1\"}\n" || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("JSON(201, {id:a1}) = %d %q %q; want 201 {\"id\":\"a1\"} application/json", rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"))
	}

	rec = httptest.NewRecorder()
	api.JSON(rec, http.StatusOK, map[string]any{"bad": make(chan int)})
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"code":"INTERNAL"`) {
		t.Errorf("JSON(unmarshalable) = %d %s; want 500 INTERNAL", rec.Code, rec.Body.String())
	}
}

// RawJSON adds the newline without writing into the caller's slice: a body
// encoded once may be written for many requests at once.
func TestRawJSONLeavesTheBodyAlone(t *testing.T) {
	b := make([]byte, 2, 16)
	copy(b, "{}")
	rec := httptest.NewRecorder()
	api.RawJSON(rec, 200, b)
	if got := rec.Body.String(); got != "{}\n" {
		t.Errorf("RawJSON wrote %q; want %q", got, "{}\n")
	}
	if spare := b[:cap(b)][2]; spare != 0 {
		t.Errorf("RawJSON wrote %q into the caller's spare capacity", spare)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}
