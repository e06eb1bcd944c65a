package openapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/julienschmidt/httprouter"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/openapi"
	"github.com/agentbot/gateway/core/ratelimit"
	"github.com/agentbot/gateway/core/route"
)

type thing struct {
	ID      string     `json:"id"`
	Name    string     `json:"name,omitempty"`
	Parent  *string    `json:"parent"`
	Seen    *time.Time `json:"seen,omitempty"`
	Tags    []string   `json:"tags"`
	Kind    string     `json:"kind" enum:"a,b"`
	Price   json.Number
	private int // not in the schema
}

type things struct {
	Things []thing `json:"things"`
	Count  int     `json:"count"`
}

type newThing struct {
	Name string `json:"name" required:"true"`
	Note string `json:"note"`
}

// table is a small route table: a public list, a user create with a body and
// its own codes, and a path parameter.
func table(h api.HandlerFunc) []route.Route {
	return []route.Route{
		{Method: "GET", Path: "/api/things", Handler: h, Access: route.Public, Summary: "lists things",
			Query: []route.Param{{Name: "kind", Doc: "a or b"}}, Response: things{}},
		{Method: "POST", Path: "/api/things", Handler: h, Access: route.User, Summary: "makes a thing",
			Request: newThing{Name: "lamp"}, Status: http.StatusCreated, Response: thing{ID: "t1", Kind: "a", Price: "1.5", Tags: []string{}},
			Errors: []api.Code{api.CodeValidationError, api.CodeUserExists}},
		{Method: "GET", Path: "/api/things/:id", Handler: h, Access: route.Admin, Summary: "one thing",
			Response: thing{}, Errors: []api.Code{api.CodeNotFound}},
		{Method: "POST", Path: "/api/things/:id", Handler: h, Access: route.Public, Summary: "acts on a thing",
			Response: map[string]any{}},
		{Method: "POST", Path: "/api/things/new", Within: "/api/things/:id", Handler: h, Access: route.Public, Summary: "a new thing",
			Status: http.StatusCreated, Response: struct {
				ID string `json:"id"`
			}{}},
		{Method: "POST", Path: "/api/pay", Handler: h, Access: route.Public, Accepts: route.Payment, Relays: true,
			Query:   []route.Param{{Name: "X-Payment-Method", Header: true}},
			Summary: "a paid call", Request: newThing{}},
	}
}

func limiter() *ratelimit.Limiter {
	return ratelimit.New(memory.NewStore(), ratelimit.Defaults())
}

