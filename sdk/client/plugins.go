package client

import (
	"context"
	"net/http"
)

// PluginStatus is one provider plugin's state in the gateway's plugin host.
type PluginStatus struct {
	Name     string `json:"name"`
	Up       bool   `json:"up"`
	Pid      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
	Breaker  string `json:"breaker"` // closed, open or half-open
	Error    string `json:"error,omitempty"`
}

// PluginsStatus returns every plugin's state, restarts and last error
// (GET /api/admin/plugins, admins only: 403 ADMIN_REQUIRED otherwise).
func (c *Client) PluginsStatus(ctx context.Context) ([]PluginStatus, error) {
	var out struct {
		Plugins []PluginStatus `json:"plugins"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/api/admin/plugins", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Plugins, nil
}
