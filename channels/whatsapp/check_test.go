package whatsapp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agentbot/gateway/channels"
	"github.com/agentbot/gateway/channels/whatsapp/whatsapptest"
)

func TestCheck(t *testing.T) {
	d, fake := newDriver(t)
	id, err := d.Check(t.Context(), testCred())
	if err != nil {
		t.Fatalf("Check = %v", err)
	}
	if want := (channels.Identity{ExternalID: testNumber, Name: "+1 555-0100 (Acme)"}); id != want {
		t.Errorf("Check = %+v; want %+v", id, want)
	}

	fake.AddNumber(testToken, testNumber, testDisplay) // no verified name
	if id, err := d.Check(t.Context(), testCred()); err != nil || id.Name != testDisplay {
		t.Errorf("Check without a verified name = %+v, %v; want the name %q", id, err, testDisplay)
	}
}

func TestCheckRefused(t *testing.T) {
	d, fake := newDriver(t)
	fake.AddNumber("EAAGanothertoken0123456789", "222222222222222", "+1 555-0199")
	tests := []struct {
		name string
		edit func(*channels.Credential)
	}{
		{"unknown token", func(c *channels.Credential) { c.Token = "EAAGwrongtoken0123456789abcdef" }},
		{"another number's token", func(c *channels.Credential) { c.Token = "EAAGanothertoken0123456789" }},
		{"unknown phone number id", func(c *channels.Credential) { c.PhoneNumberID = "999999999999999" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCred()
			tt.edit(&c)
			_, err := d.Check(t.Context(), c)
			chanErr(t, "Check", err, channels.CodeCredentialRefused, true)
		})
	}
}

func TestCheckBadShapeCallsNobody(t *testing.T) {
	d, fake := newDriver(t)
	c := testCred()
	c.PhoneNumberID = "12/me"
	_, err := d.Check(t.Context(), c)
	chanErr(t, "Check(bad id)", err, channels.CodeCredentialRefused, true)
	if n := fake.Requests(); n != 0 {
		t.Errorf("Check(bad id) made %d requests; want none", n)
	}
}

func TestCheckUnavailable(t *testing.T) {
	tests := []struct {
		name string
		f    whatsapptest.Failure
	}{
		{"server error", whatsapptest.Failure{Status: 500, Code: 131000}},
		{"bare 503", whatsapptest.Failure{Status: 503}},
		{"rate limited", whatsapptest.Failure{Status: 429, Code: 80007}},
		{"temporary", whatsapptest.Failure{Status: 400, Code: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, fake := newDriver(t)
			fake.Fail(testNumber, tt.f)
			_, err := d.Check(t.Context(), testCred())
			chanErr(t, "Check", err, channels.CodeUnavailable, false)
			if _, err := d.Check(t.Context(), testCred()); err != nil {
				t.Errorf("Check after the failure = %v; want nil", err)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		_, err := New(Options{BaseURL: gone.URL + "/v21.0"}).Check(t.Context(), testCred())
		chanErr(t, "Check", err, channels.CodeUnavailable, false)
	})

	t.Run("not JSON", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html>"))
		}))
		t.Cleanup(srv.Close)
		_, err := New(Options{BaseURL: srv.URL}).Check(t.Context(), testCred())
		chanErr(t, "Check", err, channels.CodeUnavailable, false)
	})
}

func TestCheckCanceled(t *testing.T) {
	d, _ := newDriver(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.Check(ctx, testCred()); !errors.Is(err, context.Canceled) {
		t.Errorf("Check(canceled) = %v; want context.Canceled", err)
	}
}
