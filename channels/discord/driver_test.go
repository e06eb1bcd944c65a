package discord

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/channels"
)

func TestValidToken(t *testing.T) {
	for _, tc := range []struct {
		token string
		want  bool
	}{
		{"MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs", true},
		{"a.b.c", true},
		{"a-_.B9.c", true},
		{"", false},
		{"a.b", false},
		{"a.b.c.d", false},
		{"a..c", false},
		{".b.c", false},
		{"a.b.", false},
		{"a.b+.c", false},
		{"a.b/.c", false},
		{"a.b=.c", false},
		{"a.b c.d", false},
		{"Bot a.b.c", false},
		{"a.b.é", false},
		{"a.b." + strings.Repeat("c", 300), false},
	} {
		if got := ValidToken(tc.token); got != tc.want {
			t.Errorf("ValidToken(%q) = %v; want %v", tc.token, got, tc.want)
		}
	}
}

func TestKindAndMaxText(t *testing.T) {
	d := New(Options{})
	if d.Kind() != channels.Discord || d.MaxText() != 2000 {
		t.Errorf("Kind, MaxText = %q, %d; want %q, 2000", d.Kind(), d.MaxText(), channels.Discord)
	}
}

// wantError checks err is a *channels.Error with code and permanence.
func wantError(t *testing.T, what string, err error, code string, permanent bool) {
	t.Helper()
	var ce *channels.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%s = %v (%T); want a *channels.Error %s", what, err, err, code)
	}
	if ce.Code != code || ce.Permanent != permanent {
		t.Errorf("%s = %v (permanent %v); want %s (permanent %v)", what, ce, ce.Permanent, code, permanent)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxT(t)

	id, err := f.d.Check(ctx, channels.Credential{Token: f.token})
	if err != nil {
		t.Fatalf("Check(good token) = %v", err)
	}
	if id.ExternalID != f.botID || !strings.HasPrefix(id.Name, "bot") {
		t.Errorf("Check(good token) = %+v; want ExternalID %s and the bot's username", id, f.botID)
	}

	_, err = f.d.Check(ctx, channels.Credential{Token: "MTIz.abc.def"})
	wantError(t, "Check(unknown token)", err, channels.CodeCredentialRefused, true)

	for _, bad := range []string{"", "not-a-token", "a.b", "Bot a.b.c"} {
		_, err = f.d.Check(ctx, channels.Credential{Token: bad})
		wantError(t, "Check("+bad+")", err, channels.CodeCredentialRefused, true)
	}

	f.srv.AddUser("dXNlcg.abc.def", "42", "a-person")
	_, err = f.d.Check(ctx, channels.Credential{Token: "dXNlcg.abc.def"})
	wantError(t, "Check(a user account's token)", err, channels.CodeCredentialRefused, true)
}

func TestCheckUnavailable(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"message":"oops"}`, http.StatusBadGateway)
	}))
	defer fail.Close()
	_, err := New(Options{APIURL: fail.URL}).Check(ctx, channels.Credential{Token: "a.b.c"})
	wantError(t, "Check(a 502)", err, channels.CodeUnavailable, false)

	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	_, err = New(Options{APIURL: gone.URL}).Check(ctx, channels.Credential{Token: "a.b.c"})
	wantError(t, "Check(nothing listening)", err, channels.CodeUnavailable, false)

	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"id":"1","username":"` + strings.Repeat("x", 2<<20) + `","bot":true}`))
	}))
	defer huge.Close()
	_, err = New(Options{APIURL: huge.URL}).Check(ctx, channels.Credential{Token: "a.b.c"})
	wantError(t, "Check(a 2 MiB answer)", err, channels.CodeUnavailable, false)
}

func TestSend(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxT(t)
	b := f.binding()

	if err := f.d.Send(ctx, b, "111", "hello @everyone", ""); err != nil {
		t.Fatalf("Send = %v", err)
	}
	if err := f.d.Send(ctx, b, "111", "a reply", "222"); err != nil {
		t.Fatalf("Send(reply) = %v", err)
	}
	sent := f.srv.Sent(f.token)
	if len(sent) != 2 {
		t.Fatalf("Sent = %+v; want 2 messages", sent)
	}
	if sent[0].ChannelID != "111" || sent[0].Content != "hello @everyone" || sent[0].ReplyTo != "" {
		t.Errorf("first message = %+v; want channel 111, the text, no reply", sent[0])
	}
	var body struct {
		AllowedMentions *struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
		MessageReference json.RawMessage `json:"message_reference"`
	}
	if err := json.Unmarshal(sent[0].Raw, &body); err != nil {
		t.Fatal(err)
	}
	if body.AllowedMentions == nil || body.AllowedMentions.Parse == nil || len(body.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions in %s; want {parse: []}", sent[0].Raw)
	}
	if body.MessageReference != nil {
		t.Errorf("message_reference in %s; want none", sent[0].Raw)
	}
	if sent[1].ReplyTo != "222" || sent[1].FailIfNotExists {
		t.Errorf("reply = %+v; want ReplyTo 222 and fail_if_not_exists false", sent[1])
	}
}

func TestSendRateLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxT(t)
	b := f.binding()

	f.srv.RateLimit(f.token, 1, 1500*time.Millisecond, false)
	f.srv.RateLimit(f.token, 1, 250*time.Millisecond, true)
	start := time.Now()
	for _, want := range []channels.RetryAfter{{After: 1500 * time.Millisecond}, {After: 250 * time.Millisecond, Global: true}} {
		err := f.d.Send(ctx, b, "111", "hi", "")
		var ra *channels.RetryAfter
		if !errors.As(err, &ra) {
			t.Fatalf("Send(rate limited) = %v; want a *channels.RetryAfter", err)
		}
		if *ra != want {
			t.Errorf("Send(rate limited) = %+v; want %+v", *ra, want)
		}
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("two rate-limited sends took %s; the driver must not wait itself", waited)
	}
	if err := f.d.Send(ctx, b, "111", "hi", ""); err != nil {
		t.Errorf("Send after the rate limit = %v", err)
	}
	if n := len(f.srv.Sent(f.token)); n != 1 {
		t.Errorf("%d messages sent; want 1 (the 429s were not retried)", n)
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxT(t)
	b := f.binding()
	f.srv.Forbid(f.token, "403")

	err := f.d.Send(ctx, b, "403", "hi", "")
	wantError(t, "Send(forbidden channel)", err, channels.CodeChatUnreachable, true)

	for _, tc := range []struct {
		status    int
		code      string
		permanent bool
	}{
		{404, channels.CodeChatUnreachable, true},
		{401, channels.CodeCredentialRefused, true},
		{400, channels.CodeRejected, true},
		{500, channels.CodeUnavailable, false},
		{503, channels.CodeUnavailable, false},
	} {
		f.srv.FailSends(f.token, 1, tc.status)
		err := f.d.Send(ctx, b, "111", "hi", "")
		wantError(t, "Send(a "+http.StatusText(tc.status)+")", err, tc.code, tc.permanent)
	}

	other := &channels.Binding{Cred: channels.Credential{Token: "MTIz.abc.def"}}
	wantError(t, "Send(unknown token)", f.d.Send(ctx, other, "111", "hi", ""), channels.CodeCredentialRefused, true)

	// Refused before any request.
	wantError(t, "Send(chat ../users/@me)", f.d.Send(ctx, b, "../users/@me", "hi", ""), channels.CodeChatUnreachable, true)
	wantError(t, "Send(reply to x)", f.d.Send(ctx, b, "111", "hi", "x"), channels.CodeRejected, true)
	wantError(t, "Send(empty)", f.d.Send(ctx, b, "111", "  ", ""), channels.CodeRejected, true)
	wantError(t, "Send(2001 characters)", f.d.Send(ctx, b, "111", strings.Repeat("é", 2001), ""), channels.CodeRejected, true)
	if err := f.d.Send(ctx, b, "111", strings.Repeat("é", 2000), ""); err != nil {
		t.Errorf("Send(2000 characters) = %v", err)
	}
	if n := len(f.srv.Sent(f.token)); n != 1 {
		t.Errorf("%d messages sent; want 1", n)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.d.Send(cancelled, b, "111", "hi", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Send(cancelled context) = %v; want context.Canceled", err)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		want   channels.RetryAfter
	}{
		{"body", nil, `{"retry_after":0.5,"global":false}`, channels.RetryAfter{After: 500 * time.Millisecond}},
		{"body global", nil, `{"retry_after":2,"global":true}`, channels.RetryAfter{After: 2 * time.Second, Global: true}},
		{"header", http.Header{"Retry-After": {"3"}}, `not json`, channels.RetryAfter{After: 3 * time.Second}},
		{"header global", http.Header{"Retry-After": {"1"}, "X-Ratelimit-Global": {"true"}}, ``, channels.RetryAfter{After: time.Second, Global: true}},
		{"scope global", http.Header{"X-Ratelimit-Scope": {"global"}}, `{"retry_after":1}`, channels.RetryAfter{After: time.Second, Global: true}},
		{"body wins", http.Header{"Retry-After": {"9"}}, `{"retry_after":0.25}`, channels.RetryAfter{After: 250 * time.Millisecond}},
		{"neither", nil, `{}`, channels.RetryAfter{After: time.Second}},
		{"negative", nil, `{"retry_after":-4}`, channels.RetryAfter{}},
		{"huge", nil, `{"retry_after":1e300}`, channels.RetryAfter{After: time.Hour}},
	} {
		h := tc.header
		if h == nil {
			h = http.Header{}
		}
		if got := retryAfter(h, []byte(tc.body)); *got != tc.want {
			t.Errorf("retryAfter(%s) = %+v; want %+v", tc.name, *got, tc.want)
		}
	}
}

// TestSendDefaultsToDiscord only checks the default base URL is Discord's.
func TestSendDefaultsToDiscord(t *testing.T) {
	if d := New(Options{}); d.apiURL != DefaultAPIURL {
		t.Errorf("default API URL = %q; want %q", d.apiURL, DefaultAPIURL)
	}
	if d := New(Options{APIURL: "http://x/api/"}); d.apiURL != "http://x/api" {
		t.Errorf("API URL = %q; want the trailing slash gone", d.apiURL)
	}
}
