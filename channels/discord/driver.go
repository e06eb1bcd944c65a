// Package discord is the Discord channel: a bot token checked with
// GET /users/@me, messages sent over REST (POST /channels/{id}/messages)
// and received through one Gateway WebSocket session per binding, resumed
// across dropped connections and across processes through the binding's
// saved resume state.
//
// REST goes through disgo's rest client (github.com/disgoorg/disgo/rest)
// with its rate limiter switched off: a 429 comes back to the caller at
// once as a *channels.RetryAfter, and the dispatcher waits. The Gateway
// session is written here over github.com/coder/websocket, with disgo's
// gateway package supplying the opcodes, intents, close codes and the
// Identify and Resume payloads; see Receive for why disgo's own gateway
// client is not used.
package discord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"

	"github.com/agentbot/gateway/channels"
)

// DefaultAPIURL is Discord's REST API, version 10.
const DefaultAPIURL = "https://discord.com/api/v10"

// maxText is Discord's limit on a message's content, in characters.
const maxText = 2000

// Options configure a Driver. The zero value talks to Discord itself.
type Options struct {
	// APIURL is the REST base URL, without a trailing slash (default
	// DefaultAPIURL; the app passes DISCORD_API_URL).
	APIURL string
	// GatewayURL is the Gateway WebSocket URL for a fresh session (default:
	// asked of GET /gateway/bot; the app passes DISCORD_GATEWAY_URL).
	// Resumes use the resume_gateway_url that READY names.
	GatewayURL string
	// HTTPClient makes REST calls and Gateway handshakes (default: a client
	// with a 30 s timeout). Its Timeout, when set, bounds each REST call and
	// each WebSocket handshake, not the session.
	HTTPClient *http.Client
	// Logger receives reconnects and protocol oddities (default
	// slog.Default()).
	Logger *slog.Logger
	// ReconnectDelay is the base pause before connecting again after a
	// failed connection, doubled on each consecutive failure, and before a
	// fresh Identify after a non-resumable Invalid Session, which Discord
	// asks to follow by 1–5 s (default 1 s; tests make it small).
	ReconnectDelay time.Duration
}

// Driver is the Discord channel. It is safe for concurrent use; it holds
// no per-binding state (each Receive call owns its session).
type Driver struct {
	rest       rest.Client
	apiURL     string
	gatewayURL string
	http       *http.Client
	log        *slog.Logger
	delay      time.Duration
}

var (
	_ channels.Driver   = (*Driver)(nil)
	_ channels.Receiver = (*Driver)(nil)
)