func build(t *testing.T, routes []route.Route) *openapi3.T {
	t.Helper()
	doc, err := openapi.Build(routes, limiter(), openapi.Info{Title: "test", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := openapi.Validate(context.Background(), doc); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return doc
}

func TestBuildDescribesEachRoute(t *testing.T) {
	doc := build(t, table(nil))
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q; want 3.1.0", doc.OpenAPI)
	}
	get := doc.Paths.Value("/api/things/{id}").Get
	if get == nil || get.Parameters.GetByInAndName("path", "id") == nil {
		t.Fatalf("GET /api/things/{id} has no path parameter id: %+v", get)
	}
	if get.Extensions["x-access"] != "admin" {
		t.Errorf("x-access = %v; want admin", get.Extensions["x-access"])
	}
	codes := func(op *openapi3.Operation, status string) []any {
		ref := op.Responses.Value(status)
		if ref == nil {
			t.Fatalf("%s: no %s answer", op.OperationID, status)
		}
		return ref.Value.Content.Get("application/json").Schema.Value.AllOf[1].Value.Properties["code"].Value.Enum
	}
	if got := codes(get, "403"); len(got) != 1 || got[0] != "ADMIN_REQUIRED" {
		t.Errorf("GET /api/things/{id} 403 codes = %v; want [ADMIN_REQUIRED] (a GET needs no CSRF token)", got)
	}
	post := doc.Paths.Value("/api/things").Post
	if got := codes(post, "400"); strings.Join(anyStrings(got), ",") != "INVALID_FIELD_TYPE,INVALID_JSON,VALIDATION_ERROR" {
		t.Errorf("POST /api/things 400 codes = %v", got)
	}
	if got := codes(post, "409"); len(got) != 1 || got[0] != "USER_EXISTS" {
		t.Errorf("POST /api/things 409 codes = %v; want [USER_EXISTS]", got)
	}
	if got := codes(post, "403"); len(got) != 1 || got[0] != "CSRF_REQUIRED" {
		t.Errorf("POST /api/things 403 codes = %v; want [CSRF_REQUIRED]", got)
	}
	if post.Responses.Value("201") == nil {
		t.Error("POST /api/things has no 201 answer")
	}
	rl, _ := post.Extensions["x-rate-limit"].(map[string]any)
	if rl["rule"] != "default" || rl["limit"] != int64(120) {
		t.Errorf("x-rate-limit = %v; want the default rule, 120", rl)
	}
	body := post.RequestBody.Value.Content.Get("application/json")
	if s := body.Schema.Value; len(s.Required) != 1 || s.Required[0] != "name" {
		t.Errorf("request required = %v; want [name] (tagged)", s.Required)
	}
	if ex, _ := body.Example.(map[string]any); len(ex) != 1 || ex["name"] != "lamp" {
		t.Errorf("request example = %v; want {name: lamp} (zero members dropped)", body.Example)
	}
	var sec []string
	for _, req := range *post.Security {
		names := make([]string, 0, len(req))
		for name := range req {
			names = append(names, name)
		}
		slices.Sort(names)
		sec = append(sec, strings.Join(names, "+"))
	}
	if got := strings.Join(sec, " | "); got != "apiKey | jwt | csrf+session" {
		t.Errorf("POST /api/things security = %s; want an API key, a JWT, or a session with its CSRF token", got)
	}
	pay := doc.Paths.Value("/api/pay").Post
	r402 := pay.Responses.Value("402")
	if r402 == nil || r402.Value.Headers["WWW-Authenticate"] == nil || r402.Value.Headers["PAYMENT-REQUIRED"] == nil {
		t.Errorf("POST /api/pay: 402 without the MPP and x402 challenge headers: %+v", r402)
	}
	if pay.Parameters.GetByInAndName("header", "X-Payment-Method") == nil {
		t.Error("POST /api/pay: the X-Payment-Method header is not a parameter")
	}
	if pay.Responses.Default() == nil {
		t.Error("a relaying route has no default error answer")
	}
}

func anyStrings(v []any) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i], _ = x.(string)
	}
	return out
}

func TestSchemasFollowEncodingJSON(t *testing.T) {
	doc := build(t, table(nil))
	s := doc.Components.Schemas["thing"].Value
	for name, want := range map[string]bool{"id": true, "name": false, "parent": true, "seen": false, "tags": true, "Price": true} {
		if got := slices.Contains(s.Required, name); got != want {
			t.Errorf("thing.%s required = %v; want %v", name, got, want)
		}
	}
	if _, ok := s.Properties["private"]; ok {
		t.Error("an unexported field is in the schema")
	}
	if p := s.Properties["parent"].Value; !p.Type.Includes("null") || !p.Type.Includes("string") {
		t.Errorf("a pointer without omitempty: type %v; want string or null", p.Type)
	}
	if p := s.Properties["seen"].Value; p.Type.Includes("null") || p.Format != "date-time" {
		t.Errorf("an omitempty *time.Time: %v %q; want a date-time string, never null", p.Type, p.Format)
	}
	if p := s.Properties["Price"].Value; !p.Type.Is("number") {
		t.Errorf("json.Number: %v; want number", p.Type)
	}
	if p := s.Properties["kind"].Value; len(p.Enum) != 2 {
		t.Errorf("enum tag: %v", p.Enum)
	}
}

