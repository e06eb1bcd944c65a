package telegram

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/go-telegram/bot"

	"github.com/agentbot/gateway/channels"
)

// SecretHeader carries the webhook's secret_token on every delivery.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// maxWebhookBody bounds a delivery (channels.Webhook).
const maxWebhookBody = 1 << 20

// maxConnections is setWebhook's max_connections: Telegram's default.
const maxConnections = 40

// ServeWebhook takes one update Telegram POSTs. The secret_token header
// must equal b.WebhookSecret (compared in constant time; a binding without
// a secret refuses every delivery): else 401 and nothing is accepted. A
// user's text message is handed to sink.Accept before the 200; if Accept
// fails the answer is 503 and Telegram delivers the update again. Other
// updates are answered 200 and dropped. Errors are JSON
// {"error": "...", "code": "..."}: 405 METHOD_NOT_ALLOWED, 401
// WEBHOOK_SIGNATURE_INVALID, 413 PAYLOAD_TOO_LARGE (over 1 MiB), 400
// INVALID_JSON, 503 WEBHOOK_NOT_KEPT: the codes WhatsApp's webhook answers
// with, in the server's code table.
func (d *Driver) ServeWebhook(w http.ResponseWriter, r *http.Request, b *channels.Binding, sink channels.Sink) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "Telegram delivers updates with POST")
		return
	}
	if !secretMatches(r.Header.Get(SecretHeader), b.WebhookSecret) {
		writeError(w, http.StatusUnauthorized, "WEBHOOK_SIGNATURE_INVALID", "Missing or wrong "+SecretHeader)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "Request body too large")
			return
		}
		writeError(w, http.StatusBadRequest, "INVALID_BODY", "Could not read the request body")
		return
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		writeError(w, http.StatusBadRequest, "INVALID_JSON", "The body is not a JSON object")
		return
	}
	u, err := decodeUpdate(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_JSON", "The body is not a Telegram update")
		return
	}
	if u.ok {
		if err := sink.Accept(r.Context(), u.in); err != nil {
			d.log.WarnContext(r.Context(), "telegram: webhook update not accepted; Telegram will retry",
				"binding", b.ID, "update_id", u.id, "err", err)
			writeError(w, http.StatusServiceUnavailable, "WEBHOOK_NOT_KEPT", "The update could not be kept; Telegram delivers it again")
			return
		}
	}
	// An empty 200: a JSON body here would be taken as a Bot API call.
	w.WriteHeader(http.StatusOK)
}

// secretMatches compares got with want in constant time, whatever their
// lengths; an empty want matches nothing.
func secretMatches(got, want string) bool {
	if want == "" {
		return false
	}
	g, h := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], h[:]) == 1
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	buf, _ := json.Marshal(map[string]string{"error": message, "code": code})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(buf, '\n'))
}

// SetWebhook points b's bot at url: Telegram then POSTs new messages there
// with b.WebhookSecret in SecretHeader, and getUpdates answers 409. The
// binding must have a valid secret (1–256 of A-Z a-z 0-9 _ -).
func (d *Driver) SetWebhook(ctx context.Context, b *channels.Binding, url string) error {
	if !ValidToken(b.Cred.Token) {
		return errMalformedToken
	}
	if !validSecret(b.WebhookSecret) {
		return &channels.Error{Code: channels.CodeRejected,
			Message: "the binding's webhook secret must be 1–256 characters of A-Z a-z 0-9 _ -", Permanent: true}
	}
	if url == "" {
		return &channels.Error{Code: channels.CodeRejected, Message: "empty webhook URL", Permanent: true}
	}
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ok, err := d.api(b.Cred.Token).SetWebhook(callCtx, &bot.SetWebhookParams{
		URL:            url,
		SecretToken:    b.WebhookSecret,
		AllowedUpdates: allowedUpdates,
		MaxConnections: maxConnections,
	})
	if err != nil {
		return d.fail(ctx, libraryError("setWebhook", b.Cred.Token, err))
	}
	if !ok {
		return &channels.Error{Code: channels.CodeUnavailable, Message: "telegram: setWebhook answered false"}
	}
	return nil
}

// DeleteWebhook removes b's webhook, keeping pending updates for
// getUpdates.
func (d *Driver) DeleteWebhook(ctx context.Context, b *channels.Binding) error {
	if !ValidToken(b.Cred.Token) {
		return errMalformedToken
	}
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ok, err := d.api(b.Cred.Token).DeleteWebhook(callCtx, &bot.DeleteWebhookParams{DropPendingUpdates: false})
	if err != nil {
		return d.fail(ctx, libraryError("deleteWebhook", b.Cred.Token, err))
	}
	if !ok {
		return &channels.Error{Code: channels.CodeUnavailable, Message: "telegram: deleteWebhook answered false"}
	}
	return nil
}

// validSecret: 1–256 characters of A-Z a-z 0-9 _ -, as Telegram takes a
// secret_token.
func validSecret(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
