// Package channels connects agents to chat apps: Telegram, Discord and
// WhatsApp. A binding is one agent's connection on one channel (a bot token,
// or a WhatsApp Cloud API number). Each channel is a Driver: it checks a
// credential against the live service, sends one message, and receives
// either through a long-lived session (a Receiver: Telegram long polling,
// the Discord Gateway), which exactly one gateway node runs per binding
// under a lease, or through webhooks (a Webhook: WhatsApp, Telegram on a
// public URL), which any node takes.
//
// Receivers and webhooks hand every inbound message to a Sink, which keeps
// it durably, deduplicated on the channel's own message id, before
// anything is acknowledged to the channel; a dispatcher then runs the agent
// on it and sends the reply back to the same chat through the driver, split
// at the channel's limit, one chat at a time, honouring the channel's
// retry_after. See docs/channels.md.
package channels

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Channel kinds.
const (
	Telegram = "telegram"
	Discord  = "discord"
	WhatsApp = "whatsapp"
)

// Credential is what a user hands over to connect one channel.
type Credential struct {
	// Token is the bot token (Telegram, Discord) or the Cloud API access
	// token (WhatsApp).
	Token string `json:"token"`
	// WhatsApp Cloud API only: the sending number's id, the Meta app's
	// secret (webhook signatures) and the webhook verify token.
	PhoneNumberID string `json:"phoneNumberId,omitempty"`
	AppSecret     string `json:"appSecret,omitempty"`
	VerifyToken   string `json:"verifyToken,omitempty"`
}

// Identity is who a credential speaks as, as the live check found it.
type Identity struct {
	// ExternalID identifies the bot on its channel: the Telegram bot's user
	// id, the Discord bot's user id, the WhatsApp phone number id. One
	// external id is bound to at most one agent.
	ExternalID string
	// Name is for people: @username, the bot's name, the display number.
	Name string
}

// Binding is one agent's connection on one channel, as a driver sees it.
type Binding struct {
	ID         string
	UserID     string
	AgentID    string
	Kind       string
	ExternalID string
	Cred       Credential
	// Offset is the next Telegram update to ask for (last update_id + 1);
	// 0 at first.
	Offset int64
	// Resume is a Receiver's saved session state (Discord: session id,
	// sequence and resume URL), opaque to everyone else; nil at first.
	Resume []byte
	// WebhookSecret authenticates webhook deliveries that carry a shared
	// secret rather than a signature (Telegram's secret_token header):
	// 1–256 characters of A-Z a-z 0-9 _ -.
	WebhookSecret string
	// AllowFrom, when not empty, lists the sender ids the agent answers;
	// messages from anyone else are accepted (deduplicated) and ignored.
	AllowFrom []string
}

// Inbound is one message a user sent to the agent.
type Inbound struct {
	// ChatID is where the reply goes: the Telegram chat id, the Discord
	// channel id (a DM channel or a guild channel), the WhatsApp sender's
	// number (wa_id).
	ChatID     string
	SenderID   string
	SenderName string
	Text       string
	// MsgID is the channel's own id of the message; a binding never
	// handles two messages with one MsgID (redeliveries are dropped).
	MsgID string
	// At is when the channel says the message was sent (zero: unknown).
	At time.Time
	// ReplyTo, when set, is the channel's id of the message a reply should
	// quote (Discord's message_reference, Telegram's reply_parameters).
	ReplyTo string
}

// Sink is where receivers and webhooks report. Its methods are safe for
// concurrent use. An error wrapping ErrFenced means this node no longer
// holds the binding's lease: the receiver must stop at once.
type Sink interface {
	// Accept keeps a message durably (dropping a redelivery) and queues it
	// for the agent. Only after Accept returns nil may the receiver
	// acknowledge the message to its channel (advance the Telegram offset,
	// answer a webhook 200).
	Accept(ctx context.Context, in Inbound) error
	// Alive records that the receiver's session works: a long poll
	// completed (with or without updates), a Gateway heartbeat was acked.
	// The watchdog restarts a receiver that stops calling it; unrelated
	// API calls must not count.
	Alive(ctx context.Context)
	// SaveOffset persists the next Telegram update offset.
	SaveOffset(ctx context.Context, offset int64) error
	// SaveResume persists a Receiver's session state (nil clears it).
	SaveResume(ctx context.Context, state []byte) error
}

