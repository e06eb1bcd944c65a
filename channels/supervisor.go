package channels

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentbot/gateway/core/store"
)

// nodeID names this process among gateway nodes.
func nodeID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// receiver is a binding's receiver running on this node under its lease.
type receiver struct {
	ref    store.ChannelRef
	lease  store.Lease
	cancel context.CancelFunc
	done   chan struct{}
}

// supervise runs on every node: each Tick it takes the leases of bindings
// no node runs, starts their receivers, and stops those of bindings that no
// longer need one (their agent stopped).
func (s *Service) supervise(ctx context.Context) {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	defer s.stopReceivers()
	for {
		s.superviseOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) superviseOnce(ctx context.Context) {
	refs, err := s.cfg.Store.ChannelReceivers(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Log.Warn("channels: listing receivers", "err", err)
		}
		return
	}
	want := make(map[string]bool, len(refs))
	for _, ref := range refs {
		want[ref.ID] = true
		s.mu.Lock()
		_, running := s.receivers[ref.ID]
		s.mu.Unlock()
		if running {
			continue
		}
		lease, ok, err := s.cfg.Store.AcquireChannelLease(ctx, ref.ID, s.cfg.Node, s.cfg.LeaseTTL)
		if err != nil || !ok {
			continue
		}
		s.startReceiver(ctx, ref, lease)
	}
	s.mu.Lock()
	var gone []*receiver
	for id, r := range s.receivers {
		if !want[id] {
			gone = append(gone, r)
		}
	}
	s.mu.Unlock()
	for _, r := range gone {
		r.cancel()
		<-r.done
		if err := s.cfg.Store.SetChannelState(context.WithoutCancel(ctx), r.ref.UserID, r.ref.ID, store.Lease{},
			store.ChannelStopped, ""); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.cfg.Log.Warn("channels: recording a stopped receiver", "binding", r.ref.ID, "err", err)
		}
	}
}

