package abi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzFetchRequest feeds http_fetch any request a skill might write: the
// host hands the Fetcher only requests with a URL and an upper-case method,
// and the skill always gets back JSON: the response, or {"error": ...}.
func FuzzFetchRequest(f *testing.F) {
	for _, s := range []string{`{"url":"https://api.example.com/x"}`, `{"method":"post","url":"http://h/","headers":{"A":"b"},"body":"aGk="}`,
		`{"url":""}`, `{"url":5}`, `{"body":"!!"}`, `null`, `[]`, `{`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got *FetchRequest
		out := fetch(context.Background(), FetcherFunc(func(_ context.Context, req *FetchRequest) (*FetchResponse, error) {
			got = req
			return &FetchResponse{Status: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: []byte("ok")}, nil
		}), raw)
		if got != nil && (got.URL == "" || got.Method == "" || got.Method != strings.ToUpper(got.Method)) {
			t.Fatalf("fetch(%q) passed on %+v", raw, got)
		}
		var res map[string]any
		if err := json.Unmarshal(out, &res); err != nil || res == nil {
			t.Fatalf("fetch(%q) = %q; want a JSON object", raw, out)
		}
		if _, failed := res["error"]; failed == (got != nil) {
			t.Fatalf("fetch(%q) = %s (fetcher called: %v)", raw, out, got != nil)
		}
	})
}
