// Package servertest runs the assembled server on a real listener, on either
// store backend, with a client that speaks its JSON conventions.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/mail"
	"github.com/agentbot/gateway/core/openapi"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/store/storetest"
)

// Env is a running server.
type Env struct {
	*server.Server
	URL  string
	Mail *Outbox
	// Root is the handler the test server serves: the whole route table
	// behind the middleware chain (for in-process requests and fuzzing).
	Root http.Handler
	// Routes is the route table the server serves: the core's routes and
	// those mount added.
	Routes []route.Route

	validator *openapi.Validator
}

// ValidateResponses makes the clients made from now on check every answer
// they receive against the OpenAPI document of e's route table (core/openapi):
// a status the route does not document, a body that does not match the
// status's schema (an error code the route does not declare, say) or an
// undocumented streamed content type fails the client's test. The document
// and its router are built once per Env.
func (e *Env) ValidateResponses(t testing.TB) {
	t.Helper()
	if e.validator != nil {
		return
	}
	doc, err := openapi.Build(e.Routes, e.Limiter, openapi.Info{Title: "servertest", Version: "0"})
	if err != nil {
		t.Fatalf("the route table's OpenAPI document: %v", err)
	}
	if e.validator, err = openapi.NewValidator(doc); err != nil {
		t.Fatalf("the route table's OpenAPI document: %v", err)
	}
}

// Mount adds routes to a test server once its core is assembled, before it
// serves: the gateway, billing, skills or fakes a test needs. Release what it
// starts with t.Cleanup.
type Mount func(*server.Server) ([]route.Route, error)

// Outbox records mail instead of sending it. Sending never blocks.
type Outbox struct {
	mu    sync.Mutex
	msgs  []mail.Message
	taken []bool
	more  chan struct{} // closed and replaced at each Send
}

// Send implements mail.Sender.
func (o *Outbox) Send(_ context.Context, m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m)
	o.taken = append(o.taken, false)
	close(o.more)
	o.more = make(chan struct{})
	return nil
}

// WaitFor returns the oldest message not returned before that is addressed to
// to and whose subject contains subject, waiting up to 10 s for it.
func (o *Outbox) WaitFor(t testing.TB, to, subject string) mail.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		o.mu.Lock()
		for i, m := range o.msgs {
			if !o.taken[i] && m.To == to && strings.Contains(m.Subject, subject) {
				o.taken[i] = true
				o.mu.Unlock()
				return m
			}
		}
		more := o.more
		o.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("no mail to %s about %q within 10s", to, subject)
		}
	}
}

// Count returns how many messages were sent to to.
func (o *Outbox) Count(to string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, m := range o.msgs {
		if m.To == to {
			n++
		}
	}
	return n
}

var tokenRE = regexp.MustCompile(`token=([0-9a-f]{64})`)

// Token returns the 64-hex-character token of the link in m.
func Token(t testing.TB, m mail.Message) string {
	t.Helper()
	tok := tokenRE.FindStringSubmatch(m.Text)
	if tok == nil {
		t.Fatalf("mail to %s (%q) has no token link: %s", m.To, m.Subject, m.Text)
	}
	return tok[1]
}

// VerifySubject is the subject of verification mail.
const VerifySubject = "Verify your email"

// Backends lists the store backends the server can run on.
var Backends = []string{"sqlite", "postgres"}

