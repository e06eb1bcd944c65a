// Package route owns the route table: every endpoint is one Route entry that
// says, next to its handler, who may call it, which rate-limit rule counts it,
// how large a body it takes, whether it streams, and what it does. Build turns
// the table into the one router; nothing else registers handlers or matches
// paths. The README's endpoint list is rendered from the table (Markdown).
package route

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/ratelimit"
)

// Access says who may call a route. It is checked before the handler runs.
type Access uint8

const (
	// Public routes take any caller; a handler may still look at a credential
	// that came along (the gateway's machine payments, sign-in, webhooks that
	// check their own signature).
	Public Access = iota
	// User routes need an authenticated caller (401 otherwise); a cookie
	// session changing state also needs its CSRF token (403).
	User
	// Admin routes need an admin (403 ADMIN_REQUIRED otherwise).
	Admin
)

func (a Access) String() string {
	switch a {
	case Public:
		return "public"
	case User:
		return "user"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("Access(%d)", uint8(a))
}

// Route is one endpoint.
type Route struct {
	Method string
	Path   string // httprouter syntax: /api/keys/:id
	// Handler answers; its errors are rendered by the api.Adapter.
	Handler api.HandlerFunc
	Access  Access
	// Limit names the rate-limit rule that counts the route's requests; empty
	// means the rule whose prefix matches Path (decided once, at Build), else
	// the default rule.
	Limit string
	// MaxBody is the largest request body in bytes; 0 means api.MaxBody.
	MaxBody int64
	// Streams marks routes that may answer text/event-stream.
	Streams bool
	// Summary is one line for people (the README's endpoint list).
	Summary string
	// Within names the parameter route that serves this static path when
	// httprouter cannot hold both (POST /api/skills/publish within POST
	// /api/skills/:name): that route hands requests whose parameter equals
	// this path's last segment to this entry, with this entry's policy.
	Within string

	// The fields below describe the route for the OpenAPI document
	// (core/openapi); Build does not look at them.

	// Request is a value of the JSON request body's type (nil: the route
	// reads no JSON body); a Multipart value documents a form upload. A
	// value other than the zero value is also the request's example.
	Request any
	// Response is a value of the success answer's JSON type (nil: an object
	// of any shape, as plugin routes answer). A value other than the zero
	// value is also the answer's example.
	Response any
	// Status is the success status; 0 means 200. A 3xx status documents a
	// redirect (Location), 101 a WebSocket upgrade.
	Status int
	// Also lists other success statuses answered with the same body (POST
	// /api/skills: 201 installed, 200 installed already).
	Also []int
	// Query names the query parameters (and request headers) the handler
	// reads.
	Query []Param
	// Errors are the error codes the handler itself answers with. Those of
	// Access (401, 403), the body limit (413), the JSON decoder (400, 415
	// when Request is set), the rate limit (429) and INTERNAL are added by
	// the document; each code's status is api.Code.Status.
	Errors []api.Code
	// Relays marks routes that pass on a plugin's or a skill's own errors:
	// their statuses and codes are the target's, so the document lists
	// Errors as the known ones, not as all.
	Relays bool
	// ErrorBody is a value of the error answers' type when it is not the
	// contract's {error, code, request_id} (the OpenAI-compatible routes).
	ErrorBody any
	// Accepts lists credentials the route takes beyond what Access says:
	// machine payments (a 402 challenge), an agent's instance token.
	Accepts Credential
}

// Text as a Response documents a text/plain answer; a value other than ""
// is its example.
type Text string

// Param is a query parameter, or a request header.
type Param struct {
	Name string
	// Header marks a request header rather than a query parameter.
	Header bool
	// Doc says what the value means and which values are valid.
	Doc string
	// Required marks a parameter without which the route answers 400.
	Required bool
}

// Multipart documents a multipart/form-data request body: each part's name
// and what it holds.
type Multipart struct {
	Parts []Part
}

// Part is a multipart/form-data part.
type Part struct {
	Name string
	Doc  string
	// File marks a binary part (a file upload).
	File bool
}

// Credential is a set of credentials a route accepts beyond Access.
type Credential uint8

const (
	// Payment: the route answers 402 with a machine-payment challenge (MPP's
	// WWW-Authenticate: Payment, x402's PAYMENT-REQUIRED) and takes the
	// payment (Authorization: Payment …, PAYMENT-SIGNATURE) instead of an
	// account; an account's credential is used when one comes along.
	Payment Credential = 1 << iota
	// InstanceToken: the route takes an agent's instance token
	// (Authorization: Bearer, ?token= or a WebSocket subprotocol).
	InstanceToken
	// OptionalUser: a public route that uses the caller's credential when
	// one comes along (an API key, a JWT or a session).
	OptionalUser
)

// Deps are what Build needs to enforce each route's policy.
type Deps struct {
	Adapter api.Adapter
	Limiter *ratelimit.Limiter
	// UserID and ClientIP key the rate-limit counters.
	UserID   func(*http.Request) string
	ClientIP func(*http.Request) string
	// Observe, if set, wraps each route's whole handler (its body limit,
	// rate limit and access check included): the per-route request metrics.
	Observe func(rt Route, h http.Handler) http.Handler
}

// Build returns the router serving routes, each behind its body limit, its
// rate-limit rule and its access check, in that order (so that a refused
// request costs no more than counting it). Unknown paths answer 404 JSON and
// are counted by the default rule. A duplicate or conflicting route is an
// error, never a panic.
func Build(routes []Route, d Deps) (http.Handler, error) {
	r := httprouter.New()
	r.HandleOPTIONS = true
	r.PanicHandler = nil // api.Recover handles panics with the request id
	var errs []error
	handlers := make([]http.Handler, len(routes))
	for i, rt := range routes {
		h, err := wrap(rt, d)
		if err != nil {
			errs = append(errs, err)
		}
		handlers[i] = h
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// httprouter cannot hold /a/b beside /a/:x for one method: a static route
	// declared Within the parameter route is served by it.
	shadowed := map[int]bool{}
	for i, rt := range routes {
		prefix, param, ok := lastParam(rt.Path)
		if !ok {
			continue
		}
		statics := map[string]http.Handler{}
		for j, st := range routes {
			if st.Within != rt.Path || st.Method != rt.Method {
				continue
			}
			rest, found := strings.CutPrefix(st.Path, prefix)
			if !found || rest == "" || strings.ContainsAny(rest, "/:*") {
				errs = append(errs, fmt.Errorf("route %s %s: not a static sibling of %s", st.Method, st.Path, rt.Path))
				continue
			}
			statics[rest] = handlers[j]
			shadowed[j] = true
		}
		if len(statics) > 0 {
			h := handlers[i]
			handlers[i] = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if sh, ok := statics[httprouter.ParamsFromContext(req.Context()).ByName(param)]; ok {
					sh.ServeHTTP(w, req)
					return
				}
				h.ServeHTTP(w, req)
			})
		}
	}
	// A static route Within a parameter route that this method does not
	// have, while deeper routes of the method use the parameter (POST
	// /api/agents/provision beside POST /api/agents/:id/verify): the
	// parameter route is made for it, answering other values as unknown
	// paths. Without such deeper routes a missing one is a mistake.
	synthetic := map[[2]string]map[string]http.Handler{}
	for i, rt := range routes {
		if rt.Within == "" || shadowed[i] {
			continue
		}
		prefix, _, ok := lastParam(rt.Within)
		rest, found := strings.CutPrefix(rt.Path, prefix)
		deeper := slices.ContainsFunc(routes, func(o Route) bool {
			return o.Method == rt.Method && strings.HasPrefix(o.Path, rt.Within+"/")
		})
		if !ok || !found || rest == "" || strings.ContainsAny(rest, "/:*") || !deeper {
			errs = append(errs, fmt.Errorf("route %s %s: no route %s %s to be served within", rt.Method, rt.Path, rt.Method, rt.Within))
			continue
		}
		key := [2]string{rt.Method, rt.Within}
		if synthetic[key] == nil {
			synthetic[key] = map[string]http.Handler{}
		}
		synthetic[key][rest] = handlers[i]
		shadowed[i] = true
	}
	for key, statics := range synthetic {
		_, param, _ := lastParam(key[1])
		h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if sh, ok := statics[httprouter.ParamsFromContext(req.Context()).ByName(param)]; ok {
				sh.ServeHTTP(w, req)
				return
			}
			r.NotFound.ServeHTTP(w, req)
		})
		if err := register(r, Route{Method: key[0], Path: key[1]}, h); err != nil {
			errs = append(errs, err)
		}
	}
	for i, rt := range routes {
		if shadowed[i] {
			continue
		}
		if err := register(r, rt, handlers[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	def := d.Limiter.Rule(ratelimit.DefaultName)
	r.NotFound = d.Limiter.Wrap(def, d.UserID, d.ClientIP)(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		api.WriteError(w, api.RequestID(req.Context()), api.Errorf(404, api.CodeNotFound, "No route for %s %s", req.Method, req.URL.Path))
	}))
	r.MethodNotAllowed = d.Limiter.Wrap(def, d.UserID, d.ClientIP)(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		api.WriteError(w, api.RequestID(req.Context()), api.Errorf(405, api.CodeMethodNotAllowed, "Method %s not allowed on %s", req.Method, req.URL.Path))
	}))
	return r, nil
}

