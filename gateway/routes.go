package gateway

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/sdk/provider"
)

// responseHeaders are the headers a plugin may set on a route's response.
var responseHeaders = map[string]bool{"Content-Type": true, "Location": true, "Cache-Control": true,
	"Content-Disposition": true, "Retry-After": true}

// requestHeaders are the headers forwarded to a plugin's route.
var requestHeaders = []string{"Content-Type", "Accept", "Accept-Language", "User-Agent"}

// PluginRoutes are the route-table entries of plugins' REST routes, declared
// by the plugins at start. Each is authenticated unless the plugin marked it
// public, and forwarded to its plugin with the caller; the response is
// streamed back part by part. A route outside /api/ is an error; one that
// conflicts with another is reported when the table is built.
func (g *Gateway) PluginRoutes(fwd RouteForwarder, routes []PluginRoute) ([]route.Route, error) {
	out := make([]route.Route, 0, len(routes))
	for _, rt := range routes {
		if !strings.HasPrefix(rt.Path, "/api/") {
			return nil, errors.New("plugin " + rt.Plugin + ": route " + rt.Path + " is outside /api/")
		}
		access := route.User
		if rt.Public {
			access = route.Public
		}
		out = append(out, route.Route{Method: rt.Method, Path: rt.Path, Handler: g.forward(fwd, rt), Access: access, Relays: true,
			Errors:  []api.Code{api.CodePluginError, api.CodePluginTimeout, api.CodePluginUnavailable},
			Summary: "plugin " + rt.Plugin + ": forwarded with the caller, its answer streamed back"})
	}
	return out, nil
}

func (g *Gateway) forward(fwd RouteForwarder, rt PluginRoute) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		var caller provider.Caller
		if !rt.Public {
			p, ci, err := g.identify(r)
			if err != nil {
				return err
			}
			if p == nil {
				return api.ErrAuthRequired
			}
			caller = g.caller(p, ci, api.RequestID(r.Context()))
		} else {
			caller.RequestID = api.RequestID(r.Context())
		}
		var body []byte
		if r.Body != nil {
			b, err := io.ReadAll(io.LimitReader(r.Body, api.MaxBody+1))
			if err != nil {
				return api.AsError(err)
			}
			if len(b) > api.MaxBody {
				return api.ErrTooLarge
			}
			body = b
		}
		req := &provider.HTTPRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Params: map[string]string{}, Headers: map[string]string{}, Body: body, Caller: caller}
		for _, p := range ps {
			req.Params[p.Key] = p.Value
		}
		for _, h := range requestHeaders {
			if v := r.Header.Get(h); v != "" {
				req.Headers[h] = v
			}
		}
		started := false
		err := fwd.HandleHTTP(r.Context(), rt.Plugin, req, func(part *provider.HTTPResponsePart) error {
			if !started {
				started = true
				for k, v := range part.Headers {
					if k = http.CanonicalHeaderKey(k); responseHeaders[k] {
						w.Header().Set(k, v)
					}
				}
				status := part.Status
				if status < 200 || status > 599 {
					status = http.StatusBadGateway
				}
				w.WriteHeader(status)
			}
			if len(part.Body) > 0 {
				if _, err := w.Write(part.Body); err != nil {
					return err
				}
				flush(w)
			}
			return nil
		})
		if err != nil && !started {
			return callError(err)
		}
		if err != nil {
			g.log().Warn("plugin route ended early", "plugin", rt.Plugin, "path", r.URL.Path, "err", err)
		}
		return nil
	}
}
