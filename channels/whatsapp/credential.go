package whatsapp

import (
	"fmt"

	"github.com/agentbot/gateway/channels"
)

// CheckCredential validates the shape of a WhatsApp credential without
// calling Meta. A bad field is a *channels.Error with
// channels.CodeCredentialRefused (Permanent) whose message names the field
// by its API name: whatsappToken, whatsappPhoneNumberId, whatsappAppSecret
// or whatsappVerifyToken.
//
// The shapes: the access token is 20 to 1024 printable ASCII characters
// without spaces; the phone number id 5 to 32 digits; the app secret 16 to
// 256 printable ASCII characters without spaces (Meta's are 32 hex
// digits); the verify token 8 to 256 printable ASCII characters without
// spaces.
func CheckCredential(c channels.Credential) error {
	switch {
	case !printable(c.Token, 20, 1024):
		return shapeError("whatsappToken must be 20 to 1024 printable characters without spaces")
	case !digits(c.PhoneNumberID, 5, 32):
		return shapeError("whatsappPhoneNumberId must be 5 to 32 digits")
	case !printable(c.AppSecret, 16, 256):
		return shapeError("whatsappAppSecret must be 16 to 256 printable characters without spaces")
	case !printable(c.VerifyToken, 8, 256):
		return shapeError("whatsappVerifyToken must be 8 to 256 printable characters without spaces")
	}
	return nil
}

func shapeError(msg string) error {
	return &channels.Error{Code: channels.CodeCredentialRefused, Message: msg, Permanent: true}
}

// printable reports whether s is min..max characters of printable ASCII
// other than the space.
func printable(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// digits reports whether s is min..max ASCII digits.
func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// errorf is a *channels.Error with a formatted message.
func errorf(code string, permanent bool, format string, args ...any) *channels.Error {
	return &channels.Error{Code: code, Message: fmt.Sprintf(format, args...), Permanent: permanent}
}
