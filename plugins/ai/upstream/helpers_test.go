package upstream_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// captured is what a fake upstream received.
type captured struct {
	Method string
	Path   string
	Header http.Header
	Raw    []byte
	JSON   map[string]any // Raw decoded, when it was JSON
}

// fakeUpstream starts a server that records each request on the returned channel, then lets respond answer
// it. The request's body has been read; respond gets it back in captured.Raw.
func fakeUpstream(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, c captured)) (*httptest.Server, <-chan captured) {
	t.Helper()
	reqs := make(chan captured, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading request body: %v", err)
		}
		c := captured{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			if err := json.Unmarshal(raw, &c.JSON); err != nil {
				t.Errorf("request body %q is not JSON: %v", raw, err)
			}
		}
		reqs <- c
		respond(w, r, c)
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

// received returns the one request the fake upstream got.
func received(t *testing.T, reqs <-chan captured) captured {
	t.Helper()
	select {
	case c := <-reqs:
		return c
	default:
		t.Fatal("the upstream received no request")
		return captured{}
	}
}

// checkJSON compares a decoded request body with the JSON text want.
func checkJSON(t *testing.T, call string, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON %q: %v", want, err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%s sent %s; want %s", call, g, want)
	}
}

// checkHeaders compares request headers; an empty wanted value means the header must be absent.
func checkHeaders(t *testing.T, call string, got http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if g := got.Get(k); g != v || (v == "" && len(got.Values(k)) > 0) {
			t.Errorf("%s sent header %s = %q; want %q", call, k, g, v)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func writeSSE(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	io.WriteString(w, body)
}

func ptr[T any](v T) *T { return &v }

// collect returns an onDelta that appends to *deltas.
func collect(deltas *[]string) func(string) error {
	return func(d string) error {
		*deltas = append(*deltas, d)
		return nil
	}
}
