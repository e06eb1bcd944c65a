package ratelimit

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP derives the caller's IP. X-Forwarded-For is believed only as far as it
// was written by Trusted proxies: a client can put anything in the header, but
// each trusted proxy appends the address of the peer it saw.
type ClientIP struct {
	Trusted []netip.Prefix
}

// ParseTrusted parses a comma list of IPs and CIDRs ("10.0.0.0/8, 192.0.2.7").
// A bare IP becomes a single-address prefix (/32 or /128); IPv4-mapped IPv6
// forms are converted to IPv4. An empty spec trusts nobody.
func ParseTrusted(spec string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(entry, "/") {
			var err error
			if p, err = netip.ParsePrefix(entry); err != nil {
				return nil, fmt.Errorf("ratelimit: bad trusted proxy %q: not an IP address or CIDR prefix", entry)
			}
		} else {
			a, err := netip.ParseAddr(entry)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("ratelimit: bad trusted proxy %q: not an IP address or CIDR prefix", entry)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Of returns r's client IP, or "" when RemoteAddr holds no IP. It is the TCP
// peer unless the peer is trusted; then X-Forwarded-For is walked from right to
// left, skipping trusted addresses, and the first untrusted one is the client.
// If every entry is trusted the leftmost is taken; a malformed entry stops the
// walk at the last good address.
func (c ClientIP) Of(r *http.Request) string {
	peer, ok := parseIP(r.RemoteAddr)
	if !ok {
		return ""
	}
	if !c.trusted(peer) {
		return peer.String()
	}
	good := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			ip, ok := parseIP(strings.TrimSpace(entries[j]))
			if !ok {
				return good.String()
			}
			if !c.trusted(ip) {
				return ip.String()
			}
			good = ip
		}
	}
	return good.String()
}

func (c ClientIP) trusted(ip netip.Addr) bool {
	for _, p := range c.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parseIP accepts "ip", "ip:port" and "[ipv6]:port", dropping any zone and
// turning IPv4-mapped IPv6 into IPv4.
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), true
}