// New starts a server on backend ("sqlite" or "postgres") with env overriding
// the test defaults (dev mode, bcrypt cost 4, a temporary data dir).
//
// The routes that mount returns are served beside the core's, behind the same
// middleware, as in production.
func New(t testing.TB, backend string, env map[string]string, mount ...Mount) *Env {
	t.Helper()
	vars := map[string]string{
		"AGENTBOT_DEV":         "true",
		"AGENTBOT_DATA_DIR":    t.TempDir(),
		"AGENTBOT_BCRYPT_COST": "4",
		"JWT_SECRET":           "test-secret-test-secret-test-secret!",
	}
	if backend == "postgres" {
		pg := storetest.Postgres(t)
		vars["DATABASE_URL"] = pg.Serving
		vars["DATABASE_MIGRATE_URL"] = pg.Owner
	}
	for k, v := range env {
		vars[k] = v
	}
	// SignUp verifies every address it registers; tests that create many
	// users must not run into the per-IP verification limit, unless they set
	// it themselves.
	if rl := vars["AGENTBOT_RATE_LIMITS"]; !strings.Contains(rl, "/api/auth/verify-email=") {
		vars["AGENTBOT_RATE_LIMITS"] = strings.TrimPrefix(rl+",/api/auth/verify-email=100000-M", ",")
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler) // formats nothing
	if testing.Verbose() {
		// As `agentbot serve` logs: at AGENTBOT_LOG_LEVEL (info by default),
		// buffered for AGENTBOT_LOG_BUFFER.
		var closeLog func()
		log, closeLog = server.Logger(cfg, os.Stderr)
		t.Cleanup(closeLog)
	}
	srv, err := server.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	out := &Outbox{more: make(chan struct{})}
	srv.Identity.Mail = out
	// Cleanups run last first: the listener stops, then what mount started
	// (with the store still open), then the core.
	t.Cleanup(func() { srv.Close(context.Background()) })
	var extra []route.Route
	for _, m := range mount {
		rs, err := m(srv)
		if err != nil {
			t.Fatal(err)
		}
		extra = append(extra, rs...)
	}
	h, err := srv.Handler(extra...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(h)
	// The production server's timeouts, as configured.
	prod := server.HTTPServer(cfg, hs.Config.Handler, log)
	hs.Config.ReadHeaderTimeout, hs.Config.ReadTimeout = prod.ReadHeaderTimeout, prod.ReadTimeout
	hs.Config.WriteTimeout, hs.Config.IdleTimeout = prod.WriteTimeout, prod.IdleTimeout
	hs.Start()
	t.Cleanup(hs.Close)
	return &Env{Server: srv, URL: hs.URL, Mail: out, Root: h, Routes: append(srv.Routes(), extra...)}
}

// Client is an HTTP client with a cookie jar and default headers.
type Client struct {
	t      testing.TB
	env    *Env
	base   string
	HTTP   *http.Client
	Header http.Header
}

// Transport is the round tripper of e's clients: it checks every answer
// against the OpenAPI document once ValidateResponses was called (reporting
// a mismatch as t's error), else it is the default transport. Other HTTP
// clients under test (the Go SDK client) use it to be checked the same way.
func (e *Env) Transport(t testing.TB) http.RoundTripper {
	if e.validator == nil {
		return http.DefaultTransport
	}
	return &openapi.Transport{Validator: e.validator, Report: func(err error) { t.Error(err) }}
}

// Client returns a new client (its own cookie jar) for e.
func (e *Env) Client(t testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Transport: e.Transport(t)}
	return &Client{t: t, env: e, base: e.URL, HTTP: hc, Header: http.Header{"User-Agent": {"servertest"}}}
}

// Response is a decoded response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// Str returns a top-level string field.
func (r *Response) Str(key string) string { s, _ := r.JSON[key].(string); return s }

// Do sends a request. body may be nil, a string (sent raw) or a value
// (JSON-encoded); JSON content type is set unless headers override it.
func (c *Client) Do(method, path string, body any, headers ...string) *Response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			// Present but empty: net/http then sends no such header at all
			// (not even its default User-Agent).
			req.Header[http.CanonicalHeaderKey(headers[i])] = []string{""}
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := &Response{Status: resp.StatusCode, Header: resp.Header}
	out.Body, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(out.Body, &out.JSON)
	return out
}

// Expect fails the test unless r has the status (and, if code != "", the error code).
func (r *Response) Expect(t testing.TB, status int, code string) *Response {
	t.Helper()
	if r.Status != status || (code != "" && r.Str("code") != code) {
		t.Fatalf("got %d %s; want %d %s", r.Status, r.Body, status, code)
	}
	return r
}

// SignUp registers a user, verifies their address with the link mailed to
// it, and signs in, returning the CSRF token.
func (c *Client) SignUp(email, password string) (userID, csrf string) {
	c.t.Helper()
	userID, csrf = c.SignUpUnverified(email, password)
	c.VerifyEmail(email)
	return userID, csrf
}

// SignUpUnverified registers and signs in a user without verifying the
// address, returning the CSRF token.
func (c *Client) SignUpUnverified(email, password string) (userID, csrf string) {
	c.t.Helper()
	r := c.Do("POST", "/api/register", map[string]any{"email": email, "password": password}).Expect(c.t, 200, "")
	userID = r.Str("id")
	r = c.Do("POST", "/api/auth/login", map[string]any{"email": email, "password": password}).Expect(c.t, 200, "")
	return userID, r.Str("csrfToken")
}

// VerifyEmail uses the next verification link mailed to email.
func (c *Client) VerifyEmail(email string) {
	c.t.Helper()
	tok := Token(c.t, c.env.Mail.WaitFor(c.t, email, VerifySubject))
	c.Do("POST", "/api/auth/verify-email", map[string]any{"token": tok}).Expect(c.t, 200, "")
}
