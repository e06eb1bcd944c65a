package rendermcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/agentbot/gateway/sdk/provider"
)

// reply is a route's answer: a JSON body with a status, and for redirects a
// Location.
type reply struct {
	status   int
	location string
	body     any
}

type route struct {
	method, path string
	handle       func(req *provider.HTTPRequest) (*reply, error)
}

// routes is the single table behind both Metadata and HandleHTTP. None is
// public: the gateway authenticates callers before forwarding.
var routes = []route{
	{http.MethodGet, "/api/render-mcp/health", health},
	{http.MethodGet, "/api/render-mcp/info", info},
	{http.MethodGet, "/api/render-mcp/setup", setup},
	{http.MethodGet, "/api/render-mcp/tools", tools},
	{http.MethodGet, "/api/render-mcp/examples", examples},
	{http.MethodGet, "/api/render-mcp/docs", redirectTo(docsURL)},
	{http.MethodGet, "/api/render-mcp/github", redirectTo(repoURL)},
	{http.MethodPost, "/api/render-mcp/validate-config", validateConfig},
}

// HandleHTTP dispatches a route and renders its reply, or its error as
// {"error", "code"}.
func (p *Provider) HandleHTTP(_ context.Context, req *provider.HTTPRequest, w provider.HTTPResponseWriter) error {
	h := notFound
	for _, r := range routes {
		if r.method == req.Method && r.path == req.Path {
			h = r.handle
			break
		}
	}
	rep, err := h(req)
	if err != nil {
		var pe *provider.Error
		if !errors.As(err, &pe) {
			p.log.Error("rendermcp: route failed", "path", req.Path, "request_id", req.Caller.RequestID, "err", err)
			pe = provider.Errorf(http.StatusInternalServerError, "INTERNAL", "Internal error")
		}
		rep = &reply{status: pe.Status, body: errorBody{Error: pe.Message, Code: pe.Code}}
	}
	return writeJSON(w, rep)
}

type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func notFound(*provider.HTTPRequest) (*reply, error) {
	return nil, provider.Errorf(http.StatusNotFound, "NOT_FOUND", "Not found")
}

func redirectTo(url string) func(*provider.HTTPRequest) (*reply, error) {
	return func(*provider.HTTPRequest) (*reply, error) {
		return &reply{status: http.StatusMovedPermanently, location: url, body: map[string]string{"location": url}}, nil
	}
}

func writeJSON(w provider.HTTPResponseWriter, rep *reply) error {
	b, err := json.Marshal(rep.body)
	if err != nil {
		return err
	}
	h := map[string]string{"Content-Type": "application/json"}
	if rep.location != "" {
		h["Location"] = rep.location
	}
	if err := w.WriteHeader(rep.status, h); err != nil {
		return err
	}
	return w.Write(append(b, '\n'))
}
