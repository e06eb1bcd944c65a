package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseTrusted(t *testing.T) {
	good := []struct {
		spec string
		want []string
	}{
		{"", nil},
		{" , ", nil},
		{"10.0.0.1", []string{"10.0.0.1/32"}},
		{"10.1.2.3/8, 192.168.0.0/16", []string{"10.0.0.0/8", "192.168.0.0/16"}},
		{"2001:db8::1", []string{"2001:db8::1/128"}},
		{"2001:db8::/32", []string{"2001:db8::/32"}},
		{"::ffff:10.0.0.1", []string{"10.0.0.1/32"}},
		{"::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}},
	}
	for _, tt := range good {
		got, err := ParseTrusted(tt.spec)
		if err != nil {
			t.Errorf("ParseTrusted(%q) = %v; want no error", tt.spec, err)
			continue
		}
		var gs []string
		for _, p := range got {
			gs = append(gs, p.String())
		}
		if !reflect.DeepEqual(gs, tt.want) {
			t.Errorf("ParseTrusted(%q) = %v; want %v", tt.spec, gs, tt.want)
		}
	}
	bad := []struct{ spec, entry string }{
		{"10.0.0.1,nope", "nope"},
		{"10.0.0.0/33", "10.0.0.0/33"},
		{"10.0.0.1:80", "10.0.0.1:80"},
		{"fe80::1%eth0", "fe80::1%eth0"},
		{"10.0.0/8", "10.0.0/8"},
	}
	for _, tt := range bad {
		_, err := ParseTrusted(tt.spec)
		if err == nil || !strings.Contains(err.Error(), `"`+tt.entry+`"`) {
			t.Errorf("ParseTrusted(%q) = %v; want an error naming %q", tt.spec, err, tt.entry)
		}
	}
}

func TestClientIPOf(t *testing.T) {
	c := ClientIP{Trusted: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8:ffff::/48"),
	}}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"untrusted peer", "203.0.113.9:1234", nil, "203.0.113.9"},
		{"untrusted peer spoofing XFF", "203.0.113.9:1234", []string{"1.2.3.4"}, "203.0.113.9"},
		{"untrusted peer spoofing trusted XFF", "203.0.113.9:1234", []string{"10.0.0.5"}, "203.0.113.9"},
		{"trusted peer without XFF", "10.0.0.1:80", nil, "10.0.0.1"},
		{"trusted peer with XFF", "10.0.0.1:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client prepends a fake hop", "10.0.0.1:80", []string{"1.1.1.1, 198.51.100.7"}, "198.51.100.7"},
		{"chain of trusted proxies", "10.0.0.1:80", []string{"1.1.1.1, 198.51.100.7, 10.0.0.2, 10.0.0.3"}, "198.51.100.7"},
		{"all trusted takes leftmost", "10.0.0.1:80", []string{"10.0.0.9, 10.0.0.2"}, "10.0.0.9"},
		{"malformed stops the walk", "10.0.0.1:80", []string{"198.51.100.7, garbage, 10.0.0.2"}, "10.0.0.2"},
		{"malformed rightmost falls back to peer", "10.0.0.1:80", []string{"198.51.100.7, unknown"}, "10.0.0.1"},
		{"empty entry is malformed", "10.0.0.1:80", []string{"198.51.100.7,,"}, "10.0.0.1"},
		{"several XFF headers", "10.0.0.1:80", []string{"1.1.1.1", "198.51.100.7, 10.0.0.2"}, "198.51.100.7"},
		{"last XFF header is nearest", "10.0.0.1:80", []string{"198.51.100.7", "10.0.0.2"}, "198.51.100.7"},
		{"XFF entry with port", "10.0.0.1:80", []string{"198.51.100.7:5555"}, "198.51.100.7"},
		{"IPv4-mapped peer is trusted", "[::ffff:10.0.0.1]:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"IPv4-mapped client", "10.0.0.1:80", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"IPv4-mapped untrusted peer", "[::ffff:203.0.113.9]:80", nil, "203.0.113.9"},
		{"IPv6 peer", "[2001:db8::1]:443", []string{"1.2.3.4"}, "2001:db8::1"},
		{"trusted IPv6 proxy", "[2001:db8:ffff::1]:443", []string{"2001:db8:1::42"}, "2001:db8:1::42"},
		{"zone dropped", "[fe80::1%eth0]:443", nil, "fe80::1"},
		{"peer without port", "203.0.113.9", nil, "203.0.113.9"},
		{"no peer", "", nil, ""},
		{"peer not an IP", "@", nil, ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.Of(r); got != tt.want {
			t.Errorf("%s: Of(%q, XFF %q) = %v; want %v", tt.name, tt.remote, tt.xff, got, tt.want)
		}
	}
}
