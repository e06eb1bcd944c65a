// Package openapi describes the route table as an OpenAPI 3.1 document: every
// route's path, method, summary, who may call it (security schemes), its
// rate-limit rule (x-rate-limit) and body cap (x-body-limit), its request and
// success bodies' schemas (reflected from the Go types the route declares),
// whether it streams, and each error response with the codes it may carry.
// The document is generated, never kept by hand: the server serves it at
// GET /api/openapi.json and `make openapi` writes docs/openapi.json.
// Validator checks responses against it in tests.
package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/ratelimit"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/x402"
)

// Version is the OpenAPI version of the documents Build writes.
const Version = "3.1.0"

// Info names the API in the document.
type Info struct {
	Title       string
	Version     string
	Description string
}

// Security scheme names of the document.
const (
	SchemeAPIKey        = "apiKey"
	SchemeJWT           = "jwt"
	SchemeSession       = "session"
	SchemeCSRF          = "csrf"
	SchemeInstanceToken = "instanceToken"
	SchemeMPP           = "mpp"
	SchemeX402          = "x402"
)

// errorSchema is the component every error answer refers to.
const errorSchema = "Error"

// Build returns the OpenAPI 3.1 document of routes, with limiter naming each
// route's rate-limit rule. A route whose declared types cannot be described
// is an error.
func Build(routes []route.Route, limiter *ratelimit.Limiter, info Info) (*openapi3.T, error) {
	r := newReflector()
	doc := &openapi3.T{
		OpenAPI: Version,
		Info:    &openapi3.Info{Title: info.Title, Version: info.Version, Description: info.Description},
		Paths:   openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas:         r.schemas,
			Responses:       openapi3.ResponseBodies{},
			SecuritySchemes: securitySchemes(),
		},
	}
	r.schemas[errorSchema] = openapi3.NewSchemaRef("", &openapi3.Schema{
		Type:        types("object"),
		Description: "Every error answer: a message for people, a stable code for programs, the request's id; some codes add fields.",
		Required:    []string{"error", "code"},
		Properties: openapi3.Schemas{
			"error":      openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string")}),
			"code":       openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string")}),
			"request_id": openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string")}),
		},
	})
	r.taken[errorSchema] = nil
	var errs []error
	for _, rt := range routes {
		op, err := operation(r, doc.Components.Responses, rt, limiter)
		if err != nil {
			errs = append(errs, fmt.Errorf("route %s %s: %w", rt.Method, rt.Path, err))
			continue
		}
		path := Path(rt.Path)
		item := doc.Paths.Value(path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(path, item)
		}
		if item.GetOperation(rt.Method) != nil {
			errs = append(errs, fmt.Errorf("route %s %s: declared twice", rt.Method, rt.Path))
			continue
		}
		item.SetOperation(rt.Method, op)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return doc, nil
}

// Marshal writes doc as indented JSON with its keys in a stable order.
func Marshal(doc *openapi3.T) ([]byte, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: marshal: %w", err)
	}
	// Decoded and encoded again for the indentation and so that <, > and &
	// stay as they are (map keys come out sorted).
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("openapi: decode: %w", err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("openapi: encode: %w", err)
	}
	return b.Bytes(), nil
}

// Validate checks doc against the OpenAPI 3.1 rules (kin-openapi's
// validator), examples included.
func Validate(ctx context.Context, doc *openapi3.T) error {
	return doc.Validate(ctx, openapi3.EnableExamplesValidation())
}

