package whatsapp

import (
	"errors"
	"strings"
	"testing"

	"github.com/agentbot/gateway/channels"
)

func TestCheckCredential(t *testing.T) {
	if err := CheckCredential(testCred()); err != nil {
		t.Fatalf("CheckCredential(valid) = %v; want nil", err)
	}
	tests := []struct {
		name  string
		edit  func(*channels.Credential)
		field string // "" when valid
	}{
		{"shortest token", func(c *channels.Credential) { c.Token = strings.Repeat("a", 20) }, ""},
		{"longest token", func(c *channels.Credential) { c.Token = strings.Repeat("a", 1024) }, ""},
		{"empty token", func(c *channels.Credential) { c.Token = "" }, "whatsappToken"},
		{"short token", func(c *channels.Credential) { c.Token = strings.Repeat("a", 19) }, "whatsappToken"},
		{"long token", func(c *channels.Credential) { c.Token = strings.Repeat("a", 1025) }, "whatsappToken"},
		{"token with a space", func(c *channels.Credential) { c.Token = "EAAG test token 0123456789" }, "whatsappToken"},
		{"token with a newline", func(c *channels.Credential) { c.Token = testToken + "\nX-Evil: 1" }, "whatsappToken"},
		{"token not ASCII", func(c *channels.Credential) { c.Token = testToken + "é" }, "whatsappToken"},
		{"shortest id", func(c *channels.Credential) { c.PhoneNumberID = "12345" }, ""},
		{"short id", func(c *channels.Credential) { c.PhoneNumberID = "1234" }, "whatsappPhoneNumberId"},
		{"long id", func(c *channels.Credential) { c.PhoneNumberID = strings.Repeat("1", 33) }, "whatsappPhoneNumberId"},
		{"id with a plus", func(c *channels.Credential) { c.PhoneNumberID = "+15550100" }, "whatsappPhoneNumberId"},
		{"id with a path", func(c *channels.Credential) { c.PhoneNumberID = "12345/../me" }, "whatsappPhoneNumberId"},
		{"no app secret", func(c *channels.Credential) { c.AppSecret = "" }, "whatsappAppSecret"},
		{"short app secret", func(c *channels.Credential) { c.AppSecret = strings.Repeat("a", 15) }, "whatsappAppSecret"},
		{"long app secret", func(c *channels.Credential) { c.AppSecret = strings.Repeat("a", 257) }, "whatsappAppSecret"},
		{"app secret with a tab", func(c *channels.Credential) { c.AppSecret = "0123456789\tabcdef" }, "whatsappAppSecret"},
		{"no verify token", func(c *channels.Credential) { c.VerifyToken = "" }, "whatsappVerifyToken"},
		{"short verify token", func(c *channels.Credential) { c.VerifyToken = "1234567" }, "whatsappVerifyToken"},
		{"long verify token", func(c *channels.Credential) { c.VerifyToken = strings.Repeat("v", 257) }, "whatsappVerifyToken"},
		{"verify token with a space", func(c *channels.Credential) { c.VerifyToken = "verify me please" }, "whatsappVerifyToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCred()
			tt.edit(&c)
			err := CheckCredential(c)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("CheckCredential = %v; want nil", err)
				}
				return
			}
			var ce *channels.Error
			if !errors.As(err, &ce) || ce.Code != channels.CodeCredentialRefused || !ce.Permanent ||
				!strings.HasPrefix(ce.Message, tt.field+" ") {
				t.Fatalf("CheckCredential = %v; want a permanent %s naming %s", err, channels.CodeCredentialRefused, tt.field)
			}
		})
	}
}
