package skills

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/sdk/skill/abi"
)

// fetchServer is a local server: /ok answers "ok" (and reports the request's
// Cookie and User-Agent), /big 2000 bytes, /slow after a second,
// /redirect?to=URL redirects.
func fetchServer(t *testing.T) (*httptest.Server, *url.URL) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("X-Seen-Cookie", r.Header.Get("Cookie"))
			w.Header().Set("X-Seen-Agent", r.Header.Get("User-Agent"))
			w.Header().Set("X-Seen-Auth", r.Header.Get("Authorization"))
			io.WriteString(w, "ok")
		case "/big":
			io.WriteString(w, strings.Repeat("b", 2000))
		case "/slow":
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
			}
			io.WriteString(w, "late")
		case "/redirect":
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return srv, u
}

func TestFetchPolicy(t *testing.T) {
	srv, u := fetchServer(t)
	port := u.Port()
	local := []string{"127.0.0.1"}
	dev := FetchPolicy{AllowHosts: local, AllowPrivate: true, MaxBytes: 1000, Timeout: 300 * time.Millisecond}
	for _, tc := range []struct {
		name   string
		policy FetchPolicy
		hosts  []string // the manifest's
		method string
		url    string
		want   string // "" = 200 "ok"; otherwise a substring of the error
	}{
		{"allowed", dev, local, "GET", srv.URL + "/ok", ""},
		{"allowed by *", FetchPolicy{AllowHosts: []string{"*"}, AllowPrivate: true}, local, "GET", srv.URL + "/ok", ""},
		{"POST", dev, local, "POST", srv.URL + "/ok", ""},
		{"redirect to an allowed host", dev, local, "GET", srv.URL + "/redirect?to=/ok", ""},

		{"ftp scheme", dev, local, "GET", "ftp://127.0.0.1:" + port + "/ok", "only http and https"},
		{"file scheme", dev, local, "GET", "file:///etc/passwd", "only http and https"},
		{"no scheme", dev, local, "GET", "127.0.0.1/ok", "only http and https"},
		{"host not in the manifest", dev, []string{"api.example.com"}, "GET", srv.URL + "/ok", `host "127.0.0.1" is not allowed`},
		{"host not allowed by the operator", FetchPolicy{AllowHosts: []string{"api.example.com"}, AllowPrivate: true}, local, "GET", srv.URL + "/ok", "not allowed"},
		{"operator allows none", FetchPolicy{AllowPrivate: true}, local, "GET", srv.URL + "/ok", "not allowed"},
		{"host case", dev, local, "GET", "http://LOCALHOST:" + port + "/ok", "not allowed"},
		{"credentials in the URL", dev, local, "GET", "http://user:pw@127.0.0.1:" + port + "/ok", "credentials"},
		{"method", dev, local, "TRACE", srv.URL + "/ok", "method"},
		{"redirect to a disallowed host", dev, local, "GET", srv.URL + "/redirect?to=http://localhost:" + port + "/ok", "refused"},
		{"redirect to the metadata service", dev, local, "GET", srv.URL + "/redirect?to=http://169.254.169.254/latest/meta-data/", "refused"},
		{"redirect to another scheme", dev, local, "GET", srv.URL + "/redirect?to=file:///etc/passwd", "refused"},
		{"response over the cap", dev, local, "GET", srv.URL + "/big", "larger than 1000 bytes"},
		{"slow response", dev, local, "GET", srv.URL + "/slow", "request failed"},

		// Non-public addresses are refused unless the operator allows them,
		// whatever the manifest and the host allow-list say; the check is on
		// the resolved address, so a name that resolves to one is refused too.
		{"loopback", FetchPolicy{AllowHosts: []string{"*"}}, local, "GET", srv.URL + "/ok", "refused"},
		{"localhost", FetchPolicy{AllowHosts: []string{"*"}}, []string{"localhost"}, "GET", "http://localhost:" + port + "/ok", "refused"},
		{"link-local metadata", FetchPolicy{AllowHosts: []string{"*"}}, []string{"169.254.169.254"}, "GET", "http://169.254.169.254/latest/meta-data/", "refused"},
		{"private 10/8", FetchPolicy{AllowHosts: []string{"*"}}, []string{"10.0.0.1"}, "GET", "http://10.0.0.1/", "refused"},
		{"private 192.168/16", FetchPolicy{AllowHosts: []string{"*"}}, []string{"192.168.1.1"}, "GET", "http://192.168.1.1/", "refused"},
		{"unspecified", FetchPolicy{AllowHosts: []string{"*"}}, []string{"0.0.0.0"}, "GET", "http://0.0.0.0:" + port + "/ok", "refused"},
		{"IPv6 loopback", FetchPolicy{AllowHosts: []string{"*"}}, []string{"::1"}, "GET", "http://[::1]:" + port + "/ok", "refused"},
		{"IPv4-mapped loopback", FetchPolicy{AllowHosts: []string{"*"}}, []string{"::ffff:127.0.0.1"}, "GET", "http://[::ffff:127.0.0.1]:" + port + "/ok", "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.policy.Fetcher(tc.hosts)
			resp, err := f.Fetch(context.Background(), &abi.FetchRequest{Method: tc.method, URL: tc.url,
				Headers: map[string]string{"Cookie": "session=stolen", "Authorization": "Bearer skill-own"}})
			if tc.want == "" {
				if err != nil || resp.Status != 200 || string(resp.Body) != "ok" {
					t.Fatalf("Fetch = %+v, %v; want 200 ok", resp, err)
				}
				if resp.Headers["X-Seen-Cookie"] != "" || resp.Headers["X-Seen-Agent"] != "agentbot-skill/1" ||
					resp.Headers["X-Seen-Auth"] != "Bearer skill-own" {
					t.Errorf("the server saw headers %v; want no Cookie, the sandbox's User-Agent, the skill's Authorization", resp.Headers)
				}
				return
			}
			if err == nil {
				t.Fatalf("Fetch = %d %.50q; want an error with %q", resp.Status, resp.Body, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Fetch error %q; want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "dial") || strings.Contains(err.Error(), port) {
				t.Errorf("Fetch error %q reveals transport details to the skill", err)
			}
		})
	}
	// Refusals are recognisable as such.
	_, err := FetchPolicy{AllowHosts: []string{"*"}}.Fetcher(local).Fetch(context.Background(), &abi.FetchRequest{Method: "GET", URL: srv.URL + "/ok"})
	if !errors.Is(err, errRefused) {
		t.Errorf("loopback refusal = %v; want errRefused", err)
	}
}

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "8.8.8.8": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.0.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.0.0.0": false, "255.255.255.255": false, "224.0.0.1": false,
		"::1": false, "::": false, "fe80::1": false, "fc00::1": false, "fd12::1": false, "::ffff:127.0.0.1": false,
		"::ffff:10.0.0.1": false, "ff02::1": false,
		// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address
		// they embed: judged by it.
		"64:ff9b::7f00:1": false, "64:ff9b::a9fe:a9fe": false, "64:ff9b::a00:1": false, "64:ff9b::c0a8:101": false,
		"64:ff9b::808:808": true, "2002:7f00:1::1": false, "2002:a9fe:a9fe::": false, "2002:c0a8:101:1::1": false,
		"2002:808:808::1": true,
		// Other special-purpose ranges.
		"64:ff9b:1::808:808": false, "2001:0:4136:e378::1": false, "::127.0.0.1": false, "2001:db8::1": false,
		"198.18.0.1": false, "240.0.0.1": false, "0.1.2.3": false, "192.0.2.1": false, "fec0::1": false,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicAddr(%s) = %v; want %v", addr, got, want)
		}
	}
}
