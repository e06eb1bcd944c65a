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

	// transport, when set (shared), serves every Fetcher of the policy.
	transport *http.Transport
}

// errRefused is what a skill learns about a refused request.
var errRefused = errors.New("request refused by the sandbox")

// fetcher enforces a manifest's hosts within the operator's policy.
type fetcher struct {
	policy FetchPolicy
	hosts  []string
	client *http.Client
}

func (p FetchPolicy) withDefaults() FetchPolicy {
	if p.MaxBytes <= 0 {
		p.MaxBytes = 1 << 20
	}
	if p.Timeout <= 0 {
		p.Timeout = 10 * time.Second
	}
	return p
}

// shared returns the policy with one transport for all its fetchers, so that
// connections are pooled (and idle ones closed) across skills' calls rather
// than left behind by a transport per call.
func (p FetchPolicy) shared() FetchPolicy {
	p = p.withDefaults()
	if p.transport == nil {
		p.transport = p.newTransport(true)
	}
	return p
}

// newTransport dials only public addresses (unless AllowPrivate), through no
// proxy; keepAlive pools idle connections, a few per host, for 30 s.
func (p FetchPolicy) newTransport(keepAlive bool) *http.Transport {
	dialer := &net.Dialer{Timeout: p.Timeout, Control: p.checkAddr}
	return &http.Transport{
		Proxy:                  nil, // a proxy would hide the real destination from checkAddr
		DialContext:            dialer.DialContext,
		TLSHandshakeTimeout:    p.Timeout,
		ResponseHeaderTimeout:  p.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableKeepAlives:      !keepAlive,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		MaxConnsPerHost:        64,
		IdleConnTimeout:        30 * time.Second,
	}
}

// Fetcher returns the http_fetch capability for a manifest's hosts. Unless
// the policy is shared, each fetcher dials afresh and keeps no connection.
func (p FetchPolicy) Fetcher(manifestHosts []string) abi.Fetcher {
	p = p.withDefaults()
	transport := p.transport
	if transport == nil {
		transport = p.newTransport(false)
	}
	f := &fetcher{policy: p, hosts: manifestHosts}
	f.client = &http.Client{
		Timeout:   p.Timeout,
		Transport: transport,
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
func (p FetchPolicy) checkAddr(_, address string, _ syscall.RawConn) error {
	if p.AllowPrivate {
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

// nonPublic are special-purpose ranges (RFC 6890 and successors) beyond those
// netip classifies: none is a public destination for a skill.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001::/32"),       // Teredo (its IPv4 parts are obfuscated)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fc00::/7"),        // unique local
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64: the IPv4 address in the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // 6to4: the IPv4 address in bits 16–47
)

func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	// An IPv6 address that embeds an IPv4 one reaches that one: judge it.
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return publicAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(a):
			return publicAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
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
