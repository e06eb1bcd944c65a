package app

import (
	"net/http"

	"github.com/agentbot/gateway/core/openapi"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/server"
)

// APIInfo names the API in its OpenAPI document.
func APIInfo() openapi.Info {
	return openapi.Info{Title: "Agentbot Gateway", Version: "1",
		Description: "The REST API of the gateway, generated from its route table (README, \"Endpoints\"). " +
			"Errors answer `{error, code, request_id}`; each operation lists its codes by status."}
}

// openAPIRoute serves the OpenAPI document of the whole route table (the
// core's routes and m's, read when it is first asked for), with this
// server's rate limits.
func openAPIRoute(srv *server.Server, m *Mounted) route.Route {
	doc := &openapi.Document{Routes: func() []route.Route { return append(srv.Routes(), m.Routes...) },
		Limiter: srv.Limiter, Info: APIInfo()}
	return route.Route{Method: http.MethodGet, Path: "/api/openapi.json", Handler: doc.Handle, Access: route.Public,
		Summary:  "this API's OpenAPI 3.1 document, generated from the route table (ETag; `If-None-Match` → 304)",
		Response: map[string]any{}}
}
