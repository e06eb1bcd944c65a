package telegram

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentbot/gateway/channels"
)

func TestValidToken(t *testing.T) {
	secret := "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX" // 35
	for _, tc := range []struct {
		token string
		want  bool
	}{
		{"123456:" + secret, true},
		{"7000000001:" + secret, true},
		{"1:" + strings.Repeat("-_aZ09", 6), true},
		{"", false},
		{secret, false},
		{":" + secret, false},
		{"0:" + secret, false},
		{"-5:" + secret, false},
		{"12a:" + secret, false},
		{"123456:short", false},
		{"123456:" + secret + "/../../getMe", false},
		{"123456:" + secret + "?x=1", false},
		{"123456:" + secret + " ", false},
		{"123456:" + secret + "\n", false},
		{"123456:" + strings.Repeat("a", 65), false},
		{"99999999999999999999:" + secret, false}, // overflows int64
		{"123456:" + strings.Replace(secret, "A", "é", 1), false},
	} {
		if got := ValidToken(tc.token); got != tc.want {
			t.Errorf("ValidToken(%q) = %v; want %v", tc.token, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	id, err := f.d.Check(ctx, channels.Credential{Token: f.token})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if want := (channels.Identity{ExternalID: "700001", Name: "@test_bot"}); id != want {
		t.Errorf("Check = %+v; want %+v", id, want)
	}
	if n := f.tg.Calls(f.token, "getMe"); n != 1 {
		t.Errorf("getMe calls = %d; want 1", n)
	}

	t.Run("refused", func(t *testing.T) {
		_, err := f.d.Check(ctx, channels.Credential{Token: testToken(99)}) // well shaped, unknown
		ce := asChannelError(t, err)
		if ce.Code != channels.CodeCredentialRefused || !ce.Permanent {
			t.Errorf("Check(unknown token) = %+v; want permanent %s", ce, channels.CodeCredentialRefused)
		}
		if strings.Contains(ce.Error(), testToken(99)) {
			t.Errorf("error %q holds the token", ce)
		}
	})
	t.Run("404", func(t *testing.T) {
		f.tg.FailNext(f.token, "getMe", 1, http.StatusNotFound, "Not Found")
		ce := asChannelError(t, func() error { _, err := f.d.Check(ctx, channels.Credential{Token: f.token}); return err }())
		if ce.Code != channels.CodeCredentialRefused || !ce.Permanent {
			t.Errorf("Check after 404 = %+v; want permanent %s", ce, channels.CodeCredentialRefused)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		f.tg.FailNext(f.token, "getMe", 1, http.StatusBadGateway, "Bad Gateway")
		_, err := f.d.Check(ctx, channels.Credential{Token: f.token})
		ce := asChannelError(t, err)
		if ce.Code != channels.CodeUnavailable || ce.Permanent {
			t.Errorf("Check after 502 = %+v; want transient %s", ce, channels.CodeUnavailable)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		d := New(Options{ServerURL: dead.URL})
		_, err := d.Check(ctx, channels.Credential{Token: f.token})
		ce := asChannelError(t, err)
		if ce.Code != channels.CodeUnavailable || ce.Permanent {
			t.Errorf("Check(no server) = %+v; want transient %s", ce, channels.CodeUnavailable)
		}
		if strings.Contains(ce.Error(), f.token) {
			t.Errorf("error %q holds the token", ce)
		}
	})
	t.Run("bad shape", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
		defer srv.Close()
		d := New(Options{ServerURL: srv.URL})
		for _, tok := range []string{"", "nope", "123:abc", f.token + "/x"} {
			_, err := d.Check(ctx, channels.Credential{Token: tok})
			ce := asChannelError(t, err)
			if ce.Code != channels.CodeCredentialRefused || !ce.Permanent {
				t.Errorf("Check(%q) = %+v; want permanent %s", tok, ce, channels.CodeCredentialRefused)
			}
		}
		if n := calls.Load(); n != 0 {
			t.Errorf("malformed tokens made %d requests; want none", n)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := f.d.Check(ctx, channels.Credential{Token: f.token})
		if err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("Check(cancelled ctx) = %v; want the context's error", err)
		}
	})
}

func TestDriverShape(t *testing.T) {
	d := New(Options{})
	if d.Kind() != channels.Telegram || d.MaxText() != 4096 {
		t.Errorf("Kind, MaxText = %q, %d; want %q, 4096", d.Kind(), d.MaxText(), channels.Telegram)
	}
	if d.serverURL != DefaultServerURL || d.pollSecs != 25 || d.pollTimeout != 35e9 {
		t.Errorf("defaults: server %q, poll %ds, HTTP bound %s", d.serverURL, d.pollSecs, d.pollTimeout)
	}
	if d := New(Options{PollTimeout: 1500e6}); d.pollSecs != 2 {
		t.Errorf("PollTimeout 1.5s polls %ds; want 2 (whole seconds, rounded up)", d.pollSecs)
	}
}
