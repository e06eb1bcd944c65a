package whatsapptest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Sender delivers webhook requests to a WhatsApp webhook the way Meta
// does: the subscription check's GET and signed POSTs.
type Sender struct {
	// URL is the webhook's URL (e.g. an httptest server serving the
	// driver's ServeWebhook).
	URL string
	// AppSecret is the Meta app's secret that signs deliveries.
	AppSecret string
	// Client makes the requests; nil means a client with a 10 s timeout.
	Client *http.Client
}

// Response is a webhook's answer, read in full (at most 1 MiB).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Message delivers one text message from the user from (a wa_id, also the
// chat) named name, with id msgID (a wamid), sent at at, to the phone
// number phoneNumberID: the payload MessagePayload builds, signed.
func (s Sender) Message(ctx context.Context, phoneNumberID, from, name, msgID, text string, at time.Time) (Response, error) {
	return s.Deliver(ctx, MessagePayload(phoneNumberID, from, name, msgID, text, at))
}

// Deliver POSTs body signed with the app secret, as Meta does.
func (s Sender) Deliver(ctx context.Context, body []byte) (Response, error) {
	return s.Post(ctx, body, Sign(s.AppSecret, body))
}

// Post POSTs body with signature as the X-Hub-Signature-256 header
// (omitted when empty): for forged, unsigned or mis-signed deliveries.
func (s Sender) Post(ctx context.Context, body []byte, signature string) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return Response{}, fmt.Errorf("whatsapptest: deliver: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	return s.do(req)
}

// Verify makes the subscription check: GET with hub.mode=subscribe,
// hub.verify_token and hub.challenge.
func (s Sender) Verify(ctx context.Context, verifyToken, challenge string) (Response, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		return Response{}, fmt.Errorf("whatsapptest: verify: %w", err)
	}
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.verify_token", verifyToken)
	q.Set("hub.challenge", challenge)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Response{}, fmt.Errorf("whatsapptest: verify: %w", err)
	}
	return s.do(req)
}

func (s Sender) do(req *http.Request) (Response, error) {
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("whatsapptest: %s %s: %w", req.Method, s.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Response{}, fmt.Errorf("whatsapptest: %s %s: read answer: %w", req.Method, s.URL, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// Sign is the X-Hub-Signature-256 value of body under secret:
// "sha256=" and the hex HMAC-SHA256.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// The webhook payload, as Meta sends it for the "messages" field.
type (
	// Payload is a whole delivery.
	Payload struct {
		Object string  `json:"object"`
		Entry  []Entry `json:"entry"`
	}
	// Entry is one business account's changes.
	Entry struct {
		ID      string   `json:"id"`
		Changes []Change `json:"changes"`
	}
	// Change is one field's change.
	Change struct {
		Field string `json:"field"`
		Value Value  `json:"value"`
	}
	// Value is a "messages" change: the number it concerns, the users
	// who wrote, their messages, and status callbacks of sent messages.
	Value struct {
		MessagingProduct string    `json:"messaging_product"`
		Metadata         Metadata  `json:"metadata"`
		Contacts         []Contact `json:"contacts,omitempty"`
		Messages         []Message `json:"messages,omitempty"`
		Statuses         []Status  `json:"statuses,omitempty"`
	}
	// Metadata names the business phone number.
	Metadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	}
	// Contact is a user who wrote.
	Contact struct {
		Profile Profile `json:"profile"`
		WaID    string  `json:"wa_id"`
	}
	// Profile is a user's public profile.
	Profile struct {
		Name string `json:"name"`
	}
	// Message is one inbound message; Text is set for type "text".
	Message struct {
		From      string `json:"from"`
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
		Type      string `json:"type"`
		Text      *Text  `json:"text,omitempty"`
	}
	// Text is a text message's body.
	Text struct {
		Body string `json:"body"`
	}
	// Status is a status callback of a message the business sent.
	Status struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		Timestamp   string `json:"timestamp"`
		RecipientID string `json:"recipient_id"`
	}
)

// NewPayload wraps one change of value for phoneNumberID's business
// account, filling value's metadata and messaging product.
func NewPayload(phoneNumberID string, value Value) Payload {
	value.MessagingProduct = "whatsapp"
	value.Metadata = Metadata{DisplayPhoneNumber: "15550100", PhoneNumberID: phoneNumberID}
	return Payload{
		Object: "whatsapp_business_account",
		Entry:  []Entry{{ID: "102290129340398", Changes: []Change{{Field: "messages", Value: value}}}},
	}
}

// JSON encodes p.
func (p Payload) JSON() []byte {
	buf, err := json.Marshal(p)
	if err != nil {
		panic(err) // plain strings and slices always encode
	}
	return buf
}

// MessagePayload is the delivery of one text message (see
// Sender.Message).
func MessagePayload(phoneNumberID, from, name, msgID, text string, at time.Time) []byte {
	return NewPayload(phoneNumberID, Value{
		Contacts: []Contact{{Profile: Profile{Name: name}, WaID: from}},
		Messages: []Message{{From: from, ID: msgID, Timestamp: unix(at), Type: "text", Text: &Text{Body: text}}},
	}).JSON()
}

// StatusPayload is the delivery of one status callback ("sent",
// "delivered", "read", "failed") of the message msgID sent to recipient.
func StatusPayload(phoneNumberID, msgID, recipient, status string, at time.Time) []byte {
	return NewPayload(phoneNumberID, Value{
		Statuses: []Status{{ID: msgID, Status: status, Timestamp: unix(at), RecipientID: recipient}},
	}).JSON()
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
