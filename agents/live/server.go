package live

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Principal is who a live socket acts for: the agent's owner, on that agent.
type Principal struct {
	UserID  string
	AgentID string
}

// ErrTokenInvalid is what Tokens.Resolve returns (or wraps) when the token
// does not open the agent's live channel, the agent being unknown included:
// the caller gets the same 401 either way.
var ErrTokenInvalid = errors.New("live: invalid instance token")

// Tokens resolves an agent's instance token.
type Tokens interface {
	// Resolve returns the principal token grants on agentID, or an error
	// wrapping ErrTokenInvalid when it grants nothing. Other errors are
	// failures (500). It must compare the token in constant time (e.g. a
	// digest lookup, or subtle.ConstantTimeCompare against the stored one),
	// since the socket endpoint lets anyone try tokens.
	Resolve(ctx context.Context, agentID, token string) (Principal, error)
}

// Chatter runs a chat turn sent over a live socket.
type Chatter interface {
	// Chat runs one chat with the agent and returns when it has finished;
	// the run's events travel through the Hub, not through Chat. ctx ends
	// when the socket closes. An *api.Error reaches the client as an error
	// frame with its code and message; any other error as INTERNAL.
	Chat(ctx context.Context, p Principal, message, topic string) error
}

// Limits bound what one socket, and one agent's sockets, may take. Zero
// fields take the defaults.
type Limits struct {
	// MaxFrame is the largest client frame in bytes (64 KiB); a larger one
	// closes the socket with StatusMessageTooBig.
	MaxFrame int64
	// ChatsPerSocket is how many chats may run at once on one socket (1); a
	// chat beyond them is refused with a BUSY frame.
	ChatsPerSocket int
	// Frames is how many client frames one socket may send per FrameWindow
	// (30 per minute), as a token bucket: Frames at once, refilled steadily.
	// A frame beyond them is refused with a RATE_LIMITED frame.
	Frames      int
	FrameWindow time.Duration
	// SocketsPerAgent is how many sockets one agent may have open on this
	// node (8); one more is refused with 429 before the upgrade.
	SocketsPerAgent int
	// Keepalive is the interval between pings (30 s).
	Keepalive time.Duration
	// WriteTimeout bounds each write and the wait for each pong (10 s); a
	// peer slower than that is dropped.
	WriteTimeout time.Duration
	// SubscribeTimeout bounds subscribing to the hub before the upgrade (10 s).
	SubscribeTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.MaxFrame <= 0 {
		l.MaxFrame = 64 << 10
	}
	def(&l.ChatsPerSocket, 1)
	def(&l.Frames, 30)
	dur(&l.FrameWindow, time.Minute)
	def(&l.SocketsPerAgent, 8)
	dur(&l.Keepalive, 30*time.Second)
	dur(&l.WriteTimeout, 10*time.Second)
	dur(&l.SubscribeTimeout, 10*time.Second)
	return l
}

// Config is what a Server needs.
type Config struct {
	Hub     Hub
	Tokens  Tokens
	Chatter Chatter
	Limits  Limits
	Log     *slog.Logger // slog.Default() when nil
}

// Server serves agents' live sockets on this node and owns them: Close ends
// them all.
type Server struct {
	hub     Hub
	tokens  Tokens
	chatter Chatter
	lim     Limits
	log     *slog.Logger

	// shutdown is closed by Close; every socket watches it.
	shutdown chan struct{}

	mu       sync.Mutex
	closed   bool
	perAgent map[string]int
	sockets  map[*websocket.Conn]struct{}
	active   int           // admitted requests not yet finished
	drained  chan struct{} // closed when closed and active == 0
}

// New returns a Server; Hub, Tokens and Chatter are required.
func New(cfg Config) (*Server, error) {
	if cfg.Hub == nil || cfg.Tokens == nil || cfg.Chatter == nil {
		return nil, errors.New("live: Config needs a Hub, Tokens and a Chatter")
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	return &Server{
		hub: cfg.Hub, tokens: cfg.Tokens, chatter: cfg.Chatter, lim: cfg.Limits.withDefaults(), log: log,
		shutdown: make(chan struct{}),
		perAgent: map[string]int{}, sockets: map[*websocket.Conn]struct{}{},
		drained: make(chan struct{}),
	}, nil
}

// admit counts a socket of agentID, or says why not.
func (s *Server) admit(agentID string) (release func(), ok, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, false
	}
	if s.perAgent[agentID] >= s.lim.SocketsPerAgent {
		return nil, false, true
	}
	s.perAgent[agentID]++
	s.active++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.perAgent[agentID]--; s.perAgent[agentID] <= 0 {
				delete(s.perAgent, agentID)
			}
			s.active--
			if s.closed && s.active == 0 {
				close(s.drained)
			}
		})
	}, true, false
}

func (s *Server) track(c *websocket.Conn) {
	s.mu.Lock()
	s.sockets[c] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) untrack(c *websocket.Conn) {
	s.mu.Lock()
	delete(s.sockets, c)
	s.mu.Unlock()
}

// Close refuses new sockets, closes every open one with StatusGoingAway and
// waits for them to finish. When ctx ends first, the remaining connections
// are cut without a close handshake (finishing in the background) and ctx's
// error is returned. Close before closing the Hub, so that sockets end with
// StatusGoingAway rather than with the end of their subscriptions.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.shutdown)
		if s.active == 0 {
			close(s.drained)
		}
	}
	s.mu.Unlock()
	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.sockets {
		// CloseNow waits for a close handshake already under way (at most
		// seconds, bounded by the library), so Close does not wait for it.
		go c.CloseNow()
	}
	s.mu.Unlock()
	return ctx.Err()
}
