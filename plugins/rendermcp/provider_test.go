package rendermcp_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/agentbot/gateway/plugins/rendermcp"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

func TestMetadata(t *testing.T) {
	c := providertest.Serve(t, rendermcp.New())
	m, err := c.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "rendermcp" || m.Version != "1.0.0" || m.ProtocolVersion != provider.ProtocolVersion {
		t.Errorf("Metadata = %q %q v%d; want rendermcp 1.0.0 v%d", m.Name, m.Version, m.ProtocolVersion, provider.ProtocolVersion)
	}
	if len(m.Capabilities) != 1 {
		t.Fatalf("Capabilities = %+v; want one", m.Capabilities)
	}
	if cp := m.Capabilities[0]; cp.ID != "render-mcp" || cp.Streaming || cp.PriceMicroUSD != 0 {
		t.Errorf("Capability = %+v; want render-mcp, not streaming, free", cp)
	}
	want := map[string]string{
		"/api/render-mcp/health": "GET", "/api/render-mcp/info": "GET", "/api/render-mcp/setup": "GET",
		"/api/render-mcp/tools": "GET", "/api/render-mcp/examples": "GET", "/api/render-mcp/docs": "GET",
		"/api/render-mcp/github": "GET", "/api/render-mcp/validate-config": "POST",
	}
	if len(m.Routes) != len(want) {
		t.Errorf("Routes = %+v; want %d", m.Routes, len(want))
	}
	for _, r := range m.Routes {
		if want[r.Path] != r.Method || r.Public {
			t.Errorf("Route %s %s public=%v; want %s, not public", r.Method, r.Path, r.Public, want[r.Path])
		}
	}
}

func TestConfigure(t *testing.T) {
	c := providertest.Serve(t, rendermcp.New())
	for _, tc := range []struct {
		config string
		ok     bool
	}{
		{``, true},
		{`null`, true},
		{`{}`, true},
		{`{"url": "https://mcp.render.com/mcp", "timeout": "30s"}`, true},
		{`{"url": "http://127.0.0.1:9000/mcp"}`, true},
		{`{"url": "not a url"}`, false},
		{`{"url": "ftp://mcp.render.com/mcp"}`, false},
		{`{"url": "/mcp"}`, false},
		{`{"url": "https://user:pw@mcp.render.com/mcp"}`, false},
		{`{"url": "https://mcp.render.com/%zz"}`, false},
		{`{"timeout": "soon"}`, false},
		{`{"timeout": "-1s"}`, false},
		{`{"url": 7}`, false},
		{`{"endpoint": "https://mcp.render.com/mcp"}`, false},
		{`[`, false},
	} {
		resp, err := c.Configure(context.Background(), &provider.ConfigureRequest{Config: json.RawMessage(tc.config)})
		if err != nil {
			t.Fatalf("Configure(%q) = %v", tc.config, err)
		}
		switch {
		case tc.ok && resp.Error != nil:
			t.Errorf("Configure(%q) = %v; want success", tc.config, resp.Error)
		case !tc.ok && (resp.Error == nil || resp.Error.Status != 400 || resp.Error.Code != "INVALID_CONFIG"):
			t.Errorf("Configure(%q) = %v; want 400 INVALID_CONFIG", tc.config, resp.Error)
		}
	}
}
