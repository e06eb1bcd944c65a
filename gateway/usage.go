package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/agentbot/gateway/core/store"
)

// usageWriter records usage off the request path: events are queued and
// written in batches (one transaction per user) every flushEvery or
// batchSize events. When the queue is full the caller writes synchronously, so
// nothing is dropped; Close flushes what is queued.
type usageWriter struct {
	store *store.Store
	log   *slog.Logger
	ch    chan store.UsageEvent
	flush chan chan struct{} // a request to write what is queued now
	done  chan struct{}
	once  sync.Once
	// mu guards closed against a record racing close (a request that outlives
	// the drain): after close, events are written synchronously.
	mu     sync.RWMutex
	closed bool
}

const (
	usageQueue = 4096
	usageBatch = 256
	flushEvery = 50 * time.Millisecond
)

func newUsageWriter(s *store.Store, log *slog.Logger) *usageWriter {
	w := &usageWriter{store: s, log: log, ch: make(chan store.UsageEvent, usageQueue),
		flush: make(chan chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *usageWriter) record(e store.UsageEvent) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.recordNow(e)
		return
	}
	select {
	case w.ch <- e:
	default:
		w.recordNow(e)
	}
}

func (w *usageWriter) recordNow(e store.UsageEvent) {
	if err := w.store.RecordUsage(context.Background(), e.UserID, e); err != nil {
		w.log.Error("record usage", "target", e.Target, "err", err)
	}
}

func (w *usageWriter) run() {
	defer close(w.done)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	batch := make([]store.UsageEvent, 0, usageBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := w.store.RecordUsageBatch(context.Background(), batch); err != nil {
			w.log.Error("record usage batch", "events", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	for {
		select {
		case e, ok := <-w.ch:
			if !ok {
				flush()
				return
			}
			batch = append(batch, e)
			if len(batch) >= usageBatch {
				flush()
			}
		case <-tick.C:
			flush()
		case ack := <-w.flush:
			// Everything queued before the request is written with it.
			for drained := false; !drained; {
				select {
				case e, ok := <-w.ch:
					if !ok {
						drained = true
						break
					}
					batch = append(batch, e)
				default:
					drained = true
				}
			}
			flush()
			close(ack)
		}
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
		close(w.ch)
		w.mu.Unlock()
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
