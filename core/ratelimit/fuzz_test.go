package ratelimit

import (
	"net/http/httptest"
	"net/netip"
	"path"
	"strings"
	"testing"
)

// FuzzParseRules: an accepted AGENTBOT_RATE_LIMITS spec yields rules that can
// each match a request (a clean path prefix under "/"), allow at least one
// request, and have unique names; the base rules keep their names and PerIP.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"", "/api/chat=30-M", "default=100000-M,/api/v1/gateway=100000-M", " /api/chat = 1-D , default=2-M ,",
		"/api/new=7-S", "/api/chat/=3-H", "/=5-M", "/api/chat=0-M",
		"/api/chat=99999999999999999999-M", "chat=60-M", "/api/ok=1-M,/api/chat=1-M,/api/chat/=2-M"} {
		f.Add(s)
	}
	base := Defaults()
	f.Fuzz(func(t *testing.T, spec string) {
		rs, err := ParseRules(base, spec)
		if err != nil {
			return
		}
		if rs.Default.Limit < 1 || rs.Default.Period <= 0 {
			t.Fatalf("ParseRules(%q): default rate %+v", spec, rs.Default)
		}
		names := map[string]bool{DefaultName: true}
		for i, r := range rs.Rules {
			if names[r.Name] {
				t.Fatalf("ParseRules(%q): rule name %q is not unique", spec, r.Name)
			}
			names[r.Name] = true
			if r.Rate.Limit < 1 || r.Rate.Period <= 0 {
				t.Fatalf("ParseRules(%q): rule %q has rate %+v", spec, r.Name, r.Rate)
			}
			if r.Prefix == "/" || path.Clean(r.Prefix) != r.Prefix || !strings.HasPrefix(r.Prefix, "/") {
				t.Fatalf("ParseRules(%q): prefix %q can never match a (cleaned) request path", spec, r.Prefix)
			}
			if got := rs.Match(r.Prefix); got.Prefix != r.Prefix {
				t.Fatalf("ParseRules(%q): a request for %q is counted by %q, not its own rule", spec, r.Prefix, got.Prefix)
			}
			if i < len(base.Rules) && (r.Name != base.Rules[i].Name || r.PerIP != base.Rules[i].PerIP) {
				t.Fatalf("ParseRules(%q) changed base rule %+v into %+v", spec, base.Rules[i], r)
			}
		}
	})
}

// FuzzClientIP: whatever X-Forwarded-For says, the client IP is a plain
// address (no zone, IPv4 unmapped); an untrusted peer is always itself, and a
// forwarded address is believed only when the peer is a trusted proxy.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.0/8, 192.0.2.7", "10.1.2.3:4567", "203.0.113.9, 10.0.0.2", "")
	f.Add("::ffff:10.0.0.0/104", "[::ffff:10.0.0.1]:80", "[2001:db8::1]:443,  ", "198.51.100.1")
	f.Add("", "192.0.2.1:1", "1.2.3.4", "")
	f.Add("fe80::/10", "[fe80::1%eth0]:80", "fe80::2%eth1, junk, 1.1.1.1", "")
	f.Fuzz(func(t *testing.T, trusted, remote, xff1, xff2 string) {
		prefixes, err := ParseTrusted(trusted)
		if err != nil {
			return
		}
		for _, p := range prefixes {
			if p != p.Masked() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				t.Fatalf("ParseTrusted(%q) = %v; want masked prefixes without zones", trusted, prefixes)
			}
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		for _, v := range []string{xff1, xff2} {
			if v != "" {
				r.Header.Add("X-Forwarded-For", v)
			}
		}
		c := ClientIP{Trusted: prefixes}
		got := c.Of(r)
		peer, ok := parseIP(remote)
		if !ok {
			if got != "" {
				t.Fatalf("Of(RemoteAddr %q) = %q; want \"\"", remote, got)
			}
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("Of(%q, XFF %q %q) = %q; want a plain address", remote, xff1, xff2, got)
		}
		if !c.trusted(peer) && a != peer {
			t.Fatalf("Of: untrusted peer %q believed X-Forwarded-For (%q)", remote, got)
		}
		if a != peer && !strings.Contains(xff1+","+xff2, strings.SplitN(got, ":", 2)[0]) && !strings.Contains(xff1+","+xff2, got) {
			t.Fatalf("Of(%q, XFF %q %q) = %q; from neither the peer nor the header", remote, xff1, xff2, got)
		}
	})
}
