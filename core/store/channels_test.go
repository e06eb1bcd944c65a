package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
)

func newBinding(kind, ext string) store.NewChannelBinding {
	mode := store.ChannelPolling
	if kind == "whatsapp" {
		mode = store.ChannelWebhook
	}
	return store.NewChannelBinding{Kind: kind, ExternalID: ext, DisplayName: "@" + ext, Credential: []byte("sealed-" + ext),
		Preview: "123…", Mode: mode, AllowFrom: []string{"42", "43"}}
}

func TestChannelAgentIsOneTransaction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		s := openAt(t, cfg, c)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")

		ag, bs, err := s.CreateChannelAgent(ctx, a.ID, store.NewAgent{Name: "bot", Model: "m"}, 3,
			[]store.NewChannelBinding{newBinding("telegram", "111"), newBinding("whatsapp", "555")})
		if err != nil {
			t.Fatal(err)
		}
		if ag.Status != store.AgentRunning || ag.StartedAt == nil || len(bs) != 2 {
			t.Fatalf("agent %+v bindings %d; want running with 2 bindings", ag, len(bs))
		}
		if bs[0].State != store.ChannelPending || bs[0].AllowFrom[1] != "43" || string(bs[0].Credential) != "sealed-111" {
			t.Errorf("binding = %+v", bs[0])
		}

		// The same bot for another agent — even another user's — is refused,
		// and nothing of that provisioning remains.
		_, _, err = s.CreateChannelAgent(ctx, b.ID, store.NewAgent{Name: "thief", Model: "m"}, 3,
			[]store.NewChannelBinding{newBinding("discord", "999"), newBinding("telegram", "111")})
		var inUse *store.ChannelInUseError
		if !errors.As(err, &inUse) || inUse.Kind != "telegram" {
			t.Fatalf("second binding of bot 111 = %v; want ChannelInUseError(telegram)", err)
		}
		if n, _ := s.CountAgents(ctx, b.ID); n != 0 {
			t.Errorf("b has %d agents after a refused provisioning; want 0", n)
		}
		if _, _, err := s.CreateChannelAgent(ctx, b.ID, store.NewAgent{Name: "ok", Model: "m"}, 3,
			[]store.NewChannelBinding{newBinding("discord", "999")}); err != nil {
			t.Errorf("discord 999 after the rolled-back attempt: %v; want it free", err)
		}

		// The agent limit holds for channel agents too.
		var le *store.AgentLimitError
		if _, _, err := s.CreateChannelAgent(ctx, a.ID, store.NewAgent{Name: "x", Model: "m"}, 1,
			[]store.NewChannelBinding{newBinding("telegram", "222")}); !errors.As(err, &le) {
			t.Errorf("over the limit = %v; want AgentLimitError", err)
		}

		// Bindings are their owner's alone.
		if _, err := s.ChannelBinding(ctx, b.ID, bs[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b reading a's binding = %v; want ErrNotFound", err)
		}
		if list, err := s.ChannelBindings(ctx, b.ID, ag.ID); err != nil || len(list) != 0 {
			t.Errorf("b listing a's agent's bindings = %d, %v; want none", len(list), err)
		}
		if owner, err := s.ChannelBindingOwner(ctx, bs[1].ID); err != nil || owner != a.ID {
			t.Errorf("owner lookup = %q, %v; want a", owner, err)
		}
		if _, err := s.ChannelBindingOwner(ctx, "chn_nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("owner of an unknown binding = %v; want ErrNotFound", err)
		}

		// Only session receivers of running agents are listed.
		refs, err := s.ChannelReceivers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, r := range refs {
			got[r.ID] = true
		}
		if !got[bs[0].ID] || got[bs[1].ID] {
			t.Errorf("receivers = %v; want the telegram binding, not the webhook one", refs)
		}
		if _, err := s.TransitionAgent(ctx, a.ID, ag.ID, func(*store.Agent) (store.Transition, error) {
			return store.Transition{Status: store.AgentStopped}, nil
		}); err != nil {
			t.Fatal(err)
		}
		refs, _ = s.ChannelReceivers(ctx)
		for _, r := range refs {
			if r.ID == bs[0].ID {
				t.Errorf("a stopped agent's binding is still a receiver")
			}
		}
	})
}

func TestChannelLeaseFencesWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		s := openAt(t, cfg, c)
		a := mustUser(t, s, "a@example.com")
		ag, bs, err := s.CreateChannelAgent(ctx, a.ID, store.NewAgent{Name: "bot", Model: "m"}, -1,
			[]store.NewChannelBinding{newBinding("telegram", "111")})
		if err != nil {
			t.Fatal(err)
		}
		id := bs[0].ID
		const ttl = 15 * time.Second

		la, ok, err := s.AcquireChannelLease(ctx, id, "node-a", ttl)
		if err != nil || !ok || la.Epoch != 1 {
			t.Fatalf("first acquire = %+v %v %v; want epoch 1", la, ok, err)
		}
		if _, ok, err := s.AcquireChannelLease(ctx, id, "node-b", ttl); err != nil || ok {
			t.Fatalf("b acquiring a held lease = %v, %v; want refused", ok, err)
		}
		if again, ok, _ := s.AcquireChannelLease(ctx, id, "node-a", ttl); !ok || again.Epoch != 1 {
			t.Errorf("holder re-acquiring = %+v %v; want the same epoch", again, ok)
		}
		if err := s.SaveChannelOffset(ctx, a.ID, id, la, 77); err != nil {
			t.Fatal(err)
		}
		if err := s.ChannelAlive(ctx, a.ID, id, la); err != nil {
			t.Fatal(err)
		}

		// A crashed holder stops renewing; after the ttl b takes over with a
		// new epoch, and a's writes are fenced off.
		c.add(ttl + time.Second)
		if ok, _ := s.RenewChannelLease(ctx, id, la, ttl); ok {
			t.Fatal("renewing an expired lease succeeded")
		}
		lb, ok, err := s.AcquireChannelLease(ctx, id, "node-b", ttl)
		if err != nil || !ok || lb.Epoch != 2 {
			t.Fatalf("takeover = %+v %v %v; want epoch 2", lb, ok, err)
		}
		if err := s.SaveChannelOffset(ctx, a.ID, id, la, 5); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("stale holder saving its offset = %v; want ErrLeaseLost", err)
		}
		if err := s.SetChannelState(ctx, a.ID, id, la, store.ChannelError, "x"); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("stale holder writing state = %v; want ErrLeaseLost", err)
		}
		b, _ := s.ChannelBinding(ctx, a.ID, id)
		if b.Offset != 77 || b.State != store.ChannelConnected || b.LastAliveAt == nil {
			t.Errorf("binding = offset %d state %s; want 77 connected", b.Offset, b.State)
		}

		// Releasing lets another node take it at once; a release by a stale
		// holder does nothing.
		if err := s.ReleaseChannelLease(ctx, id, la); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.AcquireChannelLease(ctx, id, "node-c", ttl); ok {
			t.Error("a stale holder's release freed the lease")
		}
		if err := s.ReleaseChannelLease(ctx, id, lb); err != nil {
			t.Fatal(err)
		}
		lc, ok, _ := s.AcquireChannelLease(ctx, id, "node-c", ttl)
		if !ok || lc.Epoch != 3 {
			t.Errorf("after release = %+v %v; want c at epoch 3", lc, ok)
		}

		// Repair revokes the lease wherever it is held and clears the error.
		if err := s.SetChannelState(ctx, a.ID, id, lc, store.ChannelError, "getUpdates: 409"); err != nil {
			t.Fatal(err)
		}
		if n, err := s.RestartChannels(ctx, a.ID, ag.ID); err != nil || n != 1 {
			t.Fatalf("restart = %d, %v", n, err)
		}
		if ok, _ := s.RenewChannelLease(ctx, id, lc, ttl); ok {
			t.Error("a revoked lease renewed")
		}
		b, _ = s.ChannelBinding(ctx, a.ID, id)
		if b.LastError != "" || b.Restarts != 1 || b.State != store.ChannelPending {
			t.Errorf("after restart = %+v", b)
		}

		// Concurrent acquisitions: exactly one node wins.
		c.add(time.Minute)
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := s.AcquireChannelLease(ctx, id, fmt.Sprintf("n%d", i), ttl)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					winners++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if winners != 1 {
			t.Errorf("%d nodes acquired one lease at once; want 1", winners)
		}
	})
}

func TestChannelInboundQueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		s := openAt(t, cfg, c)
		a, other := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		_, bs, err := s.CreateChannelAgent(ctx, a.ID, store.NewAgent{Name: "bot", Model: "m"}, -1,
			[]store.NewChannelBinding{newBinding("telegram", "111")})
		if err != nil {
			t.Fatal(err)
		}
		id := bs[0].ID
		msg := func(chat, mid string) store.InboundMessage {
			return store.InboundMessage{BindingID: id, UserID: a.ID, ChatID: chat, MsgID: mid, Body: "hi " + mid, SenderID: "42"}
		}
		for _, m := range []store.InboundMessage{msg("c1", "1"), msg("c1", "2"), msg("c2", "3")} {
			if fresh, err := s.AcceptChannelInbound(ctx, m); err != nil || !fresh {
				t.Fatalf("accept %s = %v, %v", m.MsgID, fresh, err)
			}
		}
		if fresh, err := s.AcceptChannelInbound(ctx, msg("c1", "1")); err != nil || fresh {
			t.Errorf("redelivery = %v, %v; want dropped", fresh, err)
		}
		// Another user cannot put messages on a's binding.
		forged := msg("c1", "9")
		forged.UserID = other.ID
		if _, err := s.AcceptChannelInbound(ctx, forged); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("accept as another user = %v; want ErrNotFound", err)
		}

		// One message per chat at a time, oldest first.
		until := c.now().Add(30 * time.Second)
		got, err := s.ClaimChannelInbound(ctx, "node-a", until, 10)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, r := range got {
			ids[r.MsgID] = true
		}
		if len(got) != 2 || !ids["1"] || !ids["3"] {
			t.Fatalf("first claim = %v; want messages 1 and 3", got)
		}
		if more, _ := s.ClaimChannelInbound(ctx, "node-b", until, 10); len(more) != 0 {
			t.Errorf("second claim = %v; want nothing while both chats are being answered", more)
		}
		r1 := store.InboundRef{BindingID: id, MsgID: "1", UserID: a.ID}
		if err := s.FinishChannelInbound(ctx, r1, "node-b", store.InboundAnswered, "run_1", ""); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("finishing another node's claim = %v; want ErrLeaseLost", err)
		}
		if err := s.FinishChannelInbound(ctx, r1, "node-a", store.InboundAnswered, "run_1", ""); err != nil {
			t.Fatal(err)
		}
		next, _ := s.ClaimChannelInbound(ctx, "node-b", until, 10)
		if len(next) != 1 || next[0].MsgID != "2" {
			t.Errorf("after 1 is answered = %v; want message 2", next)
		}

		// Node a dies holding message 3: once its claim expires, b takes it.
		c.add(31 * time.Second)
		ok, _ := s.RenewChannelInbound(ctx, store.InboundRef{BindingID: id, MsgID: "2", UserID: a.ID}, "node-b", c.now().Add(30*time.Second))
		if !ok {
			t.Error("renewing b's claim failed")
		}
		taken, _ := s.ClaimChannelInbound(ctx, "node-b", c.now().Add(30*time.Second), 10)
		if len(taken) != 1 || taken[0].MsgID != "3" {
			t.Fatalf("after a's claim expired = %v; want message 3", taken)
		}
		m3, err := s.ChannelInbound(ctx, a.ID, id, "3")
		if err != nil || m3.Attempts != 2 || m3.Status != store.InboundRunning || m3.Body != "hi 3" {
			t.Errorf("message 3 = %+v, %v; want running, second attempt", m3, err)
		}
		if err := s.FinishChannelInbound(ctx, store.InboundRef{BindingID: id, MsgID: "3", UserID: a.ID}, "node-a",
			store.InboundAnswered, "", ""); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("the dead node finishing = %v; want ErrLeaseLost", err)
		}
		if n, err := s.RecentChannelInbound(ctx, a.ID, id, "c1", c.now().Add(-2*time.Minute), c.now()); err != nil || n != 2 {
			t.Errorf("recent from c1 = %d, %v; want 2", n, err)
		}
		if n, _ := s.RecentChannelInbound(ctx, a.ID, id, "c1", c.now().Add(-20*time.Second), c.now()); n != 0 {
			t.Errorf("recent from c1 in the last 20s = %d; want 0", n)
		}
		counts, _ := s.ChannelInboundCounts(ctx, a.ID, id)
		if counts[store.InboundAnswered] != 1 || counts[store.InboundRunning] != 2 {
			t.Errorf("counts = %v", counts)
		}
		b, _ := s.ChannelBinding(ctx, a.ID, id)
		if b.LastInboundAt == nil {
			t.Error("last inbound not recorded")
		}
	})
}
