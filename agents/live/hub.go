package live

import (
	"context"
	"errors"
	"sync"
)

// Hub carries an agent's run events to every live socket of that agent, on
// whichever node the run and the socket are. Events are opaque JSON objects
// with a "type" member; a Hub never looks inside them.
type Hub interface {
	// Publish sends event to the agent's current subscribers. It does not
	// wait for them: a subscriber that cannot keep up is dropped, never
	// waited for. The hub keeps no reference to event after Publish returns.
	Publish(ctx context.Context, agentID string, event []byte) error
	// Subscribe returns the agent's events from now on, in publishing order,
	// and a cancel func that ends the subscription and closes the channel.
	// ctx bounds the subscribing only (on Redis: until the server confirmed
	// it); the subscription lasts until cancel, which the caller must call.
	// A subscriber whose buffer is full gets DroppedEvent as its last event
	// and its channel is closed.
	Subscribe(ctx context.Context, agentID string) (events <-chan []byte, cancel func(), err error)
}

// DroppedEvent is the last event of a subscriber that fell behind (or, on
// Redis, lost events while the connection to Redis was re-established): the
// events after it are lost, so a client should reconnect and re-read what it
// needs.
const DroppedEvent = `{"type":"events.dropped"}`

// DefaultBuffer is the number of events a subscriber may lag behind before it
// is dropped.
const DefaultBuffer = 256

// ErrClosed is returned by a hub used after Close.
var ErrClosed = errors.New("live: hub closed")

var errNoAgent = errors.New("live: empty agent id")

// HubOption configures a hub.
type HubOption func(*hubConfig)

type hubConfig struct{ buffer int }

// WithBuffer sets how many events a subscriber may lag behind (DefaultBuffer
// when n < 1).
func WithBuffer(n int) HubOption { return func(c *hubConfig) { c.buffer = n } }

func newHubConfig(opts []HubOption) hubConfig {
	c := hubConfig{buffer: DefaultBuffer}
	for _, o := range opts {
		o(&c)
	}
	if c.buffer < 1 {
		c.buffer = DefaultBuffer
	}
	return c
}

// subscriber is one subscription's bounded queue. Its channel has one slot
// more than the buffer, kept for DroppedEvent, so that no send ever blocks:
// only send and drop put values in, under mu, and they stop at the buffer.
type subscriber struct {
	mu     sync.Mutex
	ch     chan []byte
	buffer int
	closed bool
}

func newSubscriber(buffer int) *subscriber {
	return &subscriber{ch: make(chan []byte, buffer+1), buffer: buffer}
}

// send queues ev. It reports false when the subscriber is closed, now or
// before: a full buffer turns into DroppedEvent and the end of the channel.
func (s *subscriber) send(ev []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if len(s.ch) < s.buffer {
		s.ch <- ev
		return true
	}
	s.ch <- []byte(DroppedEvent)
	s.closed = true
	close(s.ch)
	return false
}

// drop ends the subscription with DroppedEvent (events were lost upstream).
func (s *subscriber) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.ch <- []byte(DroppedEvent)
		s.closed = true
		close(s.ch)
	}
}

// close ends the subscription without a marker.
func (s *subscriber) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}
