// Package whatsapp is the WhatsApp Cloud API channel: a channels.Driver that
// checks a number's credential and sends text messages through the Graph
// API, and a channels.Webhook that authenticates Meta's signed deliveries
// and hands their text messages to a channels.Sink.
//
// A WhatsApp binding is one Cloud API phone number: its access token, its
// phone number id (the binding's external id), the Meta app's secret (which
// signs webhook deliveries) and the verify token of the one-time webhook
// subscription check. There is no long-lived session: any node answers the
// webhook.
package whatsapp

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/agentbot/gateway/channels"
)

// DefaultBaseURL is the Graph API's base URL with the version this driver
// speaks.
const DefaultBaseURL = "https://graph.facebook.com/v21.0"

// Window is WhatsApp's customer-service window: a free-form message may be
// sent to a user only within this long of the user's last message; later,
// only an approved template may be (Send then fails with
// channels.CodeWindowClosed).
const Window = 24 * time.Hour

// maxText is the longest text body the Cloud API takes, in characters.
const maxText = 4096

// Options configure a Driver. The zero value talks to DefaultBaseURL.
type Options struct {
	// BaseURL is the Graph API's base URL including the version path, e.g.
	// https://graph.facebook.com/v21.0 (the app passes WHATSAPP_API_URL).
	// Empty means DefaultBaseURL.
	BaseURL string
	// Client makes the Graph API calls; nil means a client with a 30 s
	// timeout. Each call is bounded by its context as well.
	Client *http.Client
	// Log receives webhook deliveries that could not be kept (answered 503
	// so that Meta delivers them again); nil means slog.Default().
	Log *slog.Logger
}

// Driver is the WhatsApp Cloud API channel. It holds no per-binding state
// and is safe for concurrent use.
type Driver struct {
	base   string
	client *http.Client
	log    *slog.Logger
}

var (
	_ channels.Driver  = (*Driver)(nil)
	_ channels.Webhook = (*Driver)(nil)
)

// New returns a Driver with opts.
func New(opts Options) *Driver {
	d := &Driver{
		base:   strings.TrimRight(opts.BaseURL, "/"),
		client: opts.Client,
		log:    opts.Log,
	}
	if d.base == "" {
		d.base = DefaultBaseURL
	}
	if d.client == nil {
		d.client = &http.Client{Timeout: 30 * time.Second}
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	return d
}

// Kind is channels.WhatsApp.
func (d *Driver) Kind() string { return channels.WhatsApp }

// MaxText is 4096: the Cloud API's limit on a text body, in characters.
func (d *Driver) MaxText() int { return maxText }

// ValidCredential checks a credential's shape (channels.ShapeChecker).
func (d *Driver) ValidCredential(c channels.Credential) error { return CheckCredential(c) }

// Window is the customer-service window (channels.Windowed).
func (d *Driver) Window() time.Duration { return Window }
