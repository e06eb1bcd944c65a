package api_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
)

type payload struct {
	Name  string            `json:"name"`
	Count int               `json:"count"`
	OK    bool              `json:"ok"`
	Tags  []string          `json:"tags"`
	Meta  map[string]string `json:"meta"`
	Inner struct {
		Level int `json:"level"`
	} `json:"inner"`
}

func newJSONRequest(body, contentType string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        payload
		wantStatus  int // 0: success
		wantCode    string
		wantInMsg   []string
	}{
		{name: "valid object", contentType: "application/json", body: `{"name":"ada","count":2,"ok":true,"tags":["a"]}`,
			want: payload{Name: "ada", Count: 2, OK: true, Tags: []string{"a"}}},
		{name: "unknown fields ignored", contentType: "application/json", body: `{"name":"ada","extra":{"deep":[1,2]},"more":null}`,
			want: payload{Name: "ada"}},
		{name: "charset parameter", contentType: "application/json; charset=utf-8", body: `{"count":7}`,
			want: payload{Count: 7}},
		{name: "json suffix media type", contentType: "application/merge-patch+json", body: `{"name":"x"}`,
			want: payload{Name: "x"}},
		{name: "missing content type accepted", body: `{"name":"x"}`, want: payload{Name: "x"}},
		{name: "surrounding whitespace", contentType: "application/json", body: " \n{\"name\":\"x\"}\n ", want: payload{Name: "x"}},

		{name: "string for number", contentType: "application/json", body: `{"count":"two"}`,
			wantStatus: 400, wantCode: "INVALID_FIELD_TYPE", wantInMsg: []string{`"count"`, "number"}},
		{name: "number for string", contentType: "application/json", body: `{"name":5}`,
			wantStatus: 400, wantCode: "INVALID_FIELD_TYPE", wantInMsg: []string{`"name"`, "string"}},
		{name: "string for boolean", contentType: "application/json", body: `{"ok":"yes"}`,
			wantStatus: 400, wantCode: "INVALID_FIELD_TYPE", wantInMsg: []string{`"ok"`, "boolean"}},
		{name: "string for array", contentType: "application/json", body: `{"tags":"a,b"}`,
			wantStatus: 400, wantCode: "INVALID_FIELD_TYPE", wantInMsg: []string{`"tags"`, "array"}},
		{name: "array for object", contentType: "application/json", body: `{"meta":[]}`,
			wantStatus: 400, wantCode: "INVALID_FIELD_TYPE", wantInMsg: []string{`"meta"`, "object"}},
		{name: "nested field", contentType: "application/json", body: `{"inner":{"level":"high"}}`,
			wantStatus: 400, wantCode: "INVALID_FIELD_TYPE", wantInMsg: []string{`"inner.level"`, "number"}},
		{name: "malformed", contentType: "application/json", body: `{"name":`,
			wantStatus: 400, wantCode: "INVALID_JSON"},
		{name: "not json at all", contentType: "application/json", body: `name=ada`,
			wantStatus: 400, wantCode: "INVALID_JSON"},
		{name: "trailing data", contentType: "application/json", body: `{}{}`,
			wantStatus: 400, wantCode: "INVALID_JSON"},
		{name: "trailing garbage", contentType: "application/json", body: `{"name":"x"} x`,
			wantStatus: 400, wantCode: "INVALID_JSON"},
		{name: "empty body", contentType: "application/json", body: ``,
			wantStatus: 400, wantCode: "INVALID_JSON"},
		{name: "whitespace body", contentType: "application/json", body: " \n\t",
			wantStatus: 400, wantCode: "INVALID_JSON"},
		{name: "top-level array", contentType: "application/json", body: `[{"name":"x"}]`,
			wantStatus: 400, wantCode: "INVALID_JSON", wantInMsg: []string{"object"}},
		{name: "top-level string", contentType: "application/json", body: `"x"`,
			wantStatus: 400, wantCode: "INVALID_JSON", wantInMsg: []string{"object"}},
		{name: "top-level null", contentType: "application/json", body: " null ",
			wantStatus: 400, wantCode: "INVALID_JSON", wantInMsg: []string{"object"}},
		{name: "text/plain", contentType: "text/plain", body: `{"name":"x"}`,
			wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: `name=x`,
			wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "unparsable content type", contentType: "application/json; charset", body: `{}`,
			wantStatus: 415, wantCode: "UNSUPPORTED_MEDIA_TYPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got payload
			err := api.Decode(newJSONRequest(tt.body, tt.contentType), &got)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Decode(%q) = %v; want nil", tt.body, err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Decode(%q) decoded %+v; want %+v", tt.body, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode(%q) = nil; want %d %s", tt.body, tt.wantStatus, tt.wantCode)
			}
			e := asAPIError(t, err)
			if e.Status != tt.wantStatus || string(e.Code) != tt.wantCode {
				t.Errorf("Decode(%q) = %d %s; want %d %s", tt.body, e.Status, e.Code, tt.wantStatus, tt.wantCode)
			}
			for _, s := range tt.wantInMsg {
				if !strings.Contains(e.Message, s) {
					t.Errorf("Decode(%q) message = %q; want it to contain %q", tt.body, e.Message, s)
				}
			}
		})
	}
}

