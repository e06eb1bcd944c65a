package whatsapp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentbot/gateway/channels"
)

// maxBody is the largest delivery the webhook reads.
const maxBody = 1 << 20

// maxChallenge bounds the subscription check's challenge echoed back.
const maxChallenge = 256

// signatureHeader carries "sha256=" and the hex HMAC-SHA256 of the raw body
// keyed with the Meta app's secret.
const signatureHeader = "X-Hub-Signature-256"

// Error codes of the webhook's answers.
const (
	codeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	codeVerifyRefused    = "WEBHOOK_VERIFY_REFUSED"
	codeSignatureInvalid = "WEBHOOK_SIGNATURE_INVALID"
	codeTooLarge         = "PAYLOAD_TOO_LARGE"
	codeInvalidBody      = "INVALID_BODY"
	codeInvalidJSON      = "INVALID_JSON"
	codeNotKept          = "WEBHOOK_NOT_KEPT"
)

// ServeWebhook answers Meta at the binding's webhook URL.
//
// GET is the one-time subscription check: with hub.mode=subscribe and
// hub.verify_token equal to the binding's verify token it answers 200 with
// hub.challenge (at most 256 characters of A-Z a-z 0-9 - . _ ~) as a
// text/plain body, else 403.
//
// POST is a delivery, authenticated by its X-Hub-Signature-256 header, the
// HMAC-SHA256 of the raw body keyed with the binding's app secret; a
// missing, malformed or wrong signature is 401 and accepts nothing. Each
// text message to the binding's phone number is handed to sink before the
// 200; when sink fails the answer is 503 and Meta delivers the whole
// payload again (the sink drops the messages it already kept). Status
// callbacks, other phone numbers' changes and messages other than text are
// ignored. A delivery over 1 MiB is 413; a signed body that is not the
// expected JSON is 400.
func (d *Driver) ServeWebhook(w http.ResponseWriter, r *http.Request, b *channels.Binding, sink channels.Sink) {
	switch r.Method {
	case http.MethodGet:
		d.verify(w, r, b)
	case http.MethodPost:
		d.deliver(w, r, b, sink)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, "Method not allowed")
	}
}

// verify answers the subscription check.
func (d *Driver) verify(w http.ResponseWriter, r *http.Request, b *channels.Binding) {
	q := r.URL.Query()
	challenge := q.Get("hub.challenge")
	if q.Get("hub.mode") != "subscribe" || !equalSecret(q.Get("hub.verify_token"), b.Cred.VerifyToken) ||
		!unreserved(challenge, maxChallenge) {
		writeError(w, http.StatusForbidden, codeVerifyRefused, "The verify token does not match")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, challenge)
}

// unreserved reports whether s is 1..max characters of A-Z a-z 0-9 - . _ ~.
// Meta's challenges are numbers; echoing nothing else keeps the answer from
// carrying markup.
func unreserved(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// equalSecret compares got with want in constant time (over digests, so
// that not even the length leaks); an empty want matches nothing.
func equalSecret(got, want string) bool {
	if want == "" {
		return false
	}
	g, h := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], h[:]) == 1
}

// deliver authenticates a delivery and hands its messages to sink.
func (d *Driver) deliver(w http.ResponseWriter, r *http.Request, b *channels.Binding, sink channels.Sink) {
	if r.ContentLength > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, "Request body too large")
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, "Request body too large")
			return
		}
		writeError(w, http.StatusBadRequest, codeInvalidBody, "Could not read the request body")
		return
	}
	if !validSignature(r.Header.Get(signatureHeader), raw, b.Cred.AppSecret) {
		writeError(w, http.StatusUnauthorized, codeSignatureInvalid, "Missing or invalid X-Hub-Signature-256")
		return
	}
	msgs, err := inbound(raw, b.ExternalID)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidJSON, "Malformed webhook payload")
		return
	}
	for _, in := range msgs {
		if err := sink.Accept(r.Context(), in); err != nil {
			d.log.ErrorContext(r.Context(), "whatsapp: webhook delivery not kept; Meta will deliver it again",
				"binding", b.ID, "msg_id", in.MsgID, "err", err)
			writeError(w, http.StatusServiceUnavailable, codeNotKept, "The delivery could not be kept; deliver it again")
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// validSignature reports whether header is "sha256=" and the hex
// HMAC-SHA256 of body keyed with secret. An empty secret verifies nothing.
func validSignature(header string, body []byte, secret string) bool {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret == "" || len(hexSum) != 2*sha256.Size {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// payload is the part of a delivery the webhook reads.
type payload struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Metadata struct {
					PhoneNumberID string `json:"phone_number_id"`
				} `json:"metadata"`
				Contacts []struct {
					WaID    string `json:"wa_id"`
					Profile struct {
						Name string `json:"name"`
					} `json:"profile"`
				} `json:"contacts"`
				Messages []struct {
					From      string `json:"from"`
					ID        string `json:"id"`
					Timestamp string `json:"timestamp"`
					Type      string `json:"type"`
					Text      struct {
						Body string `json:"body"`
					} `json:"text"`
				} `json:"messages"`
				// Statuses (sent, delivered, read, failed) share the URL;
				// they are not messages and are ignored.
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// inbound parses a delivery into the text messages it carries for the
// phone number id number, in order.
func inbound(raw []byte, number string) ([]channels.Inbound, error) {
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("the payload is not a JSON object")
	}
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	if p.Object != "whatsapp_business_account" || number == "" {
		return nil, nil
	}
	var out []channels.Inbound
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			v := c.Value
			// One app's webhook carries every number of the business
			// account: only this binding's number is ours.
			if c.Field != "messages" || v.Metadata.PhoneNumberID != number {
				continue
			}
			for _, m := range v.Messages {
				// Only text reaches the agent. Media, locations, reactions,
				// button replies and the rest would arrive with no text;
				// they are skipped rather than accepted empty.
				if m.Type != "text" || m.From == "" || m.ID == "" || m.Text.Body == "" {
					continue
				}
				name := ""
				for _, ct := range v.Contacts {
					if ct.WaID == m.From || len(v.Contacts) == 1 {
						name = ct.Profile.Name
						break
					}
				}
				out = append(out, channels.Inbound{
					ChatID:     m.From,
					SenderID:   m.From,
					SenderName: name,
					Text:       m.Text.Body,
					MsgID:      m.ID,
					At:         unixTime(m.Timestamp),
					ReplyTo:    m.ID,
				})
			}
		}
	}
	return out, nil
}

// unixTime parses Meta's timestamp, a string of Unix seconds; anything else
// is the zero time (unknown).
func unixTime(s string) time.Time {
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec <= 0 || sec > 1<<40 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// writeError answers {"error": msg, "code": code}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	buf, _ := json.Marshal(struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{msg, code})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(buf, '\n'))
}
