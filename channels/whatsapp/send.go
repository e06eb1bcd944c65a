package whatsapp

import (
	"context"
	"net/http"
	"unicode/utf8"

	"github.com/agentbot/gateway/channels"
)

// sendRequest is the Cloud API's text message.
type sendRequest struct {
	MessagingProduct string       `json:"messaging_product"`
	RecipientType    string       `json:"recipient_type"`
	To               string       `json:"to"`
	Type             string       `json:"type"`
	Text             sendText     `json:"text"`
	Context          *sendContext `json:"context,omitempty"`
}

type sendText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

// sendContext makes the message a reply quoting MessageID (a wamid).
type sendContext struct {
	MessageID string `json:"message_id"`
}

// Send sends text to the WhatsApp user chatID (a wa_id or an E.164 number)
// from the binding's phone number, quoting the message replyTo when it is
// not empty. Link previews are off: the agent's text is sent as written.
//
// Failures: more than Window since the user's last message (Graph 131047)
// is channels.CodeWindowClosed; a throughput, spam or business-account
// limit (130429, 131048, 80007, 4) or HTTP 429 is a Global
// *channels.RetryAfter, the per-user pair limit (131056) a per-chat one; a
// recipient who cannot receive (131026, 131030, 131021) is
// channels.CodeChatUnreachable; a refused token or unknown number is
// channels.CodeCredentialRefused; any other 4xx is channels.CodeRejected —
// all Permanent. A 5xx or a network failure is channels.CodeUnavailable.
func (d *Driver) Send(ctx context.Context, b *channels.Binding, chatID, text string, replyTo string) error {
	c := b.Cred
	// The id goes into the URL path and the token into a header: refuse
	// what cannot be either before it reaches the transport.
	if !printable(c.Token, 20, 1024) || !digits(c.PhoneNumberID, 5, 32) {
		return errorf(channels.CodeCredentialRefused, true, "whatsapp: the binding's token or phone number id is malformed")
	}
	switch n := utf8.RuneCountInString(text); {
	case chatID == "":
		return errorf(channels.CodeRejected, true, "whatsapp: no recipient")
	case n == 0:
		return errorf(channels.CodeRejected, true, "whatsapp: empty message")
	case n > maxText:
		return errorf(channels.CodeRejected, true, "whatsapp: message of %d characters, over the limit of %d", n, maxText)
	}
	msg := sendRequest{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		To:               chatID,
		Type:             "text",
		Text:             sendText{Body: text},
	}
	if replyTo != "" {
		msg.Context = &sendContext{MessageID: replyTo}
	}
	rep, err := d.call(ctx, http.MethodPost, "/"+c.PhoneNumberID+"/messages", c.Token, msg)
	if err != nil {
		return err
	}
	if rep.status/100 == 2 {
		return nil
	}
	return sendError(rep)
}

// sendError maps a failed send (see Send).
func sendError(rep reply) error {
	msg := rep.describe("send")
	switch code := rep.err.Code; {
	case code == codeReEngagement:
		return errorf(channels.CodeWindowClosed, true, "%s", msg)
	case code == codePairRateLimit:
		return &channels.RetryAfter{After: rep.retryAfter(pairRetry)}
	case rateLimited(code), rep.status == http.StatusTooManyRequests:
		return &channels.RetryAfter{After: rep.retryAfter(defaultRetry), Global: true}
	case code == codeOAuth, code == codePermission, code == codePermissionAlt,
		code == codeInvalidParam && rep.err.Subcode == subcodeNoObject,
		rep.status == http.StatusUnauthorized:
		return errorf(channels.CodeCredentialRefused, true, "%s", msg)
	case code == codeUndeliverable, code == codeNotAllowed, code == codeRecipientSender:
		return errorf(channels.CodeChatUnreachable, true, "%s", msg)
	case transient(code), rep.status >= 500:
		return errorf(channels.CodeUnavailable, false, "%s", msg)
	case rep.status >= 400:
		return errorf(channels.CodeRejected, true, "%s", msg)
	}
	// A 1xx or 3xx the client did not follow: nothing says it was sent or
	// refused for good.
	return errorf(channels.CodeUnavailable, false, "%s", msg)
}
