package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/channels"
	"github.com/agentbot/gateway/channels/whatsapp/whatsapptest"
)

const user = "447700900123" // a wa_id

func TestSend(t *testing.T) {
	d, fake := newDriver(t)
	b := testBinding()
	if err := d.Send(t.Context(), b, user, "hello", ""); err != nil {
		t.Fatalf("Send = %v", err)
	}
	if err := d.Send(t.Context(), b, user, "a reply", "wamid.HBgLNDQ3NzAwOTAwMTIz"); err != nil {
		t.Fatalf("Send(reply) = %v", err)
	}
	long := strings.Repeat("é", maxText) // the limit counts characters, not bytes
	if err := d.Send(t.Context(), b, user, long, ""); err != nil {
		t.Fatalf("Send(%d characters) = %v", maxText, err)
	}
	got := fake.Sent(testNumber)
	want := []whatsapptest.SentMessage{
		{To: user, Body: "hello"},
		{To: user, Body: "a reply", ReplyTo: "wamid.HBgLNDQ3NzAwOTAwMTIz"},
		{To: user, Body: long},
	}
	if len(got) != len(want) {
		t.Fatalf("sent %d messages; want %d", len(got), len(want))
	}
	for i := range want {
		if g := got[i]; g.To != want[i].To || g.Body != want[i].Body || g.ReplyTo != want[i].ReplyTo || g.PreviewURL {
			t.Errorf("sent[%d] = %+v; want %+v", i, g, want[i])
		}
	}
}

func TestSendErrors(t *testing.T) {
	type want struct {
		code      string // a *channels.Error's code; "" for a *channels.RetryAfter
		permanent bool
		after     time.Duration
		global    bool
	}
	tests := []struct {
		name string
		f    whatsapptest.Failure
		want want
	}{
		{"window closed", whatsapptest.Failure{Status: 400, Code: 131047}, want{code: channels.CodeWindowClosed, permanent: true}},
		{"throughput", whatsapptest.Failure{Status: 400, Code: 130429}, want{after: defaultRetry, global: true}},
		{"throughput with Retry-After", whatsapptest.Failure{Status: 429, Code: 130429, RetryAfter: "7"}, want{after: 7 * time.Second, global: true}},
		{"business account limit", whatsapptest.Failure{Status: 400, Code: 80007}, want{after: defaultRetry, global: true}},
		{"spam limit", whatsapptest.Failure{Status: 400, Code: 131048}, want{after: defaultRetry, global: true}},
		{"app limit", whatsapptest.Failure{Status: 400, Code: 4}, want{after: defaultRetry, global: true}},
		{"pair limit", whatsapptest.Failure{Status: 400, Code: 131056}, want{after: pairRetry}},
		{"bare 429", whatsapptest.Failure{Status: 429}, want{after: defaultRetry, global: true}},
		{"undeliverable", whatsapptest.Failure{Status: 400, Code: 131026}, want{code: channels.CodeChatUnreachable, permanent: true}},
		{"not in allowed list", whatsapptest.Failure{Status: 400, Code: 131030}, want{code: channels.CodeChatUnreachable, permanent: true}},
		{"recipient is sender", whatsapptest.Failure{Status: 400, Code: 131021}, want{code: channels.CodeChatUnreachable, permanent: true}},
		{"token expired", whatsapptest.Failure{Status: 401, Code: 190}, want{code: channels.CodeCredentialRefused, permanent: true}},
		{"token 190 as a 400", whatsapptest.Failure{Status: 400, Code: 190}, want{code: channels.CodeCredentialRefused, permanent: true}},
		{"missing permission", whatsapptest.Failure{Status: 403, Code: 10}, want{code: channels.CodeCredentialRefused, permanent: true}},
		{"bare 401", whatsapptest.Failure{Status: 401}, want{code: channels.CodeCredentialRefused, permanent: true}},
		{"invalid parameter", whatsapptest.Failure{Status: 400, Code: 100}, want{code: channels.CodeRejected, permanent: true}},
		{"unknown code", whatsapptest.Failure{Status: 400, Code: 131051}, want{code: channels.CodeRejected, permanent: true}},
		{"server error", whatsapptest.Failure{Status: 500, Code: 131000}, want{code: channels.CodeUnavailable}},
		{"temporary as a 400", whatsapptest.Failure{Status: 400, Code: 131016}, want{code: channels.CodeUnavailable}},
		{"bare 502", whatsapptest.Failure{Status: 502}, want{code: channels.CodeUnavailable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, fake := newDriver(t)
			fake.Fail(testNumber, tt.f)
			err := d.Send(t.Context(), testBinding(), user, "hi", "")
			if tt.want.code != "" {
				chanErr(t, "Send", err, tt.want.code, tt.want.permanent)
			} else {
				var ra *channels.RetryAfter
				if !errors.As(err, &ra) || ra.After != tt.want.after || ra.Global != tt.want.global {
					t.Errorf("Send = %#v; want a *channels.RetryAfter after %s, global %v", err, tt.want.after, tt.want.global)
				}
			}
			if n := len(fake.Sent(testNumber)); n != 0 {
				t.Errorf("the fake took %d messages; want none", n)
			}
		})
	}
}

