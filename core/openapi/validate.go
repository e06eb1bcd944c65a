package openapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// maxChecked is the largest answer body Check reads; a larger one fails.
const maxChecked = 16 << 20

// docURL names the document among the schema compiler's resources.
const docURL = "urn:agentbot:openapi.json"

// Validator checks answers against a document: the answer's status is
// documented for the operation the request matched, its content type is one
// the status documents, and a JSON body matches the status's schema (so an
// error's code is one the route declares). Operations are matched with
// kin-openapi's router; bodies are checked as JSON Schema 2020-12, the
// dialect of OpenAPI 3.1, each status's schema compiled once. It is safe for
// concurrent use.
type Validator struct {
	router routers.Router

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

// NewValidator returns a validator of doc, which must be valid.
func NewValidator(doc *openapi3.T) (*Validator, error) {
	r, err := legacy.NewRouter(doc, openapi3.EnableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	raw, err := Marshal(doc)
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(docURL, v); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return &Validator{router: r, compiler: c, compiled: map[string]*jsonschema.Schema{}}, nil
}

// Check validates the answer (status, header, body) to req. A request that
// no operation matches must have been answered 404 or 405 (the router's own
// answers, which no route declares); any other answer to it is a route the
// document lacks. A 304 to a conditional request, and an empty body
// without a content type, have no body to check.
func (v *Validator) Check(_ context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	rt, _, err := v.router.FindRoute(req)
	if err != nil {
		var re *routers.RouteError
		if errors.As(err, &re) && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) {
			return nil // the router's own answer
		}
		return fmt.Errorf("%s %s → %d: no operation of the document matches the request (%v)", req.Method, req.URL.Path, status, err)
	}
	if status == http.StatusNotModified && (req.Header.Get("If-None-Match") != "" || req.Header.Get("If-Modified-Since") != "") {
		return nil
	}
	where := fmt.Sprintf("%s %s → %d", req.Method, req.URL.Path, status)
	key := strconv.Itoa(status)
	ref := rt.Operation.Responses.Value(key)
	if ref == nil {
		key, ref = "default", rt.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("%s: status %d is not documented for %s %s (%s)", where, status, rt.Method, rt.Path, body)
	}
	content := ref.Value.Content
	ct := header.Get("Content-Type")
	if len(content) == 0 || (len(body) == 0 && ct == "") {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("%s: Content-Type %q: %w", where, ct, err)
	}
	media := mediaKey(content, mt)
	if media == "" {
		return fmt.Errorf("%s: Content-Type %s is not documented (%s)", where, mt, strings.Join(mediaTypes(content), ", "))
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil
	}
	base := "#/paths/" + escape(rt.Path) + "/" + strings.ToLower(rt.Method) + "/responses/" + escape(key)
	if ref.Ref != "" {
		base = ref.Ref
	}
	sch, err := v.schema(docURL + base + "/content/" + escape(media) + "/schema")
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	val, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: the body is not JSON: %w (%s)", where, err, body)
	}
	if err := sch.Validate(val); err != nil {
		return fmt.Errorf("%s: the body does not match %s: %w\nbody: %s", where, base, err, body)
	}
	return nil
}

// schema compiles the schema at loc once.
func (v *Validator) schema(loc string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.compiled[loc]; ok {
		return s, nil
	}
	s, err := v.compiler.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", loc, err)
	}
	v.compiled[loc] = s
	return s, nil
}

// escape writes a JSON Pointer token.
func escape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// mediaKey is the key of content that documents media type mt: mt itself,
// its type's wildcard or */*; "" when none does.
func mediaKey(c openapi3.Content, mt string) string {
	typ, _, _ := strings.Cut(mt, "/")
	for _, k := range []string{mt, typ + "/*", "*/*"} {
		if _, ok := c[k]; ok {
			return k
		}
	}
	return ""
}

func mediaTypes(c openapi3.Content) []string {
	var out []string
	for k := range c {
		out = append(out, k)
	}
	return out
}

// Transport is an http.RoundTripper that checks every answer it carries with
// Validator and hands each mismatch to Report. It reads a JSON answer whole
// (and gives the caller the same bytes); a streamed answer's body is left to
// the caller unread.
type Transport struct {
	// Base carries the requests; nil means http.DefaultTransport.
	Base      http.RoundTripper
	Validator *Validator
	Report    func(error)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || req.Method == http.MethodOptions || req.Method == http.MethodHead {
		return resp, err
	}
	var body []byte
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/event-stream" && resp.StatusCode != http.StatusSwitchingProtocols {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxChecked+1))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if len(body) > maxChecked {
			t.Report(fmt.Errorf("%s %s: answer larger than %d bytes not checked", req.Method, req.URL.Path, maxChecked))
			return resp, nil
		}
	}
	if err := t.Validator.Check(req.Context(), req, resp.StatusCode, resp.Header, body); err != nil {
		t.Report(fmt.Errorf("answer not as documented: %w", err))
	}
	return resp, nil
}