// lastParam splits "/a/b/:x" into "/a/b/" and "x" when the last segment, and
// only it, is a parameter.
func lastParam(path string) (prefix, param string, ok bool) {
	i := strings.LastIndex(path, "/:")
	if i < 0 || strings.ContainsAny(path[:i], ":*") || strings.Contains(path[i+1:], "/") {
		return "", "", false
	}
	return path[:i+1], path[i+2:], true
}

// wrap puts rt's handler behind its body limit, rate-limit rule and access
// check.
func wrap(rt Route, d Deps) (http.Handler, error) {
	if rt.Handler == nil || rt.Method == "" || !strings.HasPrefix(rt.Path, "/") {
		return nil, fmt.Errorf("route %s %s: needs a method, a path and a handler", rt.Method, rt.Path)
	}
	rule := d.Limiter.Match(rt.Path)
	if rt.Limit != "" {
		var ok bool
		if rule, ok = d.Limiter.Named(rt.Limit); !ok {
			return nil, fmt.Errorf("route %s %s: no rate-limit rule %q", rt.Method, rt.Path, rt.Limit)
		}
	}
	h := access(rt.Access, rt.Handler)
	var handle http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := h(w, req, httprouter.ParamsFromContext(req.Context())); err != nil {
			d.Adapter.Render(w, req, err)
		}
	})
	handle = d.Limiter.Wrap(rule, d.UserID, d.ClientIP)(handle)
	handle = api.LimitBodyTo(rt.MaxBody)(handle)
	if d.Observe != nil {
		handle = d.Observe(rt, handle)
	}
	return handle, nil
}

