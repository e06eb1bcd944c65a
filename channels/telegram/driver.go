// Package telegram is the Telegram driver of package channels. It speaks
// the Bot API (https://core.telegram.org/bots/api) through
// github.com/go-telegram/bot for getMe, sendMessage, setWebhook and
// deleteWebhook, and with its own loop for getUpdates long polling (see
// Receive for why). It receives either way Telegram offers: by long
// polling (Receive, one node per bot under the binding's lease) or through
// a webhook (ServeWebhook, any node; SetWebhook and DeleteWebhook switch
// between the two).
package telegram

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/agentbot/gateway/channels"
)

// Defaults of Options.
const (
	DefaultServerURL   = "https://api.telegram.org"
	DefaultPollTimeout = 25 * time.Second
	DefaultPollGrace   = 10 * time.Second
)

// MaxText is the longest message sendMessage takes, in UTF-16 code units.
const MaxText = 4096

const (
	// callTimeout bounds every Bot API call but getUpdates.
	callTimeout = 30 * time.Second
	// maxResponse bounds a Bot API answer; a full getUpdates batch (100
	// updates) is far smaller.
	maxResponse = 16 << 20
)

// Options configure a Driver. The zero value talks to Telegram.
type Options struct {
	// ServerURL is the Bot API's base URL (default DefaultServerURL);
	// calls go to ServerURL/bot<token>/<method>.
	ServerURL string
	// HTTPClient makes the calls (default a new http.Client). Each call is
	// bounded by its context, so the client needs no Timeout; if it has
	// one, it must exceed PollTimeout+PollGrace.
	HTTPClient *http.Client
	// PollTimeout is how long one getUpdates call waits for updates
	// (Telegram's timeout parameter, in whole seconds, at least one;
	// default DefaultPollTimeout).
	PollTimeout time.Duration
	// PollGrace is added to PollTimeout to bound one getUpdates call over
	// HTTP, so that a stalled connection ends (default DefaultPollGrace).
	PollGrace time.Duration
	// Log receives Receive's retried failures (default: discarded).
	Log *slog.Logger
}

// Driver is the Telegram channel driver. Its methods are safe for
// concurrent use.
type Driver struct {
	serverURL   string
	client      *http.Client
	lib         bot.HttpClient
	pollSecs    int
	pollTimeout time.Duration // HTTP bound of one getUpdates call
	backoff     time.Duration // first pause after a failed poll
	maxBackoff  time.Duration
	log         *slog.Logger
}

// Interface guards.
var (
	_ channels.Driver           = (*Driver)(nil)
	_ channels.Receiver         = (*Driver)(nil)
	_ channels.Webhook          = (*Driver)(nil)
	_ channels.WebhookRegistrar = (*Driver)(nil)
)

// New returns a driver configured by o.
func New(o Options) *Driver {
	d := &Driver{
		serverURL:  strings.TrimRight(o.ServerURL, "/"),
		client:     o.HTTPClient,
		backoff:    pollBackoff,
		maxBackoff: maxPollBackoff,
		log:        o.Log,
	}
	if d.serverURL == "" {
		d.serverURL = DefaultServerURL
	}
	if d.client == nil {
		d.client = &http.Client{}
	}
	d.lib = limitedClient{d.client}
	poll := o.PollTimeout
	if poll <= 0 {
		poll = DefaultPollTimeout
	}
	d.pollSecs = max(1, int((poll+time.Second-1)/time.Second))
	grace := o.PollGrace
	if grace <= 0 {
		grace = DefaultPollGrace
	}
	d.pollTimeout = time.Duration(d.pollSecs)*time.Second + grace
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d
}

// Kind is channels.Telegram.
func (d *Driver) Kind() string { return channels.Telegram }

// MaxText is MaxText: Telegram counts UTF-16 code units.
func (d *Driver) MaxText() int { return MaxText }

// tokenShape is a bot token: the bot's id, a colon, and the secret part
// (35 characters today; a little slack either way).
var tokenShape = regexp.MustCompile(`^[0-9]{1,19}:[A-Za-z0-9_-]{30,64}$`)

// ValidToken reports whether token has the shape of a Telegram bot token,
// "<bot id>:<secret>". Only a token of that shape is ever put in a URL.
func ValidToken(token string) bool {
	if !tokenShape.MatchString(token) {
		return false
	}
	id, err := strconv.ParseInt(token[:strings.IndexByte(token, ':')], 10, 64)
	return err == nil && id > 0
}

// errMalformedToken is the refusal of a token that is not even shaped like
// one; nothing is sent to Telegram.
var errMalformedToken = &channels.Error{Code: channels.CodeCredentialRefused,
	Message: "not a Telegram bot token (expected <bot id>:<secret>)", Permanent: true}

// api returns the library's client for token, which must be valid. The
// library's own getMe at construction is skipped; Check makes it.
func (d *Driver) api(token string) *bot.Bot {
	b, err := bot.New(token,
		bot.WithServerURL(d.serverURL),
		bot.WithHTTPClient(callTimeout, d.lib),
		bot.WithSkipGetMe(),
		bot.WithErrorsHandler(func(error) {}),
		bot.WithUpdatesChannelCap(0),
	)
	if err != nil { // only for an empty token, which ValidToken refused
		panic("telegram: " + err.Error())
	}
	return b
}

// Check validates c.Token: its shape, then getMe. The identity is the
// bot's user id and @username.
func (d *Driver) Check(ctx context.Context, c channels.Credential) (channels.Identity, error) {
	if !ValidToken(c.Token) {
		return channels.Identity{}, errMalformedToken
	}
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	me, err := d.api(c.Token).GetMe(callCtx)
	if err != nil {
		return channels.Identity{}, d.fail(ctx, libraryError("getMe", c.Token, err))
	}
	if me == nil || me.ID <= 0 || !me.IsBot {
		return channels.Identity{}, &channels.Error{Code: channels.CodeUnavailable,
			Message: "telegram: getMe answered without a bot"}
	}
	return identity(me), nil
}

func identity(me *models.User) channels.Identity {
	name := me.FirstName
	if me.Username != "" {
		name = "@" + me.Username
	}
	return channels.Identity{ExternalID: strconv.FormatInt(me.ID, 10), Name: name}
}

// ValidCredential checks a bot token's shape (channels.ShapeChecker).
func (d *Driver) ValidCredential(c channels.Credential) error {
	if !ValidToken(c.Token) {
		return &channels.Error{Code: channels.CodeCredentialRefused, Permanent: true,
			Message: "telegramToken is not a Telegram bot token (<bot id>:<secret>, as @BotFather gives it)"}
	}
	return nil
}
