package ratelimit

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
)

func mustRate(t testing.TB, s string) limiter.Rate {
	t.Helper()
	r, err := limiter.NewRateFromFormatted(s)
	if err != nil {
		t.Fatalf("NewRateFromFormatted(%q): %v", s, err)
	}
	return r
}

func TestDefaults(t *testing.T) {
	want := map[string]struct {
		limit  int64
		perIP  bool
		period time.Duration
	}{
		"/api/v1/gateway": {100, false, time.Minute}, "/api/agents": {100, false, time.Minute}, "/api/chat": {60, false, time.Minute},
		"/api/instance": {30, false, time.Minute}, "/api/provision": {5, true, time.Minute}, "/api/register": {10, true, time.Minute},
		"/api/auth/forgot-password": {10, true, time.Minute}, "/api/auth/reset-password": {10, true, time.Minute},
		"/api/auth/verify-email": {10, true, time.Minute}, "/api/auth/verify-email/resend": {5, false, time.Hour},
		"/api/webhooks/stripe": {1000, true, time.Minute}, "/api/channels": {3000, true, time.Minute},
		"/api/auth/nonce": {30, true, time.Minute}, "/api/auth/callback/wallet": {20, true, time.Minute},
		"/api/auth/farcaster": {20, true, time.Minute}, "/api/auth/token-gating": {30, true, time.Minute},
	}
	rules := DefaultRules()
	if len(rules) != len(want) {
		t.Fatalf("len(DefaultRules()) = %d; want %d", len(rules), len(want))
	}
	names := map[string]bool{}
	for _, r := range rules {
		w, ok := want[r.Prefix]
		if !ok {
			t.Errorf("DefaultRules() has unexpected prefix %q", r.Prefix)
			continue
		}
		if r.Rate.Limit != w.limit || r.Rate.Period != w.period || r.PerIP != w.perIP {
			t.Errorf("DefaultRules()[%q] = %d/%v perIP=%v; want %d/%v perIP=%v", r.Prefix, r.Rate.Limit, r.Rate.Period, r.PerIP, w.limit, w.period, w.perIP)
		}
		if names[r.Name] || r.Name == "" {
			t.Errorf("DefaultRules() name %q is empty or repeated", r.Name)
		}
		names[r.Name] = true
	}
	if d := DefaultRate(); d.Limit != 120 || d.Period != time.Minute {
		t.Errorf("DefaultRate() = %+v; want 120 per minute", d)
	}
}

func TestMatch(t *testing.T) {
	rules := Defaults()
	rules.Rules = append(rules.Rules, Rule{Name: "special", Prefix: "/api/agents/special", Rate: mustRate(t, "1-M")})
	tests := []struct {
		path string
		want string
	}{
		{"/api/agents", "agents"},
		{"/api/agents/x", "agents"},
		{"/api/agents/x/y", "agents"},
		{"/api/agentsx", DefaultName},
		{"/api/agents/special", "special"},
		{"/api/agents/special/1", "special"},
		{"/api/agents/specialx", "agents"},
		{"/api/v1/gateway", "gateway"},
		{"/api/v1/gateway/tools/call", "gateway"},
		{"/api/v1/gatewayz", DefaultName},
		{"/api/chat", "chat"},
		{"/api/chat/", "chat"},
		{"/api//chat", "chat"},
		{"/api/x/../chat", "chat"},
		{"/api/instance/abc/restart", "instance"},
		{"/api/provision", "provision"},
		{"/api/register", "register"},
		{"/api/auth/forgot-password", "forgot-password"},
		{"/api/auth/reset-password", "reset-password"},
		{"/api/auth/login", DefaultName},
		{"/", DefaultName},
		{"", DefaultName},
		{"/health", DefaultName},
	}
	for _, tt := range tests {
		if got := rules.Match(tt.path); got.Name != tt.want {
			t.Errorf("Match(%q) = %v; want %v", tt.path, got.Name, tt.want)
		}
	}
	if got := rules.Match("/nope"); got.Rate != DefaultRate() {
		t.Errorf("Match(%q).Rate = %v; want %v", "/nope", got.Rate, DefaultRate())
	}
}

func TestParseRules(t *testing.T) {
	base := Rules{
		Rules: []Rule{
			{Name: "chat", Prefix: "/api/chat", Rate: mustRate(t, "60-M")},
			{Name: "register", Prefix: "/api/register", Rate: mustRate(t, "10-M"), PerIP: true},
		},
		Default: mustRate(t, "120-M"),
	}
	with := func(f func(*Rules)) Rules {
		r := Rules{Rules: append([]Rule(nil), base.Rules...), Default: base.Default}
		f(&r)
		return r
	}
	good := []struct {
		spec string
		want Rules
	}{
		{"", base},
		{" , ", base},
		{"/api/chat=30-M", with(func(r *Rules) { r.Rules[0].Rate = mustRate(t, "30-M") })},
		{"/api/register/=3-H", with(func(r *Rules) { r.Rules[1].Rate = mustRate(t, "3-H") })},
		{"default=200-M", with(func(r *Rules) { r.Default = mustRate(t, "200-M") })},
		{"/api/new=7-S", with(func(r *Rules) {
			r.Rules = append(r.Rules, Rule{Name: "/api/new", Prefix: "/api/new", Rate: mustRate(t, "7-S")})
		})},
		{" /api/chat = 1-D , default=2-M ,", with(func(r *Rules) {
			r.Rules[0].Rate = mustRate(t, "1-D")
			r.Default = mustRate(t, "2-M")
		})},
	}
	for _, tt := range good {
		got, err := ParseRules(base, tt.spec)
		if err != nil {
			t.Errorf("ParseRules(%q) = %v; want no error", tt.spec, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseRules(%q) = %+v; want %+v", tt.spec, got, tt.want)
		}
	}
	if base.Rules[0].Rate.Limit != 60 {
		t.Errorf("ParseRules modified its base: chat limit = %d; want 60", base.Rules[0].Rate.Limit)
	}

	bad := []struct {
		spec  string
		entry string // the entry the error must name
	}{
		{"chat=60-M", "chat=60-M"},
		{"/api/chat", "/api/chat"},
		{"/api/chat=", "/api/chat="},
		{"=60-M", "=60-M"},
		{"/api/chat=60", "/api/chat=60"},
		{"/api/chat=abc-M", "/api/chat=abc-M"},
		{"/api/chat=60-W", "/api/chat=60-W"},
		{"/api/chat=0-M", "/api/chat=0-M"},
		{"/api/chat=-1-M", "/api/chat=-1-M"},
		{"/=5-M", "/=5-M"},
		{"/./=5-M", "/./=5-M"},
		{"/api//chat=1-M", "/api//chat=1-M"},
		{"/api/./chat=1-M", "/api/./chat=1-M"},
		{"/api/chat/..=1-M", "/api/chat/..=1-M"},
		{"default=x", "default=x"},
		{"/api/ok=1-M,/api/chat=1-M,/api/chat/=2-M", "/api/chat/=2-M"},
	}
	for _, tt := range bad {
		_, err := ParseRules(base, tt.spec)
		if err == nil || !strings.Contains(err.Error(), `"`+tt.entry+`"`) {
			t.Errorf("ParseRules(%q) = %v; want an error naming %q", tt.spec, err, tt.entry)
		}
	}
}