func TestDecodeIntoMap(t *testing.T) {
	var got map[string]any
	if err := api.Decode(newJSONRequest(`{"a":1}`, "application/json"), &got); err != nil || got["a"] != 1.0 {
		t.Errorf("Decode into map = %v, %v; want map[a:1], nil", got, err)
	}
}

func TestReadJSON(t *testing.T) {
	raw, err := api.ReadJSON(newJSONRequest(`{"a": [1, 2]}`, "application/json"))
	if err != nil || string(raw) != `{"a": [1, 2]}` {
		t.Errorf("ReadJSON = %q, %v; want the body unchanged", raw, err)
	}
	r := newJSONRequest("", "")
	r.Body = nil
	_, err = api.ReadJSON(r)
	if e := asAPIError(t, err); e.Status != 400 || e.Code != "INVALID_JSON" {
		t.Errorf("ReadJSON(nil body) = %d %s; want 400 INVALID_JSON", e.Status, e.Code)
	}
}

// bodyOfSize returns a JSON object of exactly n bytes.
func bodyOfSize(n int) string {
	const frame = len(`{"name":""}`)
	return `{"name":"` + strings.Repeat("a", n-frame) + `"}`
}

// unknownLength hides the body's length, as for a chunked request.
func unknownLength(r *http.Request) *http.Request {
	r.Body = io.NopCloser(struct{ io.Reader }{r.Body})
	r.ContentLength = -1
	return r
}

func TestDecodeBodyLimit(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		chunked  bool
		wantCode int // 0: decoded
	}{
		{"exactly 1 MiB", api.MaxBody, false, 0},
		{"1 MiB + 1", api.MaxBody + 1, false, 413},
		{"exactly 1 MiB, unknown length", api.MaxBody, true, 0},
		{"1 MiB + 1, unknown length", api.MaxBody + 1, true, 413},
		{"2 MiB, unknown length", 2 * api.MaxBody, true, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := bodyOfSize(tt.size)
			if len(body) != tt.size {
				t.Fatalf("bodyOfSize(%d) has %d bytes", tt.size, len(body))
			}
			r := newJSONRequest(body, "application/json")
			if tt.chunked {
				r = unknownLength(r)
			}
			var p payload
			err := api.Decode(r, &p)
			if tt.wantCode == 0 {
				if err != nil || len(p.Name) != tt.size-len(`{"name":""}`) {
					t.Errorf("Decode(%d bytes) = %v, name of %d bytes; want nil", tt.size, err, len(p.Name))
				}
				return
			}
			e := asAPIError(t, err)
			if e.Status != 413 || e.Code != "PAYLOAD_TOO_LARGE" {
				t.Errorf("Decode(%d bytes) = %d %s; want 413 PAYLOAD_TOO_LARGE", tt.size, e.Status, e.Code)
			}
		})
	}
}

