package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/sdk/provider"
)

func proute(plugin, method, path string, public bool) gateway.PluginRoute {
	return gateway.PluginRoute{Plugin: plugin, Route: provider.Route{Method: method, Path: path, Public: public}}
}

func TestMountRoutesRejects(t *testing.T) {
	e := newEnv(t)
	c, _ := e.user(t, "paid@example.com", "solo")
	tests := []struct {
		name   string
		routes []gateway.PluginRoute
		want   string // in the error
	}{
		{"outside /api/", []gateway.PluginRoute{proute("ai", "GET", "/ai/models", false)}, "outside /api/"},
		{"prefix lookalike", []gateway.PluginRoute{proute("ai", "GET", "/apix/models", false)}, "outside /api/"},
		{"relative", []gateway.PluginRoute{proute("ai", "GET", "api/models", false)}, "outside /api/"},
		{"same as the gateway", []gateway.PluginRoute{proute("evil", "POST", "/api/v1/gateway", true)}, "conflicts"},
		{"same as a core route", []gateway.PluginRoute{proute("evil", "GET", "/api/health", true)}, "conflicts"},
		{"wildcard over a static route", []gateway.PluginRoute{proute("evil", "GET", "/api/v1/:thing", false)}, "conflicts"},
		{"twice in one list", []gateway.PluginRoute{proute("a", "GET", "/api/a/x", false), proute("b", "GET", "/api/a/x", false)}, "plugin b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Fatalf("building the route table panicked: %v", v)
					}
				}()
				var rs []route.Route
				if rs, err = e.g.PluginRoutes(e.f, tt.routes); err == nil {
					_, err = e.Server.Handler(append(e.routes, rs...)...)
				}
			}()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want an error mentioning %q", err, tt.want)
			}
			if p := tt.routes[len(tt.routes)-1].Plugin; !strings.Contains(err.Error(), p) {
				t.Errorf("err = %v; want it to name plugin %s", err, p)
			}
		})
	}
	// The routes already there still work.
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 200, "")
	e.Client(t).Do("GET", "/api/health", nil).Expect(t, 200, "")
	if e.f.count() != 0 {
		t.Error("a rejected route was forwarded")
	}
}

