package live

import (
	"bytes"
	"context"
	"sync"
)

// MemoryHub is a Hub within one process: for a single node, or tests.
type MemoryHub struct {
	buffer int
	mu     sync.RWMutex
	topics map[string]map[*subscriber]struct{}
}

var _ Hub = (*MemoryHub)(nil)

// NewMemoryHub returns an in-process hub.
func NewMemoryHub(opts ...HubOption) *MemoryHub {
	return &MemoryHub{buffer: newHubConfig(opts).buffer, topics: map[string]map[*subscriber]struct{}{}}
}

// Publish queues event for each of the agent's subscribers.
func (h *MemoryHub) Publish(ctx context.Context, agentID string, event []byte) error {
	if agentID == "" {
		return errNoAgent
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ev := bytes.Clone(event) // the caller may reuse its buffer
	var gone []*subscriber
	h.mu.RLock()
	for s := range h.topics[agentID] {
		if !s.send(ev) {
			gone = append(gone, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range gone {
		h.remove(agentID, s)
	}
	return nil
}

// Subscribe returns the agent's events from now on.
func (h *MemoryHub) Subscribe(ctx context.Context, agentID string) (<-chan []byte, func(), error) {
	if agentID == "" {
		return nil, nil, errNoAgent
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s := newSubscriber(h.buffer)
	h.mu.Lock()
	subs := h.topics[agentID]
	if subs == nil {
		subs = map[*subscriber]struct{}{}
		h.topics[agentID] = subs
	}
	subs[s] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			h.remove(agentID, s)
			s.close()
		})
	}, nil
}

func (h *MemoryHub) remove(agentID string, s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if subs := h.topics[agentID]; subs != nil {
		delete(subs, s)
		if len(subs) == 0 {
			delete(h.topics, agentID)
		}
	}
}

// subscribers counts the agent's subscribers (for tests).
func (h *MemoryHub) subscribers(agentID string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.topics[agentID])
}