// Driver is one channel.
type Driver interface {
	Kind() string
	// MaxText is the longest text one Send takes (in UTF-16 code units for
	// Telegram, characters for the others, as the channel counts).
	MaxText() int
	// Check validates a credential against the live service (getMe,
	// GET /users/@me, the phone number's metadata). A credential the
	// service refuses is an *Error with CodeCredentialRefused.
	Check(ctx context.Context, c Credential) (Identity, error)
	// Send sends one message of at most MaxText to a chat. A rate limit is
	// a *RetryAfter; a message the channel will never take is an *Error
	// (Permanent).
	Send(ctx context.Context, b *Binding, chatID, text string, replyTo string) error
}

// Receiver is a Driver that receives through a long-lived session.
type Receiver interface {
	// Receive runs the binding's session until ctx ends (returning nil) or
	// it fails; the supervisor starts it again after a pause.
	Receive(ctx context.Context, b *Binding, sink Sink) error
}

// Webhook is a Driver that receives deliveries over HTTP at
// /api/channels/<kind>/:bindingId (GET and POST).
type Webhook interface {
	// ServeWebhook authenticates a delivery against the binding (a
	// constant-time comparison) and hands its messages to sink before it
	// answers 2xx; a forged delivery is answered 401 or 403 and accepts
	// nothing. r.Body is the raw body, at most 1 MiB.
	ServeWebhook(w http.ResponseWriter, r *http.Request, b *Binding, sink Sink)
}

// WebhookRegistrar is a Driver that can receive either way and must tell
// its channel which (Telegram: setWebhook or deleteWebhook).
type WebhookRegistrar interface {
	// SetWebhook points the channel at url with the binding's secret.
	SetWebhook(ctx context.Context, b *Binding, url string) error
	// DeleteWebhook goes back to polling, keeping pending updates.
	DeleteWebhook(ctx context.Context, b *Binding) error
}

// ErrFenced: this node lost the binding's lease.
var ErrFenced = errors.New("channels: the binding's lease is held by another node")

// RetryAfter is a channel's rate limit: try again after After. Global
// means the whole bot is throttled, not only this chat.
type RetryAfter struct {
	After  time.Duration
	Global bool
}

func (e *RetryAfter) Error() string {
	return fmt.Sprintf("channels: rate limited, retry after %s", e.After)
}

// Error codes of channel failures.
const (
	// CodeCredentialRefused: the channel does not accept the token.
	CodeCredentialRefused = "CHANNEL_CREDENTIAL_REFUSED"
	// CodeUnavailable: the channel could not be reached or failed.
	CodeUnavailable = "CHANNEL_UNAVAILABLE"
	// CodeWindowClosed: WhatsApp's 24-hour customer-service window is
	// closed for this chat (a free-form reply needs a template).
	CodeWindowClosed = "CHANNEL_WINDOW_CLOSED"
	// CodeChatUnreachable: the chat is gone or the bot may not post there.
	CodeChatUnreachable = "CHANNEL_CHAT_UNREACHABLE"
	// CodeRejected: the channel refused the message for another reason.
	CodeRejected = "CHANNEL_REJECTED"
)

// Error is a channel's refusal.
type Error struct {
	Code    string
	Message string
	// Permanent: sending again will not help.
	Permanent bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ShapeChecker is a Driver that checks a credential's shape before asking
// the channel: a malformed token is refused without a network call. Its
// errors name the request field.
type ShapeChecker interface {
	ValidCredential(c Credential) error
}

// Windowed is a Driver whose channel lets a bot reply freely only within a
// window after the user's message (WhatsApp's 24 hours); a message older
// than that is recorded as failed with CodeWindowClosed, never dropped
// silently.
type Windowed interface {
	Window() time.Duration
}
