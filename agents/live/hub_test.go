package live

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/agentbot/gateway/core/ratelimit/ratelimittest"
)

// nodes returns two hubs that share their events, as two gateway nodes do:
// one MemoryHub twice, or two RedisHubs on their own clients.
type nodes func(t *testing.T, opts ...HubOption) (a, b Hub)

var hubKinds = map[string]nodes{
	"memory": func(t *testing.T, opts ...HubOption) (Hub, Hub) {
		h := NewMemoryHub(opts...)
		return h, h
	},
	"redis": redisNodes,
}

func redisNodes(t *testing.T, opts ...HubOption) (Hub, Hub) {
	a, b := redisPair(t, opts...)
	return a, b
}

func redisPair(t *testing.T, opts ...HubOption) (*RedisHub, *RedisHub) {
	t.Helper()
	u := ratelimittest.RedisURL(t)
	ropts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	prefix := ratelimittest.KeyPrefix(t) + ":live:"
	var hubs [2]*RedisHub
	for i := range hubs {
		o := *ropts
		o.ClientName = fmt.Sprintf("%snode%d", prefix, i)
		c := redis.NewClient(&o)
		h := NewRedisHub(c, prefix, opts...)
		hubs[i] = h
		t.Cleanup(func() {
			if err := h.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
			c.Close()
		})
	}
	return hubs[0], hubs[1]
}

func subscribe(t *testing.T, h Hub, agentID string) (<-chan []byte, func()) {
	t.Helper()
	ch, cancel, err := h.Subscribe(ctx(t), agentID)
	if err != nil {
		t.Fatalf("Subscribe(%s): %v", agentID, err)
	}
	t.Cleanup(cancel)
	return ch, cancel
}

func next(t *testing.T, ch <-chan []byte) (string, bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return string(ev), ok
	case <-ctx(t).Done():
		t.Fatal("no event")
		return "", false
	}
}

// Events published on one node reach the agent's subscribers on both, in
// order, and only the agent's.
func TestHubDelivery(t *testing.T) {
	for name, kind := range hubKinds {
		t.Run(name, func(t *testing.T) {
			a, b := kind(t)
			onA, _ := subscribe(t, a, "agent-1")
			onB, _ := subscribe(t, b, "agent-1")
			other, _ := subscribe(t, b, "agent-2")
			publish(t, a, "agent-2", `{"type":"other"}`)
			for i := range 5 {
				publish(t, a, "agent-1", fmt.Sprintf(`{"type":"e","n":%d}`, i))
			}
			for _, ch := range []<-chan []byte{onA, onB} {
				for i := range 5 {
					if ev, _ := next(t, ch); ev != fmt.Sprintf(`{"type":"e","n":%d}`, i) {
						t.Fatalf("event %d = %s", i, ev)
					}
				}
			}
			if ev, _ := next(t, other); ev != `{"type":"other"}` {
				t.Errorf("agent-2 got %s; want only its own event", ev)
			}
			if _, _, err := a.Subscribe(ctx(t), ""); err == nil {
				t.Error("Subscribe with no agent succeeded")
			}
			if err := a.Publish(ctx(t), "", []byte(`{}`)); err == nil {
				t.Error("Publish with no agent succeeded")
			}
		})
	}
}

// A subscriber that does not read gets its buffer, then DroppedEvent, then
// the end of its channel; neither the publisher nor a subscriber that keeps
// up waits for it.
func TestHubSlowSubscriber(t *testing.T) {
	const buffer = 4
	for name, kind := range hubKinds {
		t.Run(name, func(t *testing.T) {
			a, b := kind(t, WithBuffer(buffer))
			slow, _ := subscribe(t, b, "agent-1")
			fast, _ := subscribe(t, b, "agent-1")
			for i := range 3 * buffer {
				ev := fmt.Sprintf(`{"type":"e","n":%d}`, i)
				publish(t, a, "agent-1", ev)
				if got, _ := next(t, fast); got != ev {
					t.Fatalf("fast subscriber got %s; want %s", got, ev)
				}
			}
			for i := range buffer {
				if ev, _ := next(t, slow); ev != fmt.Sprintf(`{"type":"e","n":%d}`, i) {
					t.Fatalf("slow event %d = %s", i, ev)
				}
			}
			if ev, _ := next(t, slow); ev != DroppedEvent {
				t.Fatalf("after the buffer: %s; want %s", ev, DroppedEvent)
			}
			if ev, ok := next(t, slow); ok {
				t.Fatalf("after DroppedEvent: %s; want the channel closed", ev)
			}
		})
	}
}

