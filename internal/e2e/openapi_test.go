package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/openapi"
	"github.com/agentbot/gateway/core/ratelimit"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/internal/app"
)

// The OpenAPI document is the route table of the whole application (as the
// README's endpoint list), described: it validates as OpenAPI 3.1, holds
// every route and nothing else, docs/openapi.json is it with the default rate
// limits (`make openapi`, UPDATE_OPENAPI=1, rewrites it), and the server
// serves it, with this server's limits, at GET /api/openapi.json.
func TestOpenAPIDocument(t *testing.T) {
	routes, se := wholeTable(t)
	doc, err := openapi.Build(routes, ratelimit.New(nil, ratelimit.Defaults()), app.APIInfo())
	if err != nil {
		t.Fatal(err)
	}
	if err := openapi.Validate(context.Background(), doc); err != nil {
		t.Fatalf("the document is not valid OpenAPI %s: %v", openapi.Version, err)
	}

	t.Run("every route is in the document and every operation is routed", func(t *testing.T) {
		for _, rt := range routes {
			if item := doc.Paths.Value(openapi.Path(rt.Path)); item == nil || item.GetOperation(rt.Method) == nil {
				t.Errorf("route %s %s is not in the document", rt.Method, rt.Path)
			}
		}
		h, err := route.Build(routes, route.Deps{Limiter: se.Limiter})
		if err != nil {
			t.Fatal(err)
		}
		router := h.(*httprouter.Router)
		param := regexp.MustCompile(`\{[^/}]+\}`)
		n := 0
		for path, item := range doc.Paths.Map() {
			for method := range item.Operations() {
				n++
				concrete := param.ReplaceAllString(path, "p1")
				if handle, _, _ := router.Lookup(method, concrete); handle == nil {
					t.Errorf("the document's %s %s (%s) is not routed", method, path, concrete)
				}
			}
		}
		if n != len(routes) {
			t.Errorf("the document has %d operations; the table %d routes", n, len(routes))
		}
	})

	// A new route declares its answer's type: only routes that pass on a
	// plugin's or skill's own answer, redirects and upgrades go without.
	t.Run("every route describes its answer", func(t *testing.T) {
		for _, rt := range routes {
			if rt.Response == nil && !rt.Relays && (rt.Status < 300 && rt.Status != http.StatusSwitchingProtocols) {
				t.Errorf("route %s %s declares no Response type (route.Route.Response)", rt.Method, rt.Path)
			}
		}
	})

	t.Run("docs/openapi.json is current", func(t *testing.T) {
		raw, err := openapi.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "..", "docs", "openapi.json")
		old, _ := os.ReadFile(path)
		if bytes.Equal(old, raw) {
			return
		}
		if os.Getenv("UPDATE_OPENAPI") == "1" {
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Log("docs/openapi.json rewritten")
			return
		}
		t.Errorf("docs/openapi.json differs from the route table's document; run `make openapi`")
	})

	t.Run("served with its ETag", func(t *testing.T) {
		served, err := openapi.Build(routes, se.Limiter, app.APIInfo())
		if err != nil {
			t.Fatal(err)
		}
		want, _ := openapi.Marshal(served)
		c := se.Client(t)
		r := c.Do("GET", "/api/openapi.json", nil).Expect(t, 200, "")
		if !bytes.Equal(r.Body, want) {
			t.Errorf("GET /api/openapi.json is not the route table's document (%d bytes; want %d)", len(r.Body), len(want))
		}
		etag := r.Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		if again := c.Do("GET", "/api/openapi.json", nil, "If-None-Match", etag); again.Status != http.StatusNotModified || len(again.Body) != 0 {
			t.Errorf("If-None-Match: %s → %d %q; want 304 without a body", etag, again.Status, again.Body)
		}
	})
}