// Path turns an httprouter path (/api/keys/:id, /files/*rest) into an
// OpenAPI one (/api/keys/{id}).
func Path(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s != "" && (s[0] == ':' || s[0] == '*') {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

func securitySchemes() openapi3.SecuritySchemes {
	s := func(v *openapi3.SecurityScheme) *openapi3.SecuritySchemeRef {
		return &openapi3.SecuritySchemeRef{Value: v}
	}
	return openapi3.SecuritySchemes{
		SchemeAPIKey: s(&openapi3.SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: auth.APIKeyPrefix + "…",
			Description: "An API key (`Authorization: Bearer " + auth.APIKeyPrefix + "…`), made with POST /api/keys."}),
		SchemeJWT: s(&openapi3.SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "A 7-day JWT from POST /api/auth/token (`Authorization: Bearer <jwt>`)."}),
		SchemeSession: s(&openapi3.SecurityScheme{Type: "apiKey", In: "cookie", Name: auth.SessionCookie,
			Description: "The session cookie POST /api/auth/login sets. A request changing state also sends the session's CSRF token (csrf)."}),
		SchemeCSRF: s(&openapi3.SecurityScheme{Type: "apiKey", In: "header", Name: "X-CSRF-Token",
			Description: "The session's CSRF token (`csrfToken` of the login answer, or GET /api/auth/csrf); needed with the session cookie on POST, PUT, PATCH and DELETE."}),
		SchemeInstanceToken: s(&openapi3.SecurityScheme{Type: "http", Scheme: "bearer",
			Description: "An agent's instance token (GET /api/instance/{userId}/token), as `Authorization: Bearer`, `?token=` or the WebSocket subprotocol `agentbot.token.<token>`."}),
		SchemeMPP: s(&openapi3.SecurityScheme{Type: "http", Scheme: "Payment",
			Description: "A machine payment over MPP: the 402 answer's `WWW-Authenticate: Payment` challenge, paid with `Authorization: Payment <credential>` (or `Payment-Authorization`); the answer carries `Payment-Receipt`."}),
		SchemeX402: s(&openapi3.SecurityScheme{Type: "apiKey", In: "header", Name: x402.HeaderPaymentSignature,
			Description: "A machine payment over x402 v2: the 402 answer's `" + x402.HeaderPaymentRequired + "` requirements, paid with `" +
				x402.HeaderPaymentSignature + "`; the answer carries `" + x402.HeaderPaymentResponse + "`."}),
	}
}

// operation describes one route.
func operation(r *reflector, shared openapi3.ResponseBodies, rt route.Route, limiter *ratelimit.Limiter) (*openapi3.Operation, error) {
	op := &openapi3.Operation{
		OperationID: OperationID(rt.Method, rt.Path),
		Summary:     rt.Summary,
		Tags:        []string{tag(rt.Path)},
		Responses:   openapi3.NewResponses(),
		Extensions:  map[string]any{},
	}
	rule := rt.Rule(limiter)
	op.Extensions["x-access"] = rt.Access.String()
	op.Extensions["x-rate-limit"] = map[string]any{"rule": rule.Name, "limit": rule.Rate.Limit,
		"periodSeconds": int64(rule.Rate.Period / time.Second), "perIp": rule.PerIP}
	maxBody := rt.MaxBody
	if maxBody == 0 {
		maxBody = api.MaxBody
	}
	op.Extensions["x-body-limit"] = maxBody

	for _, s := range strings.Split(rt.Path, "/") {
		if s != "" && (s[0] == ':' || s[0] == '*') {
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewPathParameter(s[1:]).
				WithSchema(openapi3.NewStringSchema())})
		}
	}
	for _, q := range rt.Query {
		p := openapi3.NewQueryParameter(q.Name)
		if q.Header {
			p = openapi3.NewHeaderParameter(q.Name)
		}
		p = p.WithSchema(openapi3.NewStringSchema()).WithDescription(q.Doc)
		p.Required = q.Required
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: p})
	}

	if rt.Request != nil {
		body, err := requestBody(r, rt.Request)
		if err != nil {
			return nil, err
		}
		op.RequestBody = &openapi3.RequestBodyRef{Value: body}
	}
	if err := success(r, op, rt); err != nil {
		return nil, err
	}
	op.Security = security(rt)
	errs := errorCodes(rt)
	if rt.Relays {
		errs[0] = nil
	}
	for status, codes := range errs {
		ref, err := sharedError(r, shared, status, codes, rt)
		if err != nil {
			return nil, err
		}
		key := strconv.Itoa(status)
		if status == 0 {
			key = "default"
		}
		op.Responses.Set(key, ref)
	}
	return op, nil
}

// requestBody describes a route's JSON (or multipart) request body.
func requestBody(r *reflector, v any) (*openapi3.RequestBody, error) {
	if m, ok := v.(route.Multipart); ok {
		s := &openapi3.Schema{Type: types("object"), Properties: openapi3.Schemas{}}
		for _, p := range m.Parts {
			ps := &openapi3.Schema{Type: types("string"), Description: p.Doc}
			if p.File {
				ps.ContentMediaType = "application/octet-stream"
			}
			s.Properties[p.Name] = openapi3.NewSchemaRef("", ps)
			s.Required = append(s.Required, p.Name)
		}
		return openapi3.NewRequestBody().WithRequired(true).WithContent(openapi3.Content{
			"multipart/form-data": &openapi3.MediaType{Schema: openapi3.NewSchemaRef("", s)}}), nil
	}
	mt, err := media(r.inputs(), v)
	if err != nil {
		return nil, err
	}
	if mt.Example != nil {
		mt.Example = dropZero(mt.Example)
	}
	return openapi3.NewRequestBody().WithRequired(true).WithContent(openapi3.Content{"application/json": mt}), nil
}