// decodeEndpoint decodes a payload and answers with the length of its name.
func decodeEndpoint(called *atomic.Bool) http.Handler {
	h := api.Adapter{Log: discardLogger()}.Handle(func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		called.Store(true)
		var p payload
		if err := api.Decode(r, &p); err != nil {
			return err
		}
		api.OK(w, map[string]int{"len": len(p.Name)})
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(w, r, nil) })
}

func TestLimitBody(t *testing.T) {
	tests := []struct {
		name        string
		size        int
		chunked     bool
		wantStatus  int
		wantHandler bool
	}{
		{"exactly 1 MiB", api.MaxBody, false, 200, true},
		{"1 MiB + 1 declared", api.MaxBody + 1, false, 413, false},
		{"exactly 1 MiB, unknown length", api.MaxBody, true, 200, true},
		{"1 MiB + 1, unknown length", api.MaxBody + 1, true, 413, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newJSONRequest(bodyOfSize(tt.size), "application/json")
			if tt.chunked {
				r = unknownLength(r)
			}
			var called atomic.Bool
			rec := serveWithID(api.LimitBodyTo(0)(decodeEndpoint(&called)), r, "rid-1")
			if rec.Code != tt.wantStatus {
				t.Fatalf("LimitBody(%d bytes) status = %d; want %d (body %.200s)", tt.size, rec.Code, tt.wantStatus, rec.Body.String())
			}
			if called.Load() != tt.wantHandler {
				t.Errorf("LimitBody(%d bytes) ran handler = %v; want %v", tt.size, called.Load(), tt.wantHandler)
			}
			if tt.wantStatus == 413 {
				b := errorBody(t, rec)
				if b["code"] != "PAYLOAD_TOO_LARGE" || b["request_id"] != "rid-1" || b["error"] == "" {
					t.Errorf("LimitBody(%d bytes) body = %v; want code PAYLOAD_TOO_LARGE, request_id rid-1", tt.size, b)
				}
			}
		})
	}
}

// TestLimitBodyChunked sends real chunked bodies over HTTP.
func TestLimitBodyChunked(t *testing.T) {
	var called, sawLength atomic.Bool
	lengths := api.Middleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength >= 0 {
				sawLength.Store(true)
			}
			next.ServeHTTP(w, r)
		})
	})
	srv := httptest.NewServer(api.Chain(decodeEndpoint(&called), lengths, api.WithRequestID, api.LimitBodyTo(0)))
	defer srv.Close()
	for _, tt := range []struct {
		size       int
		wantStatus int
	}{
		{api.MaxBody, 200},
		{api.MaxBody + 1, 413},
	} {
		// An io.Reader of unknown length makes the client send chunked.
		body := struct{ io.Reader }{strings.NewReader(bodyOfSize(tt.size))}
		req, err := http.NewRequest(http.MethodPost, srv.URL, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("POST %d bytes chunked: %v", tt.size, err)
		}
		var got map[string]any
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || err != nil {
			t.Errorf("POST %d bytes chunked = %d %v (%v); want %d", tt.size, resp.StatusCode, got, err, tt.wantStatus)
		}
		if tt.wantStatus == 413 && (got["code"] != "PAYLOAD_TOO_LARGE" || got["request_id"] != resp.Header.Get("X-Request-Id")) {
			t.Errorf("POST %d bytes chunked body = %v; want PAYLOAD_TOO_LARGE with the request id", tt.size, got)
		}
	}
	if sawLength.Load() {
		t.Errorf("the server saw a Content-Length; want chunked requests")
	}
}

// An empty body is the sentinel ErrBodyRequired, so that callers for whom no
// body is fine can tell it from other errors without reading messages.
func TestEmptyBodyIsTheSentinel(t *testing.T) {
	for _, body := range []string{"", "   \n"} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if _, err := api.ReadJSON(r); !errors.Is(err, api.ErrBodyRequired) {
			t.Errorf("ReadJSON(%q) = %v; want ErrBodyRequired", body, err)
		}
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader("{"))
	r.Header.Set("Content-Type", "application/json")
	if _, err := api.ReadJSON(r); errors.Is(err, api.ErrBodyRequired) {
		t.Errorf("ReadJSON(malformed) = %v; want another error than ErrBodyRequired", err)
	}
}
