package skills

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/agentbot/gateway/sdk/skill/abi"
)

// FetchPolicy is the operator's side of http_fetch.
type FetchPolicy struct {
	// AllowHosts are the hosts skills may reach at all; "*" allows any host a
	// manifest declares. Empty: no skill may fetch.
	AllowHosts []string
	// AllowPrivate lets skills reach loopback, private, link-local and other
	// non-public addresses (for development against local services).
	AllowPrivate bool
	// MaxBytes caps a response body [1 MiB]; Timeout bounds a request [10s].
	MaxBytes int64
	Timeout  time.Duration
}

// errRefused is what a skill learns about a refused request.
var errRefused = errors.New("request refused by the sandbox")

// fetcher enforces a manifest's hosts within the operator's policy.
type fetcher struct {
	policy FetchPolicy
	hosts  []string
	client *http.Client
}

// Fetcher returns the http_fetch capability for a manifest's hosts.
func (p FetchPolicy) Fetcher(manifestHosts []string) abi.Fetcher {
	if p.MaxBytes <= 0 {
		p.MaxBytes = 1 << 20
	}
	if p.Timeout <= 0 {
		p.Timeout = 10 * time.Second
	}
	f := &fetcher{policy: p, hosts: manifestHosts}
	dialer := &net.Dialer{Timeout: p.Timeout, Control: f.checkAddr}
	f.client = &http.Client{
		Timeout: p.Timeout,
		Transport: &http.Transport{
			Proxy:                  nil, // a proxy would hide the real destination from checkAddr
			DialContext:            dialer.DialContext,
			TLSHandshakeTimeout:    p.Timeout,
			ResponseHeaderTimeout:  p.Timeout,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return f.checkURL(req.URL)
		},
	}
	return f
}

func (f *fetcher) allowed(host string) bool {
	host = strings.ToLower(host)
	if !slices.Contains(f.hosts, host) {
		return false
	}
	return slices.Contains(f.policy.AllowHosts, "*") || slices.Contains(f.policy.AllowHosts, host)
}

func (f *fetcher) checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: only http and https", errRefused)
	}
	if u.User != nil {
		return fmt.Errorf("%w: credentials in URLs are not allowed", errRefused)
	}
	if !f.allowed(u.Hostname()) {
		return fmt.Errorf("%w: host %q is not allowed", errRefused, u.Hostname())
	}
	return nil
}

// checkAddr runs on the resolved address of every connection, so a host name
// that resolves (or is rebound) to a private address is still refused.
func (f *fetcher) checkAddr(_, address string, _ syscall.RawConn) error {
	if f.policy.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: bad address", errRefused)
	}
	if !publicAddr(ap.Addr()) {
		return fmt.Errorf("%w: non-public address", errRefused)
	}
	return nil
}

func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() &&
		!netip.MustParsePrefix("100.64.0.0/10").Contains(a) && // carrier-grade NAT
		!netip.MustParsePrefix("fc00::/7").Contains(a)
}

// Fetch implements abi.Fetcher.
func (f *fetcher) Fetch(ctx context.Context, req *abi.FetchRequest) (*abi.FetchResponse, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: bad URL", errRefused)
	}
	if err := f.checkURL(u); err != nil {
		return nil, err
	}
	switch req.Method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE":
	default:
		return nil, fmt.Errorf("%w: method %q", errRefused, req.Method)
	}
	var body io.Reader
	if len(req.Body) > 0 {
		body = strings.NewReader(string(req.Body))
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%w: bad request", errRefused)
	}
	for k, v := range req.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Cookie", "Proxy-Authorization", "Connection", "Transfer-Encoding":
			continue // the sandbox decides these
		}
		hreq.Header.Set(k, v)
	}
	hreq.Header.Set("User-Agent", "agentbot-skill/1")
	resp, err := f.client.Do(hreq)
	if err != nil {
		if errors.Is(err, errRefused) {
			return nil, errRefused
		}
		return nil, errors.New("request failed")
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, f.policy.MaxBytes+1))
	if err != nil {
		return nil, errors.New("reading the response failed")
	}
	if int64(len(b)) > f.policy.MaxBytes {
		return nil, fmt.Errorf("response larger than %d bytes", f.policy.MaxBytes)
	}
	headers := map[string]string{}
	for k := range resp.Header {
		headers[k] = resp.Header.Get(k)
	}
	return &abi.FetchResponse{Status: resp.StatusCode, Headers: headers, Body: b}, nil
}
