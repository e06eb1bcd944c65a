package rendermcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentbot/gateway/plugins/rendermcp"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

const testKey = "rnd_test0123456789abcdefghijkl"

type listServicesIn struct {
	Limit int `json:"limit,omitempty" jsonschema:"how many services to return"`
}

type service struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type listServicesOut struct {
	Services []service `json:"services"`
}

type getServiceIn struct {
	ServiceID string `json:"serviceId" jsonschema:"the service's id"`
}

// renderServer is a stand-in for Render's MCP server, built with the same SDK.
// It answers 401 unless the request carries "Authorization: Bearer <key>", and
// records every Authorization header it sees.
type renderServer struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func (s *renderServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.auth)
}

type serverOptions struct {
	// legacy refuses server/discover, as servers that predate protocol
	// 2026-07-28 do, so the client falls back to initialize and a session.
	legacy bool
	// hang, if set, picks requests (by HTTP method and JSON-RPC method) that
	// never get an answer before the test ends.
	hang func(httpMethod, rpcMethod string) bool
}

func newRenderServer(t *testing.T, key string, opts serverOptions) *renderServer {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "render-test", Version: "0.0.1"}, nil)
	services := []service{{"srv-1", "agentbot-api"}, {"srv-2", "agentbot-web"}, {"srv-3", "worker"}}
	mcp.AddTool(srv, &mcp.Tool{Name: "list_services", Description: "List services in the selected workspace"},
		func(_ context.Context, _ *mcp.CallToolRequest, in listServicesIn) (*mcp.CallToolResult, listServicesOut, error) {
			out := services
			if in.Limit > 0 && in.Limit < len(out) {
				out = out[:in.Limit]
			}
			return nil, listServicesOut{Services: out}, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "get_service", Description: "Get a service by id"},
		func(_ context.Context, _ *mcp.CallToolRequest, in getServiceIn) (*mcp.CallToolResult, any, error) {
			for _, s := range services {
				if s.ID == in.ServiceID {
					return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s.Name}}}, nil, nil
				}
			}
			return nil, nil, fmt.Errorf("service %s not found", in.ServiceID)
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	release := make(chan struct{})
	rs := &renderServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		rs.mu.Lock()
		rs.auth = append(rs.auth, a)
		rs.mu.Unlock()
		if a != "Bearer "+key {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		_ = json.Unmarshal(body, &msg)
		if opts.hang != nil && opts.hang(r.Method, msg.Method) {
			<-release
			return
		}
		if opts.legacy && msg.Method == "server/discover" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"Method not found"}}`, msg.ID)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(rs.Close)
	t.Cleanup(func() { close(release) }) // runs first, so Close does not wait on hung handlers
	return rs
}

// serve runs a Provider configured for url over gRPC.
func serve(t *testing.T, config string) *provider.Client {
	t.Helper()
	c := providertest.Serve(t, rendermcp.New())
	resp, err := c.Configure(context.Background(), &provider.ConfigureRequest{Config: json.RawMessage(config)})
	if err != nil || resp.Error != nil {
		t.Fatalf("Configure(%s) = %v, %v", config, resp, err)
	}
	return c
}

func configFor(url string) string { return fmt.Sprintf(`{"url": %q, "timeout": "10s"}`, url) }

func invoke(t *testing.T, c *provider.Client, input string, creds map[string]string) *provider.InvokeResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Invoke(ctx, &provider.InvokeRequest{Capability: "render-mcp", Input: json.RawMessage(input),
		Caller: provider.Caller{UserID: "usr_1", Credentials: creds}})
	if err != nil {
		t.Fatalf("Invoke(%s) = %v", input, err)
	}
	return resp
}

func wantError(t *testing.T, resp *provider.InvokeResponse, status int, code string) {
	t.Helper()
	if resp.Error == nil || resp.Error.Status != status || resp.Error.Code != code {
		t.Errorf("Invoke = %v (output %s); want %d %s", resp.Error, resp.Output, status, code)
	}
}

// Both tests run against a current server and one that only speaks the
// initialize handshake (with a session), as Render's may.
var protocols = []struct {
	name string
	opts serverOptions
}{{"current", serverOptions{}}, {"legacy", serverOptions{legacy: true}}}

func TestListTools(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) { testListTools(t, p.opts) })
	}
}

func testListTools(t *testing.T, opts serverOptions) {
	rs := newRenderServer(t, testKey, opts)
	c := serve(t, configFor(rs.URL))

	resp := invoke(t, c, `{"method": "tools/list"}`, map[string]string{"render": testKey})
	if resp.Error != nil {
		t.Fatalf("tools/list = %v", resp.Error)
	}
	var out struct {
		Tools []struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"inputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(resp.Output, &out); err != nil {
		t.Fatalf("tools/list output %s: %v", resp.Output, err)
	}
	var names []string
	for _, tl := range out.Tools {
		names = append(names, tl.Name)
		var schema map[string]any
		if err := json.Unmarshal(tl.InputSchema, &schema); err != nil || schema["type"] != "object" || tl.Description == "" {
			t.Errorf("tool %s: description %q, inputSchema %s", tl.Name, tl.Description, tl.InputSchema)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"get_service", "list_services"}) {
		t.Errorf("tools/list names = %v; want [get_service list_services]", names)
	}

	// Every request carried the caller's key, and only as the Bearer token.
	seen := rs.seen()
	if len(seen) == 0 {
		t.Fatal("the MCP server saw no request")
	}
	for _, a := range seen {
		if a != "Bearer "+testKey {
			t.Errorf("Authorization = %q; want Bearer %s", a, testKey)
		}
	}
}

func TestCallTool(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) { testCallTool(t, p.opts) })
	}
}

func testCallTool(t *testing.T, opts serverOptions) {
	rs := newRenderServer(t, testKey, opts)
	c := serve(t, configFor(rs.URL))

	// The key may come with the call instead of from the stored credentials.
	resp := invoke(t, c, `{"method": "tools/call", "name": "list_services", "arguments": {"limit": 2}, "apiKey": "`+testKey+`"}`, nil)
	if resp.Error != nil {
		t.Fatalf("tools/call = %v", resp.Error)
	}
	var out struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		IsError           *bool           `json:"isError"`
		StructuredContent listServicesOut `json:"structuredContent"`
	}
	if err := json.Unmarshal(resp.Output, &out); err != nil {
		t.Fatalf("tools/call output %s: %v", resp.Output, err)
	}
	if out.IsError == nil || *out.IsError || len(out.StructuredContent.Services) != 2 || out.StructuredContent.Services[1].Name != "agentbot-web" {
		t.Errorf("tools/call list_services {limit:2} = %s; want two services, isError false", resp.Output)
	}
	if len(out.Content) != 1 || out.Content[0].Type != "text" {
		t.Fatalf("tools/call content = %+v; want one text block", out.Content)
	}
	var fromText listServicesOut
	if err := json.Unmarshal([]byte(out.Content[0].Text), &fromText); err != nil || len(fromText.Services) != 2 {
		t.Errorf("tools/call text = %q; want the two services as JSON", out.Content[0].Text)
	}

	// No arguments at all.
	resp = invoke(t, c, `{"method": "tools/call", "name": "list_services"}`, map[string]string{"render": testKey})
	if resp.Error != nil || !json.Valid(resp.Output) {
		t.Fatalf("tools/call without arguments = %v %s", resp.Error, resp.Output)
	}
	if err := json.Unmarshal(resp.Output, &out); err != nil || len(out.StructuredContent.Services) != 3 {
		t.Errorf("tools/call list_services {} = %s; want three services", resp.Output)
	}

	// A tool's own failure is a result with isError, not a call failure.
	resp = invoke(t, c, `{"method": "tools/call", "name": "get_service", "arguments": {"serviceId": "srv-9"}}`, map[string]string{"render": testKey})
	if resp.Error != nil {
		t.Fatalf("tools/call get_service srv-9 = %v", resp.Error)
	}
	var failedOut struct {
		Content []struct{ Text string } `json:"content"`
		IsError bool                    `json:"isError"`
	}
	if err := json.Unmarshal(resp.Output, &failedOut); err != nil || !failedOut.IsError || len(failedOut.Content) == 0 {
		t.Errorf("tools/call get_service srv-9 = %s; want isError true with a message", resp.Output)
	}

	// An unknown tool is the caller's mistake, told in the server's words.
	resp = invoke(t, c, `{"method": "tools/call", "name": "drop_everything"}`, map[string]string{"render": testKey})
	wantError(t, resp, 400, "INVALID_TOOL_CALL")
}

func TestInvokeErrors(t *testing.T) {
	rs := newRenderServer(t, testKey, serverOptions{})
	c := serve(t, configFor(rs.URL))
	good := map[string]string{"render": testKey}

	for _, tc := range []struct {
		name, input string
		creds       map[string]string
		status      int
		code        string
	}{
		{"wrong key", `{"method": "tools/list"}`, map[string]string{"render": "rnd_wrong0123456789abcdefghij"}, 401, "RENDER_UNAUTHORIZED"},
		{"missing key", `{"method": "tools/list"}`, nil, 400, "RENDER_KEY_REQUIRED"},
		{"empty key", `{"method": "tools/list", "apiKey": ""}`, map[string]string{"render": ""}, 400, "RENDER_KEY_REQUIRED"},
		{"not a Render key", `{"method": "tools/list", "apiKey": "sk-openai"}`, nil, 400, "INVALID_RENDER_KEY"},
		{"key with a line break", `{"method": "tools/list", "apiKey": "rnd_abc\r\nX-Evil: 1"}`, nil, 400, "INVALID_RENDER_KEY"},
		{"bad method", `{"method": "resources/list"}`, good, 400, "INVALID_METHOD"},
		{"no method", `{}`, good, 400, "INVALID_METHOD"},
		{"no input", ``, good, 400, "INVALID_METHOD"},
		{"no tool name", `{"method": "tools/call"}`, good, 400, "TOOL_NAME_REQUIRED"},
		{"arguments not an object", `{"method": "tools/call", "name": "list_services", "arguments": [1]}`, good, 400, "INVALID_ARGUMENTS"},
		{"malformed input", `{"method": `, good, 400, "INVALID_JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, invoke(t, c, tc.input, tc.creds), tc.status, tc.code)
		})
	}

	resp, err := c.Invoke(context.Background(), &provider.InvokeRequest{Capability: "generate-text", Input: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, resp, 404, "UNKNOWN_CAPABILITY")
}

func TestInvokeNeverLeaksTheKey(t *testing.T) {
	// A server that fails with a plain 500, and one that is not there at all.
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom "+r.Header.Get("Authorization"), http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	for _, url := range []string{broken.URL, gone.URL} {
		c := serve(t, configFor(url))
		resp := invoke(t, c, `{"method": "tools/list"}`, map[string]string{"render": testKey})
		wantError(t, resp, 502, "UPSTREAM_ERROR")
		if resp.Error != nil && (resp.Error.Message == "" || strings.Contains(resp.Error.Message, testKey)) {
			t.Errorf("UPSTREAM_ERROR message = %q; want a short message without the key", resp.Error.Message)
		}
	}
}

// A redirect to another origin must not take the key along.
func TestRedirectDropsKey(t *testing.T) {
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = append(leaked, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, "nope", http.StatusUnauthorized)
	}))
	t.Cleanup(other.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/mcp", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)

	c := serve(t, configFor(redirector.URL))
	if resp := invoke(t, c, `{"method": "tools/list"}`, map[string]string{"render": testKey}); resp.Error == nil {
		t.Errorf("tools/list through a foreign redirect = %s; want an error", resp.Output)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leaked) == 0 {
		t.Fatal("the redirect target saw no request")
	}
	for _, a := range leaked {
		if a != "" {
			t.Errorf("redirect target got Authorization %q; want none", a)
		}
	}
}

func TestHungServerEndsAtDeadline(t *testing.T) {
	in := &provider.InvokeRequest{Capability: "render-mcp", Input: json.RawMessage(`{"method": "tools/list"}`),
		Caller: provider.Caller{Credentials: map[string]string{"render": testKey}}}
	hangAll := newRenderServer(t, testKey, serverOptions{hang: func(string, string) bool { return true }})

	// Over gRPC, the gateway's deadline ends the call.
	c := serve(t, configFor(hangAll.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if resp, err := c.Invoke(ctx, in); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Invoke against a hung server = %+v, %v; want DeadlineExceeded", resp, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Invoke took %v; want about 300ms", d)
	}

	// The provider itself gives up at the deadline too, rather than working on
	// behind a gRPC call that has already ended: whether the server hangs from
	// the start, or after the handshake, when closing the session (a DELETE
	// the SDK sends on a context of its own) would hang as well.
	hangLater := newRenderServer(t, testKey, serverOptions{legacy: true, hang: func(httpMethod, rpcMethod string) bool {
		return httpMethod == http.MethodDelete || rpcMethod == "tools/list"
	}})
	for _, url := range []string{hangAll.URL, hangLater.URL} {
		p := rendermcp.New()
		if resp, _ := p.Configure(context.Background(), &provider.ConfigureRequest{Config: json.RawMessage(configFor(url))}); resp.Error != nil {
			t.Fatal(resp.Error)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		if resp, err := p.Invoke(ctx, in); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Provider.Invoke against a hung server = %+v, %v; want DeadlineExceeded", resp, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Provider.Invoke took %v; want about 300ms", d)
		}
	}

	// Its own timeout, shorter than the gateway's deadline, is an upstream timeout.
	c = serve(t, fmt.Sprintf(`{"url": %q, "timeout": "200ms"}`, hangAll.URL))
	wantError(t, invoke(t, c, `{"method": "tools/list"}`, map[string]string{"render": testKey}), 504, "UPSTREAM_TIMEOUT")
}