// cancel closes the channel and stops delivery; a subscription's ctx bounds
// only the subscribing.
func TestHubCancel(t *testing.T) {
	for name, kind := range hubKinds {
		t.Run(name, func(t *testing.T) {
			a, b := kind(t)
			sctx, scancel := context.WithCancel(context.Background())
			ch, cancel, err := b.Subscribe(sctx, "agent-1")
			if err != nil {
				t.Fatal(err)
			}
			scancel() // the subscription outlives the ctx it was made with
			publish(t, a, "agent-1", `{"type":"kept"}`)
			if ev, _ := next(t, ch); ev != `{"type":"kept"}` {
				t.Fatalf("got %s", ev)
			}
			cancel()
			cancel() // twice is harmless
			if ev, ok := next(t, ch); ok {
				t.Fatalf("after cancel: %s; want the channel closed", ev)
			}
			publish(t, a, "agent-1", `{"type":"nobody"}`)
		})
	}
}

// The memory hub forgets a subscriber when it cancels or is dropped, and
// keeps no reference to a published buffer.
func TestMemoryHubBookkeeping(t *testing.T) {
	h := NewMemoryHub(WithBuffer(1))
	_, cancel := subscribe(t, h, "agent-1")
	slow, _ := subscribe(t, h, "agent-1")
	if n := h.subscribers("agent-1"); n != 2 {
		t.Fatalf("subscribers = %d; want 2", n)
	}
	cancel()
	buf := []byte(`{"type":"a"}`)
	publish(t, h, "agent-1", string(buf))
	if err := h.Publish(ctx(t), "agent-1", buf); err != nil { // overflows slow
		t.Fatal(err)
	}
	copy(buf, `{"type":"X"}`)
	if ev, _ := next(t, slow); ev != `{"type":"a"}` {
		t.Errorf("event = %s; the hub kept the caller's buffer", ev)
	}
	if n := h.subscribers("agent-1"); n != 0 {
		t.Errorf("subscribers = %d after cancel and drop; want 0", n)
	}
}

// The Redis hub holds an agent's channel while it has subscribers on the
// node, and gives it up with the last one.
func TestRedisHubUnsubscribes(t *testing.T) {
	a, _ := redisPair(t)
	numsub := func() int64 {
		n, err := a.rdb.PubSubNumSub(ctx(t), a.prefix+"agent-1").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[a.prefix+"agent-1"]
	}
	_, c1 := subscribe(t, a, "agent-1")
	_, c2 := subscribe(t, a, "agent-1")
	if n := numsub(); n != 1 {
		t.Fatalf("Redis subscribers = %d; want 1 (one connection per node)", n)
	}
	c1()
	if n := numsub(); n != 1 {
		t.Fatalf("Redis subscribers = %d after one of two cancelled; want 1", n)
	}
	c2()
	waitFor(t, "the channel to be unsubscribed", func() bool { return numsub() == 0 })
	// Subscribing again, at once, works.
	ch, _ := subscribe(t, a, "agent-1")
	publish(t, a, "agent-1", `{"type":"again"}`)
	if ev, _ := next(t, ch); ev != `{"type":"again"}` {
		t.Errorf("got %s", ev)
	}
}

// Events published while a node's pub/sub connection is re-established are
// lost, so that node's subscribers end with DroppedEvent; subscribing works
// again afterwards.
func TestRedisHubReconnect(t *testing.T) {
	a, b := redisPair(t)
	ch, _ := subscribe(t, b, "agent-1")
	killPubSub(t, b)
	if ev, _ := next(t, ch); ev != DroppedEvent {
		t.Fatalf("after a reconnect: %s; want %s", ev, DroppedEvent)
	}
	if ev, ok := next(t, ch); ok {
		t.Fatalf("after DroppedEvent: %s; want the channel closed", ev)
	}
	again, _ := subscribe(t, b, "agent-1")
	publish(t, a, "agent-1", `{"type":"after"}`)
	if ev, _ := next(t, again); ev != `{"type":"after"}` {
		t.Errorf("got %s", ev)
	}
}

// killPubSub cuts h's pub/sub connection, found by its client name, as a
// network failure would.
func killPubSub(t *testing.T, h *RedisHub) {
	t.Helper()
	list, err := h.rdb.ClientList(ctx(t)).Result()
	if err != nil {
		t.Fatal(err)
	}
	name := "name=" + h.rdb.Options().ClientName + " "
	for line := range strings.SplitSeq(list, "\n") {
		if !strings.Contains(line, name) || strings.Contains(line, " sub=0 ") {
			continue
		}
		for f := range strings.FieldsSeq(line) {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				if err := h.rdb.Do(ctx(t), "CLIENT", "KILL", "ID", id).Err(); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
	}
	t.Fatalf("no pub/sub connection named %s in\n%s", name, list)
}
