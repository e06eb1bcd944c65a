package gateway

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/sdk/provider"
)

// responseHeaders are the headers a plugin may set on a route's response.
var responseHeaders = map[string]bool{"Content-Type": true, "Location": true, "Cache-Control": true,
	"Content-Disposition": true, "Retry-After": true}

// requestHeaders are the headers forwarded to a plugin's route.
var requestHeaders = []string{"Content-Type", "Accept", "Accept-Language", "User-Agent"}

// MountRoutes registers plugins' REST routes on r. Each is authenticated unless
// the plugin marked it public, and forwarded to its plugin with the caller; the
// response is streamed back part by part.
func (g *Gateway) MountRoutes(r *httprouter.Router, a api.Adapter, fwd RouteForwarder, routes []PluginRoute) error {
	for _, rt := range routes {
		if !strings.HasPrefix(rt.Path, "/api/") {
			return errors.New("plugin " + rt.Plugin + ": route " + rt.Path + " is outside /api/")
		}
		if err := safeHandle(r, rt.Method, rt.Path, a.Handle(g.forward(fwd, rt))); err != nil {
			return errors.New("plugin " + rt.Plugin + ": route " + rt.Method + " " + rt.Path + ": " + err.Error())
		}
	}
	return nil
}

// safeHandle registers a route, turning httprouter's panic on a conflict into an error.
func safeHandle(r *httprouter.Router, method, path string, h httprouter.Handle) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = errors.New("conflicts with an existing route")
		}
	}()
	r.Handle(method, path, h)
	return nil
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
