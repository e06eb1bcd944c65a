package whatsapp

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/agentbot/gateway/channels"
)

// Check validates c's shape (CheckCredential), then reads the phone
// number's metadata with the access token. The identity is the phone number
// id, named by its display number and verified business name.
//
// A token Meta refuses (Graph error 190, HTTP 401, a missing permission) or
// a phone number id it does not know (Graph error 100, HTTP 404) is a
// *channels.Error with channels.CodeCredentialRefused (Permanent); a
// network failure, a rate limit or a 5xx is channels.CodeUnavailable.
func (d *Driver) Check(ctx context.Context, c channels.Credential) (channels.Identity, error) {
	if err := CheckCredential(c); err != nil {
		return channels.Identity{}, err
	}
	const op = "check the phone number"
	rep, err := d.call(ctx, http.MethodGet, "/"+c.PhoneNumberID+"?fields=display_phone_number,verified_name", c.Token, nil)
	if err != nil {
		return channels.Identity{}, err
	}
	if rep.status != http.StatusOK {
		return channels.Identity{}, checkError(rep, op)
	}
	var number struct {
		Display  string `json:"display_phone_number"`
		Verified string `json:"verified_name"`
	}
	if err := json.Unmarshal(rep.body, &number); err != nil {
		return channels.Identity{}, errorf(channels.CodeUnavailable, false, "whatsapp: %s: malformed answer: %v", op, err)
	}
	return channels.Identity{ExternalID: c.PhoneNumberID, Name: identityName(c.PhoneNumberID, clean(number.Display), clean(number.Verified))}, nil
}

// identityName is "+1 555-0100 (Acme)", or whichever part Meta gave, or
// the phone number id.
func identityName(id, display, verified string) string {
	switch {
	case display != "" && verified != "":
		return display + " (" + verified + ")"
	case display != "":
		return display
	case verified != "":
		return verified
	}
	return id
}

// checkError maps a failed metadata read.
func checkError(rep reply, op string) error {
	msg := rep.describe(op)
	switch code := rep.err.Code; {
	case rep.status == http.StatusTooManyRequests, rateLimited(code), transient(code), rep.status >= 500:
		return errorf(channels.CodeUnavailable, false, "%s", msg)
	case rep.status >= 400:
		// The request is fixed: whatever Meta refuses in it is the token
		// (190, 401, permissions) or the phone number id (100, 404).
		return errorf(channels.CodeCredentialRefused, true, "%s", msg)
	}
	return errorf(channels.CodeUnavailable, false, "%s", msg)
}