func (s *Service) startReceiver(ctx context.Context, ref store.ChannelRef, lease store.Lease) {
	rctx, cancel := context.WithCancel(ctx)
	r := &receiver{ref: ref, lease: lease, cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.receivers[ref.ID] = r
	s.mu.Unlock()
	go func() {
		defer close(r.done)
		defer func() {
			s.mu.Lock()
			delete(s.receivers, ref.ID)
			s.mu.Unlock()
		}()
		s.runReceiver(rctx, r)
		// Released at once, so another node need not wait for it to expire
		// (a revoked or lost lease is not ours to release; the update then
		// matches nothing).
		rel, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.cfg.Store.ReleaseChannelLease(rel, ref.ID, r.lease); err != nil {
			s.cfg.Log.Warn("channels: releasing a lease", "binding", ref.ID, "err", err)
		}
	}()
}

func (s *Service) stopReceivers() {
	s.mu.Lock()
	rs := make([]*receiver, 0, len(s.receivers))
	for _, r := range s.receivers {
		rs = append(rs, r)
	}
	s.mu.Unlock()
	for _, r := range rs {
		r.cancel()
	}
	for _, r := range rs {
		<-r.done
	}
}

// runReceiver holds a binding while its lease lasts: it renews the lease,
// runs the driver's session, restarts it after a failure (with backoff) or
// when the watchdog finds it stalled, and returns once the lease is lost or
// ctx ends.
func (s *Service) runReceiver(ctx context.Context, r *receiver) {
	ctx, lost := context.WithCancel(ctx)
	defer lost()
	go s.renewLease(ctx, r, lost)

	backoff := time.Second
	for ctx.Err() == nil {
		stalled, err := s.receiveOnce(ctx, r)
		if ctx.Err() != nil || errors.Is(err, ErrFenced) {
			return
		}
		state, msg := store.ChannelError, ""
		switch {
		case stalled:
			state, msg = store.ChannelStalled, fmt.Sprintf("no completed poll or acknowledged heartbeat in %s; restarted", s.cfg.StallAfter)
			backoff = time.Second
		case err != nil:
			msg = err.Error()
		default:
			msg = "the session ended; restarted"
		}
		s.cfg.Log.Warn("channels: receiver restarting", "binding", r.ref.ID, "state", state, "err", msg)
		if err := s.cfg.Store.SetChannelState(ctx, r.ref.UserID, r.ref.ID, r.lease, state, msg); errors.Is(err, store.ErrLeaseLost) {
			return
		}
		var ce *Error
		wait := backoff
		if errors.As(err, &ce) && ce.Code == CodeCredentialRefused {
			wait = max(wait, time.Minute) // the token was revoked: no need to hammer the channel
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// renewLease renews r's lease every third of its lifetime, and cancels the
// receiver (lost) as soon as a renewal finds it taken or revoked — or
// cannot reach the database for a whole lifetime, after which another node
// may hold it.
func (s *Service) renewLease(ctx context.Context, r *receiver, lost context.CancelFunc) {
	t := time.NewTicker(s.cfg.LeaseTTL / 3)
	defer t.Stop()
	held := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := s.cfg.Store.RenewChannelLease(ctx, r.ref.ID, r.lease, s.cfg.LeaseTTL)
		switch {
		case err == nil && ok:
			held = time.Now()
		case err == nil, time.Since(held) > s.cfg.LeaseTTL*2/3:
			s.cfg.Log.Info("channels: lease lost", "binding", r.ref.ID, "node", s.cfg.Node, "err", err)
			lost()
			return
		}
	}
}

// receiveOnce runs one session of the driver under the watchdog: stalled is
// true when the watchdog ended it.
func (s *Service) receiveOnce(ctx context.Context, r *receiver) (stalled bool, err error) {
	sb, err := s.cfg.Store.ChannelBinding(ctx, r.ref.UserID, r.ref.ID)
	if err != nil {
		return false, err
	}
	d, ok := s.drivers[sb.Kind]
	recv, isRecv := d.(Receiver)
	if !ok || !isRecv {
		return false, fmt.Errorf("channels: no receiver for %s on this node", sb.Kind)
	}
	b, err := s.open(sb)
	if err != nil {
		return false, err
	}
	if err := s.cfg.Store.SetChannelState(ctx, r.ref.UserID, r.ref.ID, r.lease, store.ChannelConnecting, ""); err != nil {
		return false, fence(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	k := &leasedSink{s: s, ref: r.ref, agentID: sb.AgentID, lease: r.lease}
	k.alive.Store(time.Now().UnixNano())
	var watchdog atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the watchdog: only completed polls and acked heartbeats count
		defer wg.Done()
		t := time.NewTicker(min(time.Second, s.cfg.StallAfter/4))
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				if time.Since(time.Unix(0, k.alive.Load())) > s.cfg.StallAfter {
					watchdog.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	err = recv.Receive(sctx, b, k)
	cancel()
	wg.Wait()
	return watchdog.Load(), err
}

// leasedSink is the Sink of a receiver running under a lease.
type leasedSink struct {
	s       *Service
	ref     store.ChannelRef
	agentID string
	lease   store.Lease
	alive   atomic.Int64 // unix nanos of the last completed poll or ack
	wrote   atomic.Int64 // unix nanos of the last time that was written down
}

func (k *leasedSink) Accept(ctx context.Context, in Inbound) error {
	return k.s.accept(ctx, k.ref.UserID, k.ref.ID, in)
}

// aliveEvery bounds how often a receiver's liveness is written down.
const aliveEvery = 5 * time.Second

func (k *leasedSink) Alive(ctx context.Context) {
	now := time.Now().UnixNano()
	k.alive.Store(now)
	if time.Duration(now-k.wrote.Load()) < aliveEvery {
		return
	}
	k.wrote.Store(now)
	if err := k.s.cfg.Store.ChannelAlive(ctx, k.ref.UserID, k.ref.ID, k.lease); err != nil && ctx.Err() == nil {
		k.s.cfg.Log.Warn("channels: recording liveness", "binding", k.ref.ID, "err", err)
	}
}

func (k *leasedSink) SaveOffset(ctx context.Context, offset int64) error {
	return fence(k.s.cfg.Store.SaveChannelOffset(ctx, k.ref.UserID, k.ref.ID, k.lease, offset))
}

func (k *leasedSink) SaveResume(ctx context.Context, state []byte) error {
	return fence(k.s.cfg.Store.SaveChannelResume(ctx, k.ref.UserID, k.ref.ID, k.lease, state))
}

func fence(err error) error {
	if errors.Is(err, store.ErrLeaseLost) {
		return fmt.Errorf("%w: %v", ErrFenced, err)
	}
	return err
}

// webhookSink is the Sink of a webhook delivery: no lease, no position.
type webhookSink struct {
	s   *Service
	ref store.ChannelRef
}

func (k webhookSink) Accept(ctx context.Context, in Inbound) error {
	return k.s.accept(ctx, k.ref.UserID, k.ref.ID, in)
}
func (k webhookSink) Alive(context.Context)                    {}
func (k webhookSink) SaveOffset(context.Context, int64) error  { return nil }
func (k webhookSink) SaveResume(context.Context, []byte) error { return nil }

// maxInboundBytes bounds one inbound message's text; longer is cut.
const maxInboundBytes = 16 << 10

// accept keeps an inbound message (dropping a redelivery) and wakes the
// dispatcher.
func (s *Service) accept(ctx context.Context, userID, bindingID string, in Inbound) error {
	if in.MsgID == "" || in.ChatID == "" || len(in.MsgID) > 200 || len(in.ChatID) > 200 {
		return nil // nothing a reply could go to, or not a message id: not ours to keep
	}
	m := store.InboundMessage{BindingID: bindingID, UserID: userID, MsgID: in.MsgID, ChatID: in.ChatID,
		SenderID: clip(in.SenderID, 200), SenderName: clip(in.SenderName, 200), Body: clip(in.Text, maxInboundBytes),
		ReplyTo: clip(in.ReplyTo, 200)}
	if !in.At.IsZero() {
		at := in.At.UTC()
		m.SentAt = &at
	}
	fresh, err := s.cfg.Store.AcceptChannelInbound(ctx, m)
	if err != nil {
		return err
	}
	if fresh {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return nil
}
