package route_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/ratelimit"
	"github.com/agentbot/gateway/core/route"
)

func ok(name string) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		api.OK(w, map[string]string{"handler": name, "param": ps.ByName("name")})
		return nil
	}
}

func build(t *testing.T, routes []route.Route, rules string) http.Handler {
	t.Helper()
	rs, err := ratelimit.ParseRules(ratelimit.Rules{Default: limiter.Rate{Limit: 1000, Period: 60e9}}, rules)
	if err != nil {
		t.Fatal(err)
	}
	h, err := route.Build(routes, route.Deps{Limiter: ratelimit.New(memory.NewStore(), rs)})
	if err != nil {
		t.Fatal(err)
	}
	return api.Chain(h, api.WithRequestID)
}

func do(h http.Handler, method, path, body string, p *auth.Principal) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if p != nil {
		r = r.WithContext(auth.WithPrincipal(r.Context(), p))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Each route's policy is applied before its handler: access, its own
// rate-limit rule, its own body cap; a static route declared Within a
// parameter route is served with its own policy.
func TestBuildAppliesEachRoutesPolicy(t *testing.T) {
	h := build(t, []route.Route{
		{Method: "GET", Path: "/open", Handler: ok("open"), Access: route.Public},
		{Method: "GET", Path: "/mine", Handler: ok("mine"), Access: route.User},
		{Method: "GET", Path: "/ops", Handler: ok("ops"), Access: route.Admin},
		{Method: "POST", Path: "/things/:name", Handler: ok("run"), Access: route.Public},
		{Method: "POST", Path: "/things/upload", Handler: ok("upload"), Access: route.User, MaxBody: 2 << 20, Within: "/things/:name"},
		{Method: "GET", Path: "/tight", Handler: ok("tight"), Limit: "/tight"},
	}, "/tight=2-M")
	user, admin := &auth.Principal{UserID: "u"}, &auth.Principal{UserID: "a", Admin: true}
	tests := []struct {
		method, path, body string
		p                  *auth.Principal
		status             int
		want               string // in the body
	}{
		{"GET", "/open", "", nil, 200, `"open"`},
		{"GET", "/mine", "", nil, 401, "AUTH_REQUIRED"},
		{"GET", "/mine", "", user, 200, `"mine"`},
		{"GET", "/ops", "", user, 403, "ADMIN_REQUIRED"},
		{"GET", "/ops", "", admin, 200, `"ops"`},
		{"POST", "/things/x", "", nil, 200, `"param":"x"`},
		{"POST", "/things/upload", "", nil, 401, "AUTH_REQUIRED"}, // its own access, not the parameter route's
		{"POST", "/things/upload", strings.Repeat("a", 1<<20+10), user, 200, `"upload"`},
		{"POST", "/things/x", strings.Repeat("a", 1<<20+10), nil, 413, "PAYLOAD_TOO_LARGE"},
		{"GET", "/nowhere", "", nil, 404, "NOT_FOUND"},
		{"DELETE", "/open", "", nil, 405, "METHOD_NOT_ALLOWED"},
	}
	for _, tt := range tests {
		w := do(h, tt.method, tt.path, tt.body, tt.p)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("%s %s = %d %s; want %d with %s", tt.method, tt.path, w.Code, w.Body, tt.status, tt.want)
		}
	}
	for i, want := range []int{200, 200, 429} {
		if w := do(h, "GET", "/tight", "", nil); w.Code != want || w.Header().Get("RateLimit-Limit") != "2" {
			t.Errorf("GET /tight #%d = %d (RateLimit-Limit %q); want %d under its own rule of 2", i+1, w.Code, w.Header().Get("RateLimit-Limit"), want)
		}
	}
}

// A static route Within a parameter route the method lacks, while deeper
// routes use the parameter, is served by a parameter route made for it; any
// other value of the parameter is an unknown path.
func TestBuildMakesTheParameterRouteForWithin(t *testing.T) {
	h := build(t, []route.Route{
		{Method: "POST", Path: "/things/new", Handler: ok("new"), Access: route.Public, Within: "/things/:name"},
		{Method: "POST", Path: "/things/:name/sub", Handler: ok("sub"), Access: route.Public},
		{Method: "GET", Path: "/things/:name", Handler: ok("get"), Access: route.Public},
	}, "")
	for _, tt := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"POST", "/things/new", 200, `"new"`},
		{"POST", "/things/x/sub", 200, `"param":"x"`},
		{"POST", "/things/x", 404, "NOT_FOUND"},
		{"GET", "/things/new", 200, `"get"`},
	} {
		if w := do(h, tt.method, tt.path, "", nil); w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("%s %s = %d %s; want %d with %s", tt.method, tt.path, w.Code, w.Body, tt.status, tt.want)
		}
	}
}

// A table that cannot be served is an error naming the route, never a panic.
func TestBuildRefusesBadTables(t *testing.T) {
	lim := ratelimit.New(memory.NewStore(), ratelimit.Defaults())
	for name, routes := range map[string][]route.Route{
		"duplicate":     {{Method: "GET", Path: "/a", Handler: ok("1")}, {Method: "GET", Path: "/a", Handler: ok("2")}},
		"static beside": {{Method: "GET", Path: "/a/:x", Handler: ok("1")}, {Method: "GET", Path: "/a/b", Handler: ok("2")}},
		"unknown rule":  {{Method: "GET", Path: "/a", Handler: ok("1"), Limit: "nope"}},
		"no handler":    {{Method: "GET", Path: "/a"}},
		"within none":   {{Method: "GET", Path: "/a/b", Handler: ok("1"), Within: "/a/:x"}},
	} {
		if _, err := route.Build(routes, route.Deps{Limiter: lim}); err == nil || !strings.Contains(err.Error(), "/a") {
			t.Errorf("Build(%s) = %v; want an error naming the route", name, err)
		}
	}
}

func TestMarkdownNamesHandlersAndPolicy(t *testing.T) {
	md := route.Markdown([]route.Route{{Method: "POST", Path: "/api/register", Handler: ok("x"), Summary: "a | b",
		MaxBody: 16 << 20}}, ratelimit.New(memory.NewStore(), ratelimit.Defaults()))
	for _, want := range []string{"| `/api/register` | POST | public | register 10/min per IP | 16 MiB | `core/route_test.", ".ok` | a \\| b |"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown = %s; want %s in it", md, want)
		}
	}
}
