package rendermcp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentbot/gateway/sdk/provider"
)

// The two MCP methods the capability exposes.
const (
	methodListTools = "tools/list"
	methodCallTool  = "tools/call"
)

// call is the capability's input: {"method", "name"?, "arguments"?, "apiKey"?}.
type call struct {
	Method    string          `json:"method"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	APIKey    string          `json:"apiKey"`
}

// Invoke lists or calls the Render MCP server's tools as the caller. Caller
// mistakes and upstream failures come back as *provider.Error; a returned
// error means the gateway's deadline passed or the call was abandoned.
func (p *Provider) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	if req.Capability != CapabilityID {
		return failed(provider.Errorf(http.StatusNotFound, "UNKNOWN_CAPABILITY", "rendermcp does not serve %q", req.Capability)), nil
	}
	c, key, perr := parseCall(req)
	if perr != nil {
		return failed(perr), nil
	}
	x := &exchange{s: p.settings.Load(), key: key}
	callCtx, cancel := context.WithTimeout(ctx, x.s.timeout)
	defer cancel()

	out, err := p.run(callCtx, x, c)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return failed(p.upstreamError(callCtx, x, err)), nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &provider.InvokeResponse{Output: b}, nil
}

func failed(e *provider.Error) *provider.InvokeResponse { return &provider.InvokeResponse{Error: e} }

// parseCall validates the input and picks the caller's Render key: the
// call's own "apiKey" if given, else the key stored for the caller (BYOK).
func parseCall(req *provider.InvokeRequest) (*call, string, *provider.Error) {
	var c call
	if in := bytes.TrimSpace(req.Input); len(in) > 0 {
		if err := json.Unmarshal(in, &c); err != nil {
			return nil, "", provider.Errorf(http.StatusBadRequest, "INVALID_JSON", "Malformed JSON input")
		}
	}
	switch c.Method {
	case methodListTools:
	case methodCallTool:
		if c.Name == "" {
			return nil, "", provider.Errorf(http.StatusBadRequest, "TOOL_NAME_REQUIRED", "tools/call needs the tool's \"name\"")
		}
		if a := bytes.TrimSpace(c.Arguments); len(a) > 0 && !bytes.Equal(a, []byte("null")) && a[0] != '{' {
			return nil, "", provider.Errorf(http.StatusBadRequest, "INVALID_ARGUMENTS", "\"arguments\" must be a JSON object")
		}
	default:
		return nil, "", provider.Errorf(http.StatusBadRequest, "INVALID_METHOD", "\"method\" must be %q or %q", methodListTools, methodCallTool)
	}
	key := strings.TrimSpace(c.APIKey)
	if key == "" {
		key = strings.TrimSpace(req.Caller.Credentials["render"])
	}
	switch {
	case key == "":
		return nil, "", provider.Errorf(http.StatusBadRequest, "RENDER_KEY_REQUIRED",
			"A Render API key is required: store one for \"render\" or send \"apiKey\"")
	case !strings.HasPrefix(key, keyPrefix):
		return nil, "", provider.Errorf(http.StatusBadRequest, "INVALID_RENDER_KEY", "Render API keys start with %s", keyPrefix)
	case strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
		// It goes into a header; refuse it here rather than fail in net/http.
		return nil, "", provider.Errorf(http.StatusBadRequest, "INVALID_RENDER_KEY", "The Render API key contains invalid characters")
	}
	return &c, key, nil
}

// toolInfo is one entry of tools/list's output.
type toolInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	InputSchema any    `json:"inputSchema"`
}

// callResult is tools/call's output; Content keeps the SDK's own encoding of
// each content block.
type callResult struct {
	Content           []mcp.Content `json:"content"`
	IsError           bool          `json:"isError"`
	StructuredContent any           `json:"structuredContent,omitempty"`
}

// run opens a session as the caller, does the one request, and closes the
// session.
func (p *Provider) run(ctx context.Context, x *exchange, c *call) (any, error) {
	cs, err := p.connect(ctx, x)
	if err != nil {
		return nil, err
	}
	defer cs.Close()

	if c.Method == methodListTools {
		list := []toolInfo{}
		for t, err := range cs.Tools(ctx, nil) {
			if err != nil {
				return nil, err
			}
			list = append(list, toolInfo{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema})
		}
		return map[string]any{"tools": list}, nil
	}

	params := &mcp.CallToolParams{Name: c.Name}
	if a := bytes.TrimSpace(c.Arguments); len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		params.Arguments = json.RawMessage(a) // raw, so numbers reach the server as the caller wrote them
	}
	res, err := cs.CallTool(ctx, params)
	if err != nil {
		return nil, err
	}
	out := callResult{Content: res.Content, IsError: res.IsError, StructuredContent: res.StructuredContent}
	if out.Content == nil {
		out.Content = []mcp.Content{}
	}
	return out, nil
}