// New returns a Driver configured by o.
func New(o Options) *Driver {
	d := &Driver{
		apiURL:     strings.TrimRight(o.APIURL, "/"),
		gatewayURL: o.GatewayURL,
		http:       o.HTTPClient,
		log:        o.Logger,
		delay:      o.ReconnectDelay,
	}
	if d.apiURL == "" {
		d.apiURL = DefaultAPIURL
	}
	if d.http == nil {
		d.http = &http.Client{Timeout: 30 * time.Second}
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.delay <= 0 {
		d.delay = time.Second
	}
	// The rest client gets a copy of the HTTP client whose responses are
	// cut at maxBody (disgo reads whole bodies); the WebSocket handshake
	// keeps the original, whose 101 body must stay the raw connection.
	restHTTP := *d.http
	restHTTP.Transport = limitedTransport{next: d.http.Transport}
	d.rest = rest.NewClient("",
		rest.WithURL(d.apiURL),
		rest.WithHTTPClient(&restHTTP),
		// No rate limiter: disgo's default one retries 429s up to ten
		// times, waits on buckets, cannot parse a fractional Retry-After
		// and starts a goroutine that never ends. The dispatcher honours
		// retry_after itself.
		rest.WithRateLimiter(rest.NewNoopRateLimiter()),
		rest.WithLogger(d.log),
		rest.WithUserAgent("DiscordBot (https://github.com/agentbot/gateway, 1)"),
	)
	return d
}

// Kind returns channels.Discord.
func (d *Driver) Kind() string { return channels.Discord }

// MaxText returns 2000, Discord's limit on a message's content.
func (d *Driver) MaxText() int { return maxText }

// ValidToken reports whether token has a bot token's shape: three non-empty
// base64url parts separated by dots. It says nothing of whether Discord
// accepts it.
func ValidToken(token string) bool {
	if len(token) > 256 {
		return false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for _, r := range p {
			if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// Check validates a bot token with GET /users/@me. A token of the wrong
// shape, one Discord refuses, or a user account's token is an *Error with
// CodeCredentialRefused; Discord unreachable or failing is CodeUnavailable.
func (d *Driver) Check(ctx context.Context, c channels.Credential) (channels.Identity, error) {
	if !ValidToken(c.Token) {
		return channels.Identity{}, &channels.Error{Code: channels.CodeCredentialRefused, Message: "not a Discord bot token (want three dot-separated base64url parts)", Permanent: true}
	}
	u, err := d.currentUser(ctx, c.Token)
	if err != nil {
		return channels.Identity{}, err
	}
	if !u.Bot {
		return channels.Identity{}, &channels.Error{Code: channels.CodeCredentialRefused, Message: "the token belongs to a user account, not a bot", Permanent: true}
	}
	return channels.Identity{ExternalID: u.ID.String(), Name: u.Username}, nil
}

// currentUser is GET /users/@me.
func (d *Driver) currentUser(ctx context.Context, token string) (*discord.User, error) {
	var u discord.User
	err := d.rest.Do(rest.GetCurrentUser.Compile(nil), nil, &u, rest.WithToken(discord.TokenTypeBot, token), withCtx(ctx))
	if err != nil {
		return nil, restError(ctx, "GET /users/@me", err)
	}
	if u.ID == 0 {
		return nil, &channels.Error{Code: channels.CodeUnavailable, Message: "GET /users/@me: answer without a user id"}
	}
	return &u, nil
}

// gatewayBot is GET /gateway/bot: where a fresh Gateway session connects.
func (d *Driver) gatewayBot(ctx context.Context, token string) (string, error) {
	var g discord.GatewayBot
	err := d.rest.Do(rest.GetGatewayBot.Compile(nil), nil, &g, rest.WithToken(discord.TokenTypeBot, token), withCtx(ctx))
	if err != nil {
		return "", restError(ctx, "GET /gateway/bot", err)
	}
	return g.URL, nil
}

// withCtx makes ctx bound the request. disgo's rest.WithCtx alone does
// not: in v0.18.15 its client waits on its rate limiter with that context
// but sends config.Request, to which the context was never attached.
func withCtx(ctx context.Context) rest.RequestOpt {
	return func(c *rest.RequestConfig) {
		c.Ctx = ctx
		c.Request = c.Request.WithContext(ctx)
	}
}

// maxBody bounds a REST answer; Discord's are a few KiB.
const maxBody = 1 << 20

// errBodyTooLarge: a REST answer passed maxBody.
var errBodyTooLarge = errors.New("discord: answer larger than 1 MiB")

// limitedTransport cuts response bodies at maxBody.
type limitedTransport struct{ next http.RoundTripper }

func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	rs, err := next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if rs.Body != nil {
		rs.Body = &limitedBody{rc: rs.Body, left: maxBody + 1}
	}
	return rs, nil
}

// limitedBody fails a read past its limit, closing the body then, as
// disgo's client never closes one.
type limitedBody struct {
	rc   io.ReadCloser
	left int64 // bytes still allowed, plus one
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left <= 0 {
		_ = b.rc.Close()
		return n, errBodyTooLarge
	}
	if errors.Is(err, io.EOF) {
		_ = b.rc.Close()
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// unavailable wraps a transport failure.
func unavailable(what string, err error) error {
	return &channels.Error{Code: channels.CodeUnavailable, Message: fmt.Sprintf("%s: %v", what, err)}
}

// ValidCredential checks a bot token's shape (channels.ShapeChecker).
func (d *Driver) ValidCredential(c channels.Credential) error {
	if !ValidToken(c.Token) {
		return &channels.Error{Code: channels.CodeCredentialRefused, Permanent: true,
			Message: "discordBotToken is not a Discord bot token (three dot-separated base64url parts)"}
	}
	return nil
}
