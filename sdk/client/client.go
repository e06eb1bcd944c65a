package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// DefaultUserAgent is sent when WithUserAgent is not given.
const DefaultUserAgent = "agentbot-go-client/1"

// Bounds on what the client reads from the server.
const (
	// MaxResponseBytes bounds a JSON response body.
	MaxResponseBytes = 64 << 20
	// MaxEventBytes bounds one server-sent event (all its lines together).
	MaxEventBytes = 8 << 20
)

// Client calls one gateway. It is safe for concurrent use; a session from
// Login is shared by every call made after it.
type Client struct {
	base      *url.URL
	hc        *http.Client
	apiKey    string
	userAgent string

	mu      sync.Mutex
	cookies []*http.Cookie // the session's, from Login
	csrf    string
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey authenticates every request with the key (sk_…) as a bearer
// credential. A JWT from Token works the same way.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithHTTPClient sends requests with hc instead of http.DefaultClient: for
// timeouts, proxies, TLS settings or a test transport. Streams last as long
// as the server sends, so prefer a context deadline to hc.Timeout for them.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for the gateway at baseURL (e.g.
// "https://agentbot.example"; a path prefix is kept).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q must be http:// or https:// with a host", baseURL)
	}
	c := &Client{base: u, hc: http.DefaultClient, userAgent: DefaultUserAgent}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the gateway's URL as given to New.
func (c *Client) BaseURL() string { return c.base.String() }

// newRequest builds a request for path (with query) carrying the client's
// credentials: the API key, or the session cookie and, on requests that
// change state, its CSRF token.
func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string) (*http.Request, error) {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	c.mu.Lock()
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	if c.csrf != "" && method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	c.mu.Unlock()
	return req, nil
}

// send sends req and returns the response when its status is 2xx; any other
// status is read and returned as an *Error, the body closed.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readError(resp)
}

// do sends a JSON request (body nil for none) and decodes a JSON answer into
// out (nil to discard it). extra are header name/value pairs.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any, extra ...string) (*http.Response, error) {
	var rd io.Reader
	ct := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("client: encoding the request: %w", err)
		}
		rd, ct = bytes.NewReader(b), "application/json"
	}
	req, err := c.newRequest(ctx, method, path, query, rd, ct)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return resp, decodeBody(resp, out)
}

// decodeBody reads a bounded JSON body into out (nil: read and discard).
func decodeBody(resp *http.Response, out any) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("reading the response: %w", err)
	}
	if len(b) > MaxResponseBytes {
		return fmt.Errorf("the response exceeds %d bytes", MaxResponseBytes)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decoding the response (%s): %w", resp.Header.Get("Content-Type"), err)
	}
	return nil
}

// objectBody encodes input as the JSON object a call sends: nil is {}, a
// json.RawMessage or []byte is sent as is, anything else is marshalled. The
// result must be a JSON object.
func objectBody(input any) (map[string]json.RawMessage, error) {
	var raw []byte
	switch v := input.(type) {
	case nil:
		return map[string]json.RawMessage{}, nil
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("client: encoding the input: %w", err)
		}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errors.New("client: the input must be a JSON object")
	}
	return obj, nil
}
