package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/store"
)

// Reply is what an agent answered to one inbound message.
type Reply struct {
	RunID string
	Text  string
}

// Runner runs an agent on one inbound message, as its owner. The topic
// keeps each chat its own conversation. An error wrapping ErrAgentNotRunning
// means the agent is stopped: the message is recorded as failed, unanswered.
type Runner func(ctx context.Context, userID, agentID, topic, message string) (*Reply, error)

// ErrAgentNotRunning: the agent is stopped, so it answers nothing.
var ErrAgentNotRunning = errors.New("channels: the agent is not running")

// Config configures a Service. Store, Secrets, Drivers and Run are required.
type Config struct {
	Store   *store.Store
	Secrets *secrets.Box
	Drivers []Driver
	Run     Runner
	// Node names this gateway node in leases and claims; unique per
	// process [hostname-pid-random].
	Node string
	// PublicURL is where channels reach this gateway. Telegram is told to
	// deliver by webhook when it is an https URL on a public host;
	// otherwise this node polls.
	PublicURL string
	// LeaseTTL is how long a receiver's lease lasts unless renewed [15s]:
	// another node takes over a crashed node's bindings within about
	// LeaseTTL + Tick.
	LeaseTTL time.Duration
	// Tick is how often a node looks for bindings to run [5s].
	Tick time.Duration
	// StallAfter is how long a receiver may go without a completed poll or
	// acked heartbeat before the watchdog restarts it [90s].
	StallAfter time.Duration
	// ClaimTTL is how long a claim on an inbound message lasts unless
	// renewed [30s]: a node that dies mid-answer leaves its message to
	// another within about ClaimTTL.
	ClaimTTL time.Duration
	// Workers bounds the messages this node answers at once [4].
	Workers int
	// ChatPerMinute bounds the messages of one chat the agent answers in
	// any minute; the rest are kept as ignored [20]. A stranger flooding a
	// public bot cannot spend its owner's money faster than that.
	ChatPerMinute int
	// ChatInterval is the least time between two messages to one chat, per
	// channel kind [telegram 1s]; 429s are honoured whatever it says.
	ChatInterval map[string]time.Duration
	// MaxRetryWait bounds the total time one reply waits on rate limits
	// before it is given up as failed [2m].
	MaxRetryWait time.Duration
	Log          *slog.Logger
}

// Service runs the channels of every agent: receivers under leases, webhook
// deliveries, and the dispatcher that answers inbound messages.
type Service struct {
	cfg     Config
	drivers map[string]Driver
	wake    chan struct{}

	mu        sync.Mutex
	receivers map[string]*receiver // binding id → the receiver this node runs
	paused    map[string]time.Time // binding id → throttled until (a global 429)
	lastSent  map[string]time.Time // binding id + chat → last send

	stop    context.CancelFunc
	done    sync.WaitGroup
	started bool
}

// New checks cfg and builds a Service; it runs nothing until Start.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil || cfg.Secrets == nil || cfg.Run == nil:
		return nil, errors.New("channels: Config.Store, Secrets and Run are required")
	case len(cfg.Drivers) == 0:
		return nil, errors.New("channels: no drivers")
	}
	if cfg.Node == "" {
		cfg.Node = nodeID()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.LeaseTTL, 15*time.Second)
	def(&cfg.Tick, 5*time.Second)
	def(&cfg.StallAfter, 90*time.Second)
	def(&cfg.ClaimTTL, 30*time.Second)
	def(&cfg.MaxRetryWait, 2*time.Minute)
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.ChatPerMinute == 0 {
		cfg.ChatPerMinute = 20
	}
	if cfg.ChatInterval == nil {
		cfg.ChatInterval = map[string]time.Duration{Telegram: time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Service{cfg: cfg, drivers: map[string]Driver{}, wake: make(chan struct{}, 1),
		receivers: map[string]*receiver{}, paused: map[string]time.Time{}, lastSent: map[string]time.Time{}}
	for _, d := range cfg.Drivers {
		s.drivers[d.Kind()] = d
	}
	return s, nil
}

// Driver returns the driver of a channel kind.
func (s *Service) Driver(kind string) (Driver, bool) {
	d, ok := s.drivers[kind]
	return d, ok
}

// Start starts the supervisor (receivers under leases) and the dispatcher.
func (s *Service) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("channels: already started")
	}
	s.started = true
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.done.Add(2)
	go func() { defer s.done.Done(); s.supervise(ctx) }()
	go func() { defer s.done.Done(); s.dispatch(ctx) }()
	return nil
}

// Stop stops every receiver (releasing its lease, so another node takes
// over at once) and waits for messages being answered until ctx ends; those
// left are taken again by a node once their claims expire.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	stop := s.stop
	s.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	done := make(chan struct{})
	go func() { s.done.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Webhooks reports whether channels that can choose are told to deliver by
// webhook: PublicURL is https on a host the internet can reach.
func (s *Service) Webhooks() bool { return isPublicURL(s.cfg.PublicURL) }

// WebhookURL is where a binding's deliveries go.
func (s *Service) WebhookURL(kind, bindingID string) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/api/channels/" + kind + "/" + bindingID
}

func isPublicURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") ||
		strings.HasSuffix(host, ".internal") || !strings.Contains(host, ".") && net.ParseIP(host) == nil {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsGlobalUnicast() && !ip.IsPrivate()
	}
	return true
}

// open turns a stored binding into what a driver sees.
func (s *Service) open(b *store.ChannelBinding) (*Binding, error) {
	plain, err := s.cfg.Secrets.Open(b.Credential, secrets.ChannelLabel(b.UserID, b.Kind, b.ExternalID))
	if err != nil {
		return nil, fmt.Errorf("channels: opening the credential of %s: %w", b.ID, err)
	}
	var c Credential
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, fmt.Errorf("channels: the credential of %s: %w", b.ID, err)
	}
	return &Binding{ID: b.ID, UserID: b.UserID, AgentID: b.AgentID, Kind: b.Kind, ExternalID: b.ExternalID, Cred: c,
		Offset: b.Offset, Resume: b.Resume, WebhookSecret: s.webhookSecret(b.ID), AllowFrom: b.AllowFrom}, nil
}

// webhookSecret is a binding's shared webhook secret (Telegram's
// secret_token): derived from the master key, so it is never stored.
func (s *Service) webhookSecret(bindingID string) string {
	return s.cfg.Secrets.Derive("agentbot channel webhook " + bindingID)
}
