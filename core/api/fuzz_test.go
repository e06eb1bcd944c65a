package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
)

// FuzzDecode posts any body with any Content-Type to a handler that decodes
// it: the answer is the decoded object (200) or the contract's JSON error
// with a 4xx status (400, 413 or 415), never a 5xx. A body is accepted only
// when it is one JSON object that plain encoding/json decodes the same way.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct{ body, ct string }{
		{`{"name":"ada","count":2,"ok":true,"tags":["a"],"meta":{"k":"v"},"inner":{"level":1}}`, "application/json"},
		{`{"name":"x"}`, "application/merge-patch+json"},
		{`{"name":"x"}`, ""},
		{" \n{\"name\":\"x\"}\n ", "application/json; charset=utf-8"},
		{`{"count":"two"}`, "application/json"},
		{`{"inner":{"level":"high"}}`, "application/json"},
		{`{"count":1e400,"ok":null}`, "application/json"},
		{`{"name":"\ud800\u0000"}`, "application/json"},
		{`{}{}`, "application/json"},
		{`[{"name":"x"}]`, "application/json"},
		{`"x"`, "application/json"},
		{``, "application/json"},
		{`{"name":"x"}`, "text/plain"},
		{`{}`, "application/json; charset"},
	} {
		f.Add([]byte(s.body), s.ct)
	}
	h := api.Adapter{}.Handle(func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		var p payload
		if err := api.Decode(r, &p); err != nil {
			return err
		}
		api.OK(w, p)
		return nil
	})
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		r := httptest.NewRequest(http.MethodPost, "/x", bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		h(w, r, nil)
		if w.Code == http.StatusOK {
			var want payload
			trimmed := bytes.TrimSpace(body)
			if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(body, &want) != nil {
				t.Fatalf("Decode(%q, %q) accepted a body that is not a JSON object", body, contentType)
			}
			got, _ := json.Marshal(want)
			if !bytes.Equal(bytes.TrimSpace(w.Body.Bytes()), got) {
				t.Fatalf("Decode(%q) = %s; encoding/json decodes %s", body, w.Body.Bytes(), got)
			}
			return
		}
		switch w.Code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("Decode(%q, %q) answered %d %s; want 200, 400, 413 or 415", body, contentType, w.Code, w.Body.Bytes())
		}
		var e struct{ Error, Code string }
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" || e.Code == "" ||
			!strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("Decode(%q) answered %d with %q; want the JSON error shape", body, w.Code, w.Body.Bytes())
		}
	})
}
