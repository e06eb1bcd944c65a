package live

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix is the channel prefix NewRedisHub uses when given "".
const DefaultRedisPrefix = "agentbot:live:"

// RedisHub is a Hub shared by every node on one Redis: an event published on
// any node reaches the subscribers of every node. Each node holds one pub/sub
// connection for all its subscribers; an agent's channel (prefix+agentID) is
// subscribed while the node has a subscriber for it.
//
// Redis pub/sub delivers at most once: while the connection is re-established
// events are lost, so when Redis confirms a subscription again (go-redis
// resubscribes after a reconnect) that agent's subscribers end with
// DroppedEvent and their clients reconnect.
type RedisHub struct {
	rdb    *redis.Client
	prefix string
	buffer int
	ps     *redis.PubSub
	done   chan struct{} // closed when dispatch has returned

	mu     sync.Mutex
	closed bool
	topics map[string]*topic // by channel
	// pending counts the SUBSCRIBE commands per channel not yet confirmed;
	// a confirmation beyond them is a resubscription after a reconnect.
	pending map[string]int
}

type topic struct {
	subs  map[*subscriber]struct{}
	ready chan struct{} // closed once Redis confirmed the subscription
}

var _ Hub = (*RedisHub)(nil)

// NewRedisHub returns a hub on rdb, which it does not own: Close the hub
// before rdb. Channels are named prefix+agentID (DefaultRedisPrefix when
// prefix is "").
func NewRedisHub(rdb *redis.Client, prefix string, opts ...HubOption) *RedisHub {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	h := &RedisHub{
		rdb: rdb, prefix: prefix, buffer: newHubConfig(opts).buffer,
		ps:     rdb.Subscribe(context.Background()), // no channel yet: nothing is sent
		done:   make(chan struct{}),
		topics: map[string]*topic{}, pending: map[string]int{},
	}
	go h.dispatch(h.ps.ChannelWithSubscriptions(redis.WithChannelSize(h.buffer)))
	return h
}

// Publish sends event to the agent's channel.
func (h *RedisHub) Publish(ctx context.Context, agentID string, event []byte) error {
	if agentID == "" {
		return errNoAgent
	}
	if err := h.rdb.Publish(ctx, h.prefix+agentID, event).Err(); err != nil {
		return fmt.Errorf("live: publish: %w", err)
	}
	return nil
}

// Subscribe returns the agent's events from the moment Redis confirmed the
// subscription, which it waits for (bounded by ctx), so that a run started
// after Subscribe returns cannot publish before the subscriber listens.
func (h *RedisHub) Subscribe(ctx context.Context, agentID string) (<-chan []byte, func(), error) {
	if agentID == "" {
		return nil, nil, errNoAgent
	}
	ch := h.prefix + agentID
	s := newSubscriber(h.buffer)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, nil, ErrClosed
	}
	t := h.topics[ch]
	if t == nil {
		t = &topic{subs: map[*subscriber]struct{}{}, ready: make(chan struct{})}
		// Subscribing under mu keeps SUBSCRIBE and UNSUBSCRIBE of a channel
		// in the order of the topic's life.
		h.pending[ch]++
		if err := h.ps.Subscribe(ctx, ch); err != nil {
			h.unconfirm(ch)
			_ = h.ps.Unsubscribe(context.WithoutCancel(ctx), ch)
			h.mu.Unlock()
			return nil, nil, fmt.Errorf("live: subscribe: %w", err)
		}
		h.topics[ch] = t
	}
	t.subs[s] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			h.remove(ch, s)
			s.close()
		})
	}
	select {
	case <-t.ready:
		return s.ch, cancel, nil
	case <-ctx.Done():
		cancel()
		return nil, nil, fmt.Errorf("live: subscribe: waiting for Redis: %w", ctx.Err())
	case <-h.done:
		cancel()
		return nil, nil, ErrClosed
	}
}

// remove takes s off its topic, unsubscribing the channel with its last
// subscriber.
func (h *RedisHub) remove(ch string, s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[ch]
	if t == nil {
		return
	}
	delete(t.subs, s)
	if len(t.subs) == 0 {
		delete(h.topics, ch)
		if !h.closed {
			// A failed UNSUBSCRIBE costs only unwanted messages, which
			// dispatch ignores; a reconnect will not resubscribe.
			_ = h.ps.Unsubscribe(context.Background(), ch)
		}
	}
}

// unconfirm counts one SUBSCRIBE of ch as answered; h.mu is held.
func (h *RedisHub) unconfirm(ch string) {
	if h.pending[ch]--; h.pending[ch] <= 0 {
		delete(h.pending, ch)
	}
}

// dispatch delivers messages to this node's subscribers and tracks
// confirmations; it is the only reader of the pub/sub connection.
func (h *RedisHub) dispatch(in <-chan any) {
	defer close(h.done)
	for m := range in {
		switch m := m.(type) {
		case *redis.Message:
			h.deliver(m.Channel, []byte(m.Payload))
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				h.confirmed(m.Channel)
			}
		}
	}
}

func (h *RedisHub) deliver(ch string, ev []byte) {
	var gone []*subscriber
	h.mu.Lock()
	if t := h.topics[ch]; t != nil {
		for s := range t.subs {
			if !s.send(ev) {
				gone = append(gone, s)
			}
		}
	}
	h.mu.Unlock()
	for _, s := range gone {
		h.remove(ch, s)
	}
}

func (h *RedisHub) confirmed(ch string) {
	h.mu.Lock()
	t := h.topics[ch]
	if h.pending[ch] > 0 {
		h.unconfirm(ch)
		if t != nil && h.pending[ch] == 0 {
			select {
			case <-t.ready:
			default:
				close(t.ready)
			}
		}
		h.mu.Unlock()
		return
	}
	// A confirmation nobody asked for: go-redis resubscribed after a
	// reconnect, and what was published meanwhile is lost.
	var lost []*subscriber
	if t != nil {
		for s := range t.subs {
			lost = append(lost, s)
		}
	}
	h.mu.Unlock()
	for _, s := range lost {
		s.drop()
		h.remove(ch, s)
	}
}

// Close ends every subscription and the pub/sub connection, and waits for the
// hub's goroutine (bounded by ctx). It does not close the Redis client.
func (h *RedisHub) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	var subs []*subscriber
	for _, t := range h.topics {
		for s := range t.subs {
			subs = append(subs, s)
		}
	}
	h.topics = map[string]*topic{}
	h.mu.Unlock()
	for _, s := range subs {
		s.close()
	}
	err := h.ps.Close()
	select {
	case <-h.done:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	return err
}