// The validator passes answers as documented and reports the others: an
// undeclared code, a missing member, an undocumented status or content type.
func TestValidatorReportsAnswersNotAsDocumented(t *testing.T) {
	var answer func(w http.ResponseWriter)
	h := func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error { answer(w); return nil }
	doc := build(t, table(h))
	v, err := openapi.NewValidator(doc)
	if err != nil {
		t.Fatal(err)
	}
	// Served by the table's own router, every route opened to anyone: the
	// answers are the handler's.
	open := table(h)
	for i := range open {
		open[i].Access = route.Public
	}
	none := func(*http.Request) string { return "" }
	r, err := route.Build(open, route.Deps{Limiter: limiter(), UserID: none, ClientIP: none})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	defer srv.Close()
	var mu sync.Mutex
	var reports []error
	c := &http.Client{Transport: &openapi.Transport{Validator: v, Report: func(err error) {
		mu.Lock()
		reports = append(reports, err)
		mu.Unlock()
	}}}
	for _, tc := range []struct {
		name, method, path string
		answer             func(w http.ResponseWriter)
		want               string // "" when the answer is as documented
	}{
		{"as documented", "GET", "/api/things", func(w http.ResponseWriter) {
			api.OK(w, map[string]any{"things": []any{}, "count": 0})
		}, ""},
		{"a declared error", "POST", "/api/things", func(w http.ResponseWriter) {
			api.WriteError(w, "rid", api.Conflict(api.CodeUserExists, "taken"))
		}, ""},
		{"an error with extra fields", "POST", "/api/things", func(w http.ResponseWriter) {
			api.WriteError(w, "rid", api.Validation("bad").With("field", "name"))
		}, ""},
		{"a code the route does not declare", "POST", "/api/things", func(w http.ResponseWriter) {
			api.WriteError(w, "rid", api.Conflict(api.CodeEmailInUse, "taken"))
		}, "EMAIL_IN_USE"},
		{"a missing member", "GET", "/api/things", func(w http.ResponseWriter) {
			api.OK(w, map[string]any{"things": []any{}})
		}, "count"},
		{"null where an array is documented", "GET", "/api/things", func(w http.ResponseWriter) {
			api.OK(w, map[string]any{"things": nil, "count": 0})
		}, "things"},
		{"an undocumented status", "GET", "/api/things", func(w http.ResponseWriter) {
			api.JSON(w, http.StatusAccepted, map[string]any{})
		}, "status 202 is not documented"},
		{"an undocumented content type", "GET", "/api/things", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<p>hi</p>"))
		}, "text/html is not documented"},
		{"any error of a relaying route", "POST", "/api/pay", func(w http.ResponseWriter) {
			api.WriteError(w, "rid", api.Errorf(418, api.Code("TEAPOT"), "a plugin's own"))
		}, ""},
		{"a path no route serves", "GET", "/api/nothing", func(w http.ResponseWriter) {}, ""},
		{"a static path beside a parameter", "POST", "/api/things/new", func(w http.ResponseWriter) {
			api.JSON(w, http.StatusCreated, map[string]any{"id": "t2"})
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			reports = nil
			mu.Unlock()
			answer = tc.answer
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case tc.want == "" && len(reports) > 0:
				t.Errorf("reported %v; want nothing", reports)
			case tc.want != "" && (len(reports) != 1 || !strings.Contains(reports[0].Error(), tc.want)):
				t.Errorf("reported %v; want one report naming %q", reports, tc.want)
			}
		})
	}
}

func TestPathAndOperationID(t *testing.T) {
	for _, tc := range []struct{ method, path, wantPath, wantID string }{
		{"GET", "/api/keys/:id", "/api/keys/{id}", "getKeysById"},
		{"POST", "/api/instance/:userId/reset-memory", "/api/instance/{userId}/reset-memory", "postInstanceByUserIdResetMemory"},
		{"GET", "/api/openapi.json", "/api/openapi.json", "getOpenapiJson"},
	} {
		if got := openapi.Path(tc.path); got != tc.wantPath {
			t.Errorf("Path(%q) = %q; want %q", tc.path, got, tc.wantPath)
		}
		if got := openapi.OperationID(tc.method, tc.path); got != tc.wantID {
			t.Errorf("OperationID(%q, %q) = %q; want %q", tc.method, tc.path, got, tc.wantID)
		}
	}
}

func TestBuildRefusesADuplicate(t *testing.T) {
	rs := table(nil)
	if _, err := openapi.Build(append(rs, rs[0]), limiter(), openapi.Info{}); err == nil {
		t.Error("a route declared twice built")
	}
}

func TestDocumentServesWithETag(t *testing.T) {
	d := &openapi.Document{Routes: func() []route.Route { return table(nil) }, Limiter: limiter(), Info: openapi.Info{Title: "t", Version: "1"}}
	h := func(inm string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/api/openapi.json", nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		if err := d.Handle(w, r, nil); err != nil {
			t.Fatal(err)
		}
		return w
	}
	first := h("")
	raw, etag, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if first.Code != 200 || first.Body.String() != string(raw) || first.Header().Get("ETag") != etag || etag == "" {
		t.Fatalf("GET = %d, ETag %q; want 200 with the document and its ETag %q", first.Code, first.Header().Get("ETag"), etag)
	}
	if w := h(etag); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("If-None-Match: %s → %d %q; want 304 without a body", etag, w.Code, w.Body)
	}
	if w := h(`"other"`); w.Code != 200 {
		t.Errorf("If-None-Match another tag → %d; want 200", w.Code)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil || v["openapi"] != "3.1.0" {
		t.Errorf("the served document: %v, openapi %v", err, v["openapi"])
	}
}