func TestPluginRoutes(t *testing.T) {
	e := newEnvWith(t, nil, func(g *gateway.Gateway, f *fakeForwarder) []route.Route {
		rs, err := g.PluginRoutes(f, []gateway.PluginRoute{
			proute("ai", "POST", "/api/ai/echo/:a/*rest", false),
			proute("ai", "GET", "/api/ai/things/:id", false),
			proute("status", "GET", "/api/status/now", true),
			proute("ai", "GET", "/api/ai/events", false),
		})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	})
	c, uid := e.user(t, "paid@example.com", "solo")

	t.Run("request forwarded", func(t *testing.T) {
		e.f.setHandle(parts(&provider.HTTPResponsePart{Status: 201, Headers: map[string]string{
			"content-type":              "text/plain; charset=utf-8",
			"Location":                  "/api/ai/things/1",
			"Cache-Control":             "no-store",
			"Content-Disposition":       "attachment",
			"Retry-After":               "5",
			"Set-Cookie":                "session=stolen",
			"X-Internal":                "yes",
			"X-Request-Id":              "spoofed",
			"Strict-Transport-Security": "max-age=0",
		}, Body: []byte("hello ")}, &provider.HTTPResponsePart{Body: []byte("world")}))
		r := c.Do("POST", "/api/ai/echo/x/y/z?q=1&r=a%20b", map[string]any{"hello": "world"},
			"Accept", "text/plain", "Accept-Language", "fr", "User-Agent", "tester/1", "X-Secret", "s",
			"Cookie", "other=1", "X-Request-Id", "req-fwd-1")
		if r.Status != 201 || string(r.Body) != "hello world" {
			t.Fatalf("got %d %q; want 201 hello world", r.Status, r.Body)
		}
		for k, v := range map[string]string{"Content-Type": "text/plain; charset=utf-8", "Location": "/api/ai/things/1",
			"Cache-Control": "no-store", "Content-Disposition": "attachment", "Retry-After": "5", "X-Request-Id": "req-fwd-1"} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s = %q; want %q", k, got, v)
			}
		}
		for _, k := range []string{"Set-Cookie", "X-Internal"} {
			if got := r.Header.Get(k); got != "" {
				t.Errorf("%s = %q passed through; want it dropped", k, got)
			}
		}
		if got := r.Header.Get("Strict-Transport-Security"); got == "max-age=0" {
			t.Error("the plugin overrode Strict-Transport-Security")
		}

		got := e.f.last(t)
		req := got.Req
		if got.Plugin != "ai" || req.Method != "POST" || req.Path != "/api/ai/echo/x/y/z" || req.Query != "q=1&r=a%20b" {
			t.Errorf("forwarded %s %s %s ?%s", got.Plugin, req.Method, req.Path, req.Query)
		}
		if want := map[string]string{"a": "x", "rest": "/y/z"}; !reflect.DeepEqual(req.Params, want) {
			t.Errorf("params = %v; want %v", req.Params, want)
		}
		if want := map[string]string{"Content-Type": "application/json", "Accept": "text/plain", "Accept-Language": "fr",
			"User-Agent": "tester/1"}; !reflect.DeepEqual(req.Headers, want) {
			t.Errorf("headers = %v; want only %v", req.Headers, want)
		}
		if !sameJSON(t, req.Body, `{"hello":"world"}`) {
			t.Errorf("body = %q", req.Body)
		}
		if req.Caller.UserID != uid || req.Caller.Email != "paid@example.com" || req.Caller.Plan != "solo" ||
			req.Caller.SubscriptionStatus != "active" || req.Caller.RequestID != "req-fwd-1" {
			t.Errorf("caller = %+v", req.Caller)
		}
	})

	t.Run("parts streamed as they come", func(t *testing.T) {
		release := make(chan struct{})
		e.f.setHandle(func(ctx context.Context, _ *provider.HTTPRequest, fn func(*provider.HTTPResponsePart) error) error {
			if err := fn(&provider.HTTPResponsePart{Status: 200, Headers: map[string]string{"Content-Type": "text/event-stream"},
				Body: []byte("data: one\n\n")}); err != nil {
				return err
			}
			if err := await(ctx, release); err != nil {
				return err
			}
			return fn(&provider.HTTPResponsePart{Body: []byte("data: two\n\n")})
		})
		s := e.open(t, c, "GET", "/api/ai/events", nil)
		if ev := s.next(t); ev.Data != "one" {
			t.Fatalf("event = %+v; want the first part before the plugin sends the second", ev)
		}
		close(release)
		if ev := s.next(t); ev.Data != "two" {
			t.Fatalf("event = %+v; want the second part", ev)
		}
		s.end(t)
	})

	t.Run("authentication", func(t *testing.T) {
		e.f.setHandle(nil)
		n := e.f.count()
		anon := e.Client(t)
		anon.Do("GET", "/api/ai/things/1", nil).Expect(t, 401, "AUTH_REQUIRED")
		anon.Do("POST", "/api/ai/echo/x/y", map[string]any{}).Expect(t, 401, "AUTH_REQUIRED")
		bad := e.Client(t)
		bad.Header.Set("Authorization", "Bearer sk_bogus")
		bad.Do("GET", "/api/ai/things/1", nil).Expect(t, 401, "INVALID_API_KEY")
		cookie := e.Client(t)
		_, csrf := cookie.SignUp("cookie@example.com", "password-cookie")
		cookie.Do("POST", "/api/ai/echo/x/y", map[string]any{}).Expect(t, 403, "CSRF_REQUIRED")
		if e.f.count() != n {
			t.Fatal("an unauthenticated request was forwarded")
		}
		cookie.Do("POST", "/api/ai/echo/x/y", map[string]any{}, "X-CSRF-Token", csrf).Expect(t, 200, "")
		cookie.Do("GET", "/api/ai/things/1", nil).Expect(t, 200, "")
		c.Do("GET", "/api/ai/things/7", nil).Expect(t, 200, "")
		if got := e.f.last(t).Req; got.Params["id"] != "7" || got.Caller.UserID != uid {
			t.Errorf("forwarded %+v", got)
		}
	})

	t.Run("public route", func(t *testing.T) {
		e.f.setHandle(nil)
		r := e.Client(t).Do("GET", "/api/status/now", nil, "X-Request-Id", "req-pub-1").Expect(t, 200, "")
		if string(r.Body) != "ok" {
			t.Errorf("body = %q", r.Body)
		}
		got := e.f.last(t)
		if got.Plugin != "status" || !reflect.DeepEqual(got.Req.Caller, provider.Caller{RequestID: "req-pub-1"}) {
			t.Errorf("forwarded to %s with caller %+v; want an anonymous caller", got.Plugin, got.Req.Caller)
		}
	})

	t.Run("forwarder failures", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			h      func(context.Context, *provider.HTTPRequest, func(*provider.HTTPResponsePart) error) error
			status int
			code   string
			body   string
		}{
			{name: "down", h: func(context.Context, *provider.HTTPRequest, func(*provider.HTTPResponsePart) error) error {
				return fmt.Errorf("dial: %w", provider.ErrUnavailable)
			}, status: 502, code: "PLUGIN_UNAVAILABLE"},
			{name: "over its deadline", h: func(context.Context, *provider.HTTPRequest, func(*provider.HTTPResponsePart) error) error {
				return context.DeadlineExceeded
			}, status: 504, code: "PLUGIN_TIMEOUT"},
			{name: "connection torn down", h: func(context.Context, *provider.HTTPRequest, func(*provider.HTTPResponsePart) error) error {
				return errors.Join(provider.ErrUnavailable, context.Canceled)
			}, status: 502, code: "PLUGIN_UNAVAILABLE"},
			{name: "fails after a part", h: func(_ context.Context, _ *provider.HTTPRequest, fn func(*provider.HTTPResponsePart) error) error {
				if err := fn(&provider.HTTPResponsePart{Status: 200, Body: []byte("partial")}); err != nil {
					return err
				}
				return provider.ErrUnavailable
			}, status: 200, body: "partial"},
			{name: "status 0", h: parts(&provider.HTTPResponsePart{Body: []byte("x")}), status: 502, body: "x"},
			{name: "status 600", h: parts(&provider.HTTPResponsePart{Status: 600}), status: 502},
			{name: "plugin's own 404", h: parts(&provider.HTTPResponsePart{Status: 404, Body: []byte("nope")}), status: 404, body: "nope"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				e.f.setHandle(tt.h)
				r := c.Do("GET", "/api/ai/things/1", nil).Expect(t, tt.status, tt.code)
				if tt.body != "" && string(r.Body) != tt.body {
					t.Errorf("body = %q; want %q", r.Body, tt.body)
				}
			})
		}
	})

	t.Run("body too large", func(t *testing.T) {
		e.f.setHandle(nil)
		n := e.f.count()
		big := `{"x":"` + strings.Repeat("a", 1<<20) + `"}`
		c.Do("POST", "/api/ai/echo/x/y", big).Expect(t, 413, "PAYLOAD_TOO_LARGE")
		if e.f.count() != n {
			t.Error("an oversize body was forwarded")
		}
	})
}
