// Package discordtest is a fake Discord on loopback for tests: the REST
// calls the driver makes (GET /users/@me, GET /gateway/bot,
// POST /channels/{id}/messages, POST /users/@me/channels) and a Gateway
// WebSocket with Hello, Identify → READY, heartbeats and their ACKs,
// Resume with the replay of missed dispatches then RESUMED, Reconnect
// (op 7), Invalid Session (op 9) and MESSAGE_CREATE dispatches with
// sequence numbers.
//
// A bot is known by its token (AddBot). Tests play users with
// UserMessage, disturb the Gateway with DropConnection, Reconnect and
// InvalidateSession, throttle sends with RateLimit, and read what the bot
// did with Sent, WaitSent and the counters. A Server is safe for
// concurrent use and closes itself when the test ends.
package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultHeartbeatInterval is the interval Hello asks for unless
// WithHeartbeatInterval says otherwise (Discord's is about 41 s).
const DefaultHeartbeatInterval = 100 * time.Millisecond

// Gateway opcodes.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opResume         = 6
	opReconnect      = 7
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

// Server is a fake Discord.
type Server struct {
	tb       testing.TB
	srv      *httptest.Server
	interval time.Duration
	ctx      context.Context
	cancel   context.CancelFunc
	handlers sync.WaitGroup // Gateway connections' goroutines

	mu      sync.Mutex
	changed chan struct{} // closed on every change, then replaced
	bots    map[string]*bot
	conns   map[*gwConn]struct{}
	nextID  int64
}

// Option configures a Server.
type Option func(*Server)

// WithHeartbeatInterval sets the heartbeat_interval Hello sends.
func WithHeartbeatInterval(d time.Duration) Option {
	return func(s *Server) { s.interval = d }
}

// New starts a fake Discord on 127.0.0.1, closed when tb ends.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{
		tb:       tb,
		interval: DefaultHeartbeatInterval,
		changed:  make(chan struct{}),
		bots:     map[string]*bot{},
		conns:    map[*gwConn]struct{}{},
		nextID:   1_200_000_000_000_000_000,
	}
	for _, o := range opts {
		o(s)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v10/users/@me", s.getMe)
	mux.HandleFunc("GET /api/v10/gateway/bot", s.getGatewayBot)
	mux.HandleFunc("POST /api/v10/channels/{id}/messages", s.postMessage)
	mux.HandleFunc("POST /api/v10/users/@me/channels", s.postDMChannel)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404: Not Found", "code": 0})
	})
	mux.HandleFunc("GET /gateway", s.serveGateway)
	mux.HandleFunc("GET /resume", s.serveGateway)
	s.srv = httptest.NewServer(mux)
	tb.Cleanup(s.close)
	return s
}

// RESTURL is the REST base URL, like https://discord.com/api/v10.
func (s *Server) RESTURL() string { return s.srv.URL + "/api/v10" }

// GatewayURL is the Gateway URL GET /gateway/bot names. READY names
// another path of the same server as resume_gateway_url.
func (s *Server) GatewayURL() string { return s.wsURL() + "/gateway" }

// ResumeURL is the resume_gateway_url READY names.
func (s *Server) ResumeURL() string { return s.wsURL() + "/resume" }

func (s *Server) wsURL() string { return "ws" + strings.TrimPrefix(s.srv.URL, "http") }

func (s *Server) close() {
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.ws.CloseNow()
	}
	s.mu.Unlock()
	s.srv.Close()
	s.handlers.Wait()
}

// bot is one token's account and everything the fake knows of it.
type bot struct {
	token, id, username string
	isBot               bool

	sent       []SentMessage
	rateLimits []rateLimit
	failures   []int
	forbidden  map[string]bool
	dms        map[string]string // recipient id → DM channel id
	messages   map[string]json.RawMessage

	identifies, resumes, acks int
	intents                   int
	acksPaused                bool
	sessions                  map[string]*session
	backlog                   []event // dispatches made with no session
}

type rateLimit struct {
	after  time.Duration
	global bool
}

// session is a Gateway session: it outlives its connections and keeps
// its dispatches for Resume.
type session struct {
	id     string
	bot    *bot
	seq    int64
	events []event
	conn   *gwConn // nil while disconnected
}

type event struct {
	seq int64
	t   string
	d   json.RawMessage
}

// AddBot registers a bot account: REST and Identify accept its token.
func (s *Server) AddBot(token, id, username string) { s.addAccount(token, id, username, true) }

// AddUser registers a user (not bot) account's token, which REST accepts
// and Check must refuse.
func (s *Server) AddUser(token, id, username string) { s.addAccount(token, id, username, false) }

func (s *Server) addAccount(token, id, username string, isBot bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bots[token] = &bot{
		token: token, id: id, username: username, isBot: isBot,
		forbidden: map[string]bool{},
		dms:       map[string]string{},
		messages:  map[string]json.RawMessage{},
		sessions:  map[string]*session{},
	}
	s.notify()
}

// notify wakes the waiters; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// newID returns a fresh snowflake; s.mu is held.
func (s *Server) newID() string {
	s.nextID++
	return fmt.Sprint(s.nextID)
}

// bot returns the account of token, reporting an unknown one; s.mu is
// held.
func (s *Server) bot(token string) *bot {
	b := s.bots[token]
	if b == nil {
		s.tb.Errorf("discordtest: no bot with token %q (AddBot first)", token)
	}
	return b
}

// Wait returns once cond holds, re-checking it after every change of the
// fake's state (a connection, a dispatch, a sent message, a counter), or
// ctx's error. cond may call the Server's methods.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