func TestSendWindowClosedSaysWhy(t *testing.T) {
	d, fake := newDriver(t)
	fake.FailNext(testNumber, 1, http.StatusBadRequest, 131047)
	err := d.Send(t.Context(), testBinding(), user, "hi", "")
	var ce *channels.Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "131047") || !strings.Contains(ce.Message, "24 hours") {
		t.Errorf("Send = %v; want the Graph code and Meta's details in the message", err)
	}
	if err := d.Send(t.Context(), testBinding(), user, "hi", ""); err != nil {
		t.Errorf("Send after the failure = %v; want nil", err)
	}
}

func TestSendRefusedLocally(t *testing.T) {
	badToken := testBinding()
	badToken.Cred.Token = "bad token"
	badID := testBinding()
	badID.Cred.PhoneNumberID = "1234/messages?x="
	tests := []struct {
		name         string
		b            func() *channels.Binding
		chatID, text string
		code         string
	}{
		{"empty text", testBinding, user, "", channels.CodeRejected},
		{"text over the limit", testBinding, user, strings.Repeat("é", maxText+1), channels.CodeRejected},
		{"no recipient", testBinding, "", "hi", channels.CodeRejected},
		{"malformed token", func() *channels.Binding { return badToken }, user, "hi", channels.CodeCredentialRefused},
		{"malformed phone number id", func() *channels.Binding { return badID }, user, "hi", channels.CodeCredentialRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, fake := newDriver(t)
			err := d.Send(t.Context(), tt.b(), tt.chatID, tt.text, "")
			chanErr(t, "Send", err, tt.code, true)
			if n := fake.Requests(); n != 0 {
				t.Errorf("Send made %d requests; want none", n)
			}
		})
	}
}

func TestSendWrongToken(t *testing.T) {
	d, _ := newDriver(t)
	b := testBinding()
	b.Cred.Token = "EAAGrevokedtoken0123456789"
	chanErr(t, "Send(wrong token)", d.Send(t.Context(), b, user, "hi", ""), channels.CodeCredentialRefused, true)
}

func TestSendCanceled(t *testing.T) {
	d, fake := newDriver(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := d.Send(ctx, testBinding(), user, "hi", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Send(canceled) = %v; want context.Canceled", err)
	}
	if n := len(fake.Sent(testNumber)); n != 0 {
		t.Errorf("the fake took %d messages; want none", n)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", defaultRetry},
		{"5", 5 * time.Second},
		{"0", time.Second},
		{"-3", time.Second},
		{"99999999", maxRetry},
		{"soon", defaultRetry},
		{time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat), time.Second},
	}
	for _, tt := range tests {
		rep := reply{header: http.Header{"Retry-After": {tt.header}}}
		if got := rep.retryAfter(defaultRetry); got != tt.want {
			t.Errorf("retryAfter(Retry-After %q) = %s; want %s", tt.header, got, tt.want)
		}
	}
	// An HTTP date is a wait until then (seconds of slack for the clock).
	at := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	if got := (reply{header: http.Header{"Retry-After": {at}}}).retryAfter(defaultRetry); got < 80*time.Second || got > 91*time.Second {
		t.Errorf("retryAfter(Retry-After %q) = %s; want about 90s", at, got)
	}
}

func TestSendConcurrent(t *testing.T) {
	d, fake := newDriver(t)
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- d.Send(t.Context(), testBinding(), user, fmt.Sprint("message ", i), "") }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Send = %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	sent, err := fake.WaitSent(ctx, testNumber, n)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range sent {
		seen[m.Body] = true
	}
	if len(seen) != n {
		t.Errorf("the fake took %d distinct messages; want %d", len(seen), n)
	}
}