// dropZero returns a decoded JSON value without its members that are null,
// false, 0, "" or empty: a request example shows what a caller sends.
func dropZero(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, x := range m {
		x = dropZero(x)
		switch y := x.(type) {
		case nil:
			delete(m, k)
			continue
		case bool:
			if !y {
				delete(m, k)
				continue
			}
		case float64:
			if y == 0 {
				delete(m, k)
				continue
			}
		case string:
			if y == "" {
				delete(m, k)
				continue
			}
		case map[string]any:
			if len(y) == 0 {
				delete(m, k)
				continue
			}
		case []any:
			if len(y) == 0 {
				delete(m, k)
				continue
			}
		}
		m[k] = x
	}
	return m
}

// media is the JSON media type of v's type, with v as the example unless it
// is the zero value.
func media(r *reflector, v any) (*openapi3.MediaType, error) {
	rv := reflect.ValueOf(v)
	mt := &openapi3.MediaType{Schema: r.ref(rv.Type())}
	if !rv.IsZero() {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("example: %w", err)
		}
		var ex any
		if err := json.Unmarshal(raw, &ex); err != nil {
			return nil, fmt.Errorf("example: %w", err)
		}
		mt.Example = ex
	}
	return mt, nil
}

// success adds the route's success answer.
func success(r *reflector, op *openapi3.Operation, rt route.Route) error {
	status := rt.Status
	if status == 0 {
		status = http.StatusOK
	}
	resp := openapi3.NewResponse().WithDescription(http.StatusText(status))
	switch {
	case status == http.StatusSwitchingProtocols:
		resp.WithDescription("Switching Protocols: a WebSocket")
	case status >= 300 && status < 400:
		resp.Headers = openapi3.Headers{"Location": &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: "where to go next", Schema: openapi3.NewSchemaRef("", openapi3.NewStringSchema())}}}}
	default:
		content := openapi3.Content{}
		if text, ok := rt.Response.(route.Text); ok {
			mt := &openapi3.MediaType{Schema: openapi3.NewSchemaRef("", openapi3.NewStringSchema())}
			if text != "" {
				mt.Example = string(text)
			}
			content["text/plain"] = mt
		} else if rt.Response == nil {
			content["*/*"] = &openapi3.MediaType{Schema: openapi3.NewSchemaRef("", &openapi3.Schema{
				Description: "not described: the answer of a plugin or a skill, in its own content type"})}
		} else {
			mt, err := media(r, rt.Response)
			if err != nil {
				return err
			}
			content["application/json"] = mt
		}
		if rt.Streams {
			content["text/event-stream"] = &openapi3.MediaType{Schema: openapi3.NewSchemaRef("", &openapi3.Schema{
				Type: types("string"), Description: "server-sent events, when the caller asks for a stream"})}
		}
		resp.Content = content
	}
	op.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Value: resp})
	for _, st := range rt.Also {
		also := *resp
		also.Description = ptr(http.StatusText(st))
		op.Responses.Set(strconv.Itoa(st), &openapi3.ResponseRef{Value: &also})
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// security lists the credentials that satisfy the route's access.
func security(rt route.Route) *openapi3.SecurityRequirements {
	unsafe := rt.Method != http.MethodGet && rt.Method != http.MethodHead
	session := openapi3.NewSecurityRequirement().Authenticate(SchemeSession)
	if unsafe {
		session = session.Authenticate(SchemeCSRF)
	}
	user := []openapi3.SecurityRequirement{
		openapi3.NewSecurityRequirement().Authenticate(SchemeAPIKey),
		openapi3.NewSecurityRequirement().Authenticate(SchemeJWT),
		session,
	}
	var reqs openapi3.SecurityRequirements
	if rt.Access == route.Public {
		reqs = append(reqs, openapi3.NewSecurityRequirement()) // anyone
		if rt.Accepts&(route.OptionalUser|route.Payment) != 0 {
			reqs = append(reqs, user...)
		}
	} else {
		reqs = append(reqs, user...)
	}
	if rt.Accepts&route.Payment != 0 {
		reqs = append(reqs, openapi3.NewSecurityRequirement().Authenticate(SchemeMPP),
			openapi3.NewSecurityRequirement().Authenticate(SchemeX402))
	}
	if rt.Accepts&route.InstanceToken != 0 {
		reqs = openapi3.SecurityRequirements{openapi3.NewSecurityRequirement().Authenticate(SchemeInstanceToken)}
	}
	return &reqs
}

// errorCodes are the route's error codes by status: its own and those its
// policy adds.
func errorCodes(rt route.Route) map[int][]api.Code {
	codes := slices.Clone(rt.Errors)
	codes = append(codes, api.CodeRateLimited, api.CodeInternal)
	if rt.Method != http.MethodGet && rt.Method != http.MethodHead {
		codes = append(codes, api.CodePayloadTooLarge)
	}
	if _, multipart := rt.Request.(route.Multipart); rt.Request != nil && !multipart {
		codes = append(codes, api.CodeInvalidJSON, api.CodeInvalidFieldType, api.CodeUnsupportedMediaType)
	}
	if rt.Access != route.Public || rt.Accepts&(route.OptionalUser|route.Payment) != 0 {
		codes = append(codes, api.CodeInvalidAPIKey, api.CodeTokenInvalid)
	}
	if rt.Access != route.Public {
		codes = append(codes, api.CodeAuthRequired)
		if rt.Method != http.MethodGet && rt.Method != http.MethodHead {
			codes = append(codes, api.CodeCSRFRequired)
		}
	}
	if rt.Access == route.Admin {
		codes = append(codes, api.CodeAdminRequired)
	}
	if rt.Accepts&route.Payment != 0 {
		codes = append(codes, api.CodePaymentRequired)
	}
	if rt.Accepts&route.InstanceToken != 0 {
		codes = append(codes, api.CodeInstanceTokenInvalid)
	}
	out := map[int][]api.Code{}
	for _, c := range codes {
		s := c.Status()
		if !slices.Contains(out[s], c) {
			out[s] = append(out[s], c)
		}
	}
	for _, cs := range out {
		slices.Sort(cs)
	}
	return out
}

// sharedError returns a reference to the error answer of status carrying one
// of codes, kept once in the components' responses: many routes share one.
func sharedError(r *reflector, shared openapi3.ResponseBodies, status int, codes []api.Code, rt route.Route) (*openapi3.ResponseRef, error) {
	name := "Error" + strconv.Itoa(status)
	if status == 0 {
		name = "ErrorRelayed"
		if rt.Response == nil {
			name = "Relayed" // an undescribed target answers in its own shape
		}
	}
	switch {
	case rt.ErrorBody != nil:
		name = reflect.TypeOf(rt.ErrorBody).Name() + strconv.Itoa(status)
	case rt.Relays && status != 0:
		name += "Relayed"
	}
	if rt.Relays && rt.Response == nil && status != 0 {
		name += "OrOwn"
	}
	if status == http.StatusPaymentRequired && rt.Accepts&route.Payment != 0 {
		name += "Challenge"
	}
	for _, c := range codes {
		name += "_" + string(c)
	}
	if _, ok := shared[name]; !ok {
		resp, err := errorResponse(r, status, codes, rt)
		if err != nil {
			return nil, err
		}
		shared[name] = &openapi3.ResponseRef{Value: resp}
	}
	return &openapi3.ResponseRef{Ref: "#/components/responses/" + name, Value: shared[name].Value}, nil
}

// errorResponse is the error answer of status carrying one of codes (status
// 0: any other error a relaying route passes on).
func errorResponse(r *reflector, status int, codes []api.Code, rt route.Route) (*openapi3.Response, error) {
	names := make([]string, len(codes))
	for i, c := range codes {
		names[i] = string(c)
	}
	var s *openapi3.SchemaRef
	switch {
	case rt.ErrorBody != nil:
		mt, err := media(r, rt.ErrorBody)
		if err != nil {
			return nil, err
		}
		s = mt.Schema
	case rt.Relays && status == 0 && rt.Response == nil:
		s = openapi3.NewSchemaRef("", &openapi3.Schema{Description: "the plugin's or skill's own answer, in its own content type"})
	case rt.Relays:
		s = openapi3.NewSchemaRef("#/components/schemas/"+errorSchema, r.schemas[errorSchema].Value)
	default:
		enum := make([]any, len(codes))
		for i, c := range codes {
			enum[i] = string(c)
		}
		s = openapi3.NewSchemaRef("", &openapi3.Schema{AllOf: openapi3.SchemaRefs{
			openapi3.NewSchemaRef("#/components/schemas/"+errorSchema, r.schemas[errorSchema].Value),
			openapi3.NewSchemaRef("", &openapi3.Schema{Properties: openapi3.Schemas{
				"code": openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string"), Enum: enum})}}),
		}})
	}
	desc := http.StatusText(status)
	switch {
	case status == 0 && rt.Response == nil:
		desc = "Any other answer of the plugin or skill, passed on with its own status and body"
	case status == 0:
		desc = "An error of the plugin or skill called, passed on with its own status and code"
	case desc == "":
		desc = "Error"
	}
	if len(names) > 0 {
		desc += ": " + strings.Join(names, ", ")
	}
	content := openapi3.Content{"application/json": &openapi3.MediaType{Schema: s}}
	if rt.Accepts&route.Payment != 0 && (status == http.StatusPaymentRequired || status == http.StatusBadRequest) {
		// A refused machine payment is an RFC 9457 problem whose code is the
		// MPP problem's name (VERIFICATION_FAILED, PAYMENT_EXPIRED, …).
		content["application/problem+json"] = &openapi3.MediaType{Schema: openapi3.NewSchemaRef("", &openapi3.Schema{
			AllOf: openapi3.SchemaRefs{openapi3.NewSchemaRef("#/components/schemas/"+errorSchema, r.schemas[errorSchema].Value)},
			Description: "a refused machine payment (RFC 9457): type, title, status, detail, challengeId, plugin; " +
				"code is the MPP problem's name in upper case (MALFORMED_CREDENTIAL, INVALID_CHALLENGE, PAYMENT_EXPIRED, " +
				"INVALID_PAYLOAD, VERIFICATION_FAILED, PAYMENT_INSUFFICIENT, METHOD_UNSUPPORTED)",
			Properties: openapi3.Schemas{
				"type": openapi3.NewSchemaRef("", openapi3.NewStringSchema()), "title": openapi3.NewSchemaRef("", openapi3.NewStringSchema()),
				"status": openapi3.NewSchemaRef("", openapi3.NewIntegerSchema()), "detail": openapi3.NewSchemaRef("", openapi3.NewStringSchema()),
			},
		})}
	}
	if rt.Relays && rt.Response == nil {
		content["*/*"] = &openapi3.MediaType{Schema: openapi3.NewSchemaRef("", &openapi3.Schema{
			Description: "the plugin's or skill's own answer, in its own content type"})}
	}
	resp := openapi3.NewResponse().WithDescription(desc).WithContent(content)
	if status == http.StatusPaymentRequired && rt.Accepts&route.Payment != 0 {
		str := func(d string) *openapi3.HeaderRef {
			return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{Description: d,
				Schema: openapi3.NewSchemaRef("", openapi3.NewStringSchema())}}}
		}
		resp.Headers = openapi3.Headers{
			"WWW-Authenticate":         str("MPP: one `Payment` challenge per accepted network (id, realm, method, intent, request, expires)"),
			x402.HeaderPaymentRequired: str("x402 v2: base64 JSON of the payment requirements (`accepts`)"),
		}
	}
	if status == http.StatusTooManyRequests {
		resp.Headers = openapi3.Headers{"Retry-After": &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: "seconds until the limit resets", Schema: openapi3.NewSchemaRef("", openapi3.NewIntegerSchema())}}}}
	}
	return resp, nil
}

// OperationID names the operation of method on path: getKeysById for
// GET /api/keys/:id, getRootMetrics for GET /metrics (outside /api).
func OperationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	if rest, ok := strings.CutPrefix(path, "/api/"); ok {
		path = "/" + rest
	} else {
		b.WriteString("Root")
	}
	for _, s := range strings.FieldsFunc(path, func(r rune) bool {
		return r == '/' || r == '.' || r == '-' || r == '_'
	}) {
		if s[0] == ':' || s[0] == '*' {
			b.WriteString("By")
			s = s[1:]
		}
		b.WriteString(strings.ToUpper(s[:1]) + s[1:])
	}
	return b.String()
}

// tag groups a route by its first path segment after /api (and /api/v1).
func tag(path string) string {
	p := strings.TrimPrefix(strings.TrimPrefix(path, "/api"), "/v1")
	seg, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if seg == "" {
		return "api"
	}
	return seg
}
