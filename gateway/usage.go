package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/agentbot/gateway/core/store"
)

// usageWriter records usage off the request path: events are queued and
// written in batches (one transaction per user) every flushEvery, or as soon
// as usageBatch events wait. Queueing takes a mutex and wakes nobody (the
// writer wakes on its ticker, or once per full batch), so a call pays no
// goroutine handoff for its usage record. When usageQueue events wait the
// caller writes synchronously, so nothing is dropped; close writes what is
// queued.
type usageWriter struct {
	store *store.Store
	log   *slog.Logger
	kick  chan struct{}      // a full batch waits (buffered: one kick pending)
	flush chan chan struct{} // a request to write what is queued now
	stop  chan struct{}      // closed by close
	done  chan struct{}      // closed when run has written everything and ended
	once  sync.Once

	mu     sync.Mutex
	queue  []store.UsageEvent
	spare  []store.UsageEvent // the previous queue, reused
	closed bool               // after close, events are written synchronously
}

const (
	usageQueue = 4096
	usageBatch = 256
	flushEvery = 50 * time.Millisecond
)

func newUsageWriter(s *store.Store, log *slog.Logger) *usageWriter {
	w := &usageWriter{store: s, log: log, kick: make(chan struct{}, 1), flush: make(chan chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *usageWriter) record(e store.UsageEvent) {
	w.mu.Lock()
	if w.closed || len(w.queue) >= usageQueue {
		w.mu.Unlock()
		w.recordNow(e)
		return
	}
	w.queue = append(w.queue, e)
	full := len(w.queue) == usageBatch
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

func (w *usageWriter) recordNow(e store.UsageEvent) {
	if err := w.store.RecordUsage(context.Background(), e.UserID, e); err != nil {
		w.log.Error("record usage", "target", e.Target, "err", err)
	}
}

// take empties the queue, returning what it held.
func (w *usageWriter) take() []store.UsageEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue, w.spare = w.spare[:0], nil
	return q
}

// write stores events in batches of at most usageBatch, then hands the
// slice back for reuse.
func (w *usageWriter) write(events []store.UsageEvent) {
	all := events
	for len(events) > 0 {
		n := min(len(events), usageBatch)
		if err := w.store.RecordUsageBatch(context.Background(), events[:n]); err != nil {
			w.log.Error("record usage batch", "events", n, "err", err)
		}
		events = events[n:]
	}
	w.mu.Lock()
	if w.spare == nil {
		w.spare = all[:0]
	}
	w.mu.Unlock()
}

func (w *usageWriter) run() {
	defer close(w.done)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-w.kick:
		case <-tick.C:
		case ack := <-w.flush:
			// Everything queued before the request is written with it.
			w.write(w.take())
			close(ack)
			continue
		case <-w.stop:
			w.write(w.take())
			return
		}
		w.write(w.take())
	}
}

// sync writes every event queued so far and returns when they are stored (or
// ctx ends, or the writer has closed, which writes them too).
func (w *usageWriter) sync(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case w.flush <- ack:
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops accepting events and waits until the queue is written.
func (w *usageWriter) close(ctx context.Context) error {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.stop)
	})
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// callerCache remembers callers' accounts briefly, so that a burst of calls
// reads the account once. Plan changes reach a node within the TTL.
type callerCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedCaller
}

type cachedCaller struct {
	ci      *store.CallerInfo
	expires time.Time
}

const callerCacheMax = 10000

func (c *callerCache) get(ctx context.Context, s *store.Store, userID string) (*store.CallerInfo, error) {
	now := time.Now()
	if c.ttl > 0 {
		c.mu.Lock()
		e, ok := c.m[userID]
		c.mu.Unlock()
		if ok && now.Before(e.expires) {
			return e.ci, nil
		}
	}
	ci, err := s.CallerInfo(ctx, userID)
	if err != nil || c.ttl <= 0 {
		return ci, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= callerCacheMax {
		c.m = map[string]cachedCaller{}
	}
	c.m[userID] = cachedCaller{ci: ci, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return ci, nil
}

// forget drops a caller after a change made on this node.
func (c *callerCache) forget(userID string) {
	c.mu.Lock()
	delete(c.m, userID)
	c.mu.Unlock()
}