// register adds a route, turning httprouter's panic on a conflict into an
// error.
func register(r *httprouter.Router, rt Route, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %s %s (%s) conflicts with another route: %v", rt.Method, rt.Path, rt.Summary, p)
		}
	}()
	r.Handler(rt.Method, rt.Path, h)
	return nil
}

// access checks the caller before h runs.
func access(a Access, h api.HandlerFunc) api.HandlerFunc {
	switch a {
	case User:
		return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
			if _, err := auth.Require(r); err != nil {
				return err
			}
			return h(w, r, ps)
		}
	case Admin:
		return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
			if _, err := auth.RequireAdmin(r); err != nil {
				return err
			}
			return h(w, r, ps)
		}
	}
	return h
}

// Markdown renders routes as the README's endpoint table, in order: each
// route's method and path, who may call it, the rate-limit rule that counts it
// (as limiter resolves it), its body cap, the function that handles it, and
// its summary. One table for finding any endpoint's handler and policy.
func Markdown(routes []Route, limiter *ratelimit.Limiter) string {
	var b strings.Builder
	b.WriteString("| Endpoint | Method | Who | Limit | Body | Handler | What |\n|---|---|---|---|---|---|---|\n")
	for _, rt := range routes {
		rule := rt.Rule(limiter)
		limit := fmt.Sprintf("%s %d/%s", rule.Name, rule.Rate.Limit, per(rule.Rate.Period))
		if rule.PerIP {
			limit += " per IP"
		}
		body := "1 MiB"
		if rt.MaxBody > api.MaxBody {
			body = fmt.Sprintf("%d MiB", rt.MaxBody>>20)
		} else if rt.MaxBody > 0 && rt.MaxBody < api.MaxBody {
			body = fmt.Sprintf("%d KiB", rt.MaxBody>>10)
		}
		what := rt.Summary
		if rt.Streams {
			what += " (streams)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | `%s` | %s |\n", rt.Path, rt.Method, rt.Access, limit, body,
			handlerName(rt.Handler), strings.ReplaceAll(what, "|", `\|`))
	}
	return b.String()
}

// Rule is the rate-limit rule of limiter that counts rt's requests: the
// named one, else the one whose prefix matches the path, else the default.
func (rt Route) Rule(limiter *ratelimit.Limiter) ratelimit.Rule {
	if rt.Limit != "" {
		return limiter.Rule(rt.Limit)
	}
	return limiter.Match(rt.Path)
}

func per(d time.Duration) string {
	switch d {
	case time.Second:
		return "s"
	case time.Minute:
		return "min"
	case time.Hour:
		return "h"
	case 24 * time.Hour:
		return "day"
	}
	return d.String()
}

// handlerName names a handler's function as package.Type.method (closures
// as their enclosing function).
func handlerName(h api.HandlerFunc) string {
	name := runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name()
	name = strings.TrimPrefix(name, "github.com/agentbot/gateway/")
	name = strings.TrimSuffix(name, "-fm")
	if i := strings.Index(name, ".func"); i > 0 {
		name = name[:i]
	}
	name = strings.NewReplacer("(*", "", ")", "").Replace(name)
	// A closure inlined into its caller is named after the whole chain; its
	// maker (Type.method) is the last two names.
	if _, rest, ok := strings.Cut(name, "."); ok && strings.Count(rest, ".") > 1 {
		parts := strings.Split(rest, ".")
		name = strings.Join(parts[len(parts)-2:], ".")
	}
	return name
}

// Sorted returns routes ordered by path, then method, for a stable listing.
func Sorted(routes []Route) []Route {
	out := slices.Clone(routes)
	slices.SortStableFunc(out, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}
