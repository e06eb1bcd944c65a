package telegram

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/channels"
)

func TestReceiveInOrder(t *testing.T) {
	f := newFixture(t)
	sink := newSink()
	const chat, group = int64(5551), int64(-100777)

	// Two queued before Receive starts (one batch), three while it polls.
	ids := []int64{
		f.tg.UserMessage(f.token, chat, chat, "one"),
		f.tg.UserMessage(f.token, group, 6001, "two"),
	}
	start := time.Now()
	r := startReceive(t, f.d, f.b, sink)
	sink.waitAccepted(t, 2)
	for _, text := range []string{"three", "four", "five"} {
		ids = append(ids, f.tg.UserMessage(f.token, chat, chat, text))
	}
	got := sink.waitAccepted(t, 5)
	sink.waitOffset(t, ids[4]+1)
	if err := r.stop(t); err != nil {
		t.Fatalf("Receive = %v; want nil after cancel", err)
	}

	texts := make([]string, len(got))
	for i, in := range got {
		texts[i] = in.Text
	}
	if want := []string{"one", "two", "three", "four", "five"}; !slices.Equal(texts, want) {
		t.Errorf("accepted %q; want %q", texts, want)
	}
	first, second := got[0], got[1]
	if want := (channels.Inbound{ChatID: "5551", SenderID: "5551", SenderName: "User 5551", Text: "one",
		MsgID: "5551:1", ReplyTo: "1", At: first.At}); first != want {
		t.Errorf("first = %+v; want %+v", first, want)
	}
	if want := (channels.Inbound{ChatID: "-100777", SenderID: "6001", SenderName: "User 6001", Text: "two",
		MsgID: "-100777:1", ReplyTo: "1", At: second.At}); second != want {
		t.Errorf("second = %+v; want %+v", second, want)
	}
	if first.At.Before(start.Add(-2*time.Second)) || first.At.After(time.Now().Add(time.Second)) {
		t.Errorf("At = %v; want about %v", first.At, start)
	}
	if got[4].MsgID != "5551:4" {
		t.Errorf("fifth MsgID = %q; want 5551:4", got[4].MsgID)
	}

	// Every offset is saved after the messages before it were accepted,
	// and the offsets only grow.
	sink.mu.Lock()
	events := slices.Clone(sink.events)
	sink.mu.Unlock()
	acceptedBefore := 0
	var last int64
	for _, e := range events {
		switch e.kind {
		case "accept":
			acceptedBefore++
		case "offset":
			n := 0
			for _, id := range ids {
				if id < e.offset {
					n++
				}
			}
			if acceptedBefore < n {
				t.Errorf("offset %d saved after %d accepts; want %d first", e.offset, acceptedBefore, n)
			}
			if e.offset <= last {
				t.Errorf("offset %d saved after %d", e.offset, last)
			}
			last = e.offset
		}
	}
	// The driver asked Telegram from the binding's offset (0), then from
	// each saved one.
	offs := f.tg.Offsets(f.token)
	if offs[0] != 0 || !slices.Contains(offs, ids[1]+1) {
		t.Errorf("getUpdates offsets %v; want 0 first, then %d", offs, ids[1]+1)
	}
}

func TestReceiveAliveCountsPolls(t *testing.T) {
	f := newFixture(t)
	sink := newSink()
	ctx := context.Background()
	r := startReceive(t, f.d, f.b, sink)
	f.tg.AddChat(f.token, 42)
	for i := range 3 {
		f.tg.UserMessage(f.token, 5551, 5551, fmt.Sprint("m", i))
		sink.waitAccepted(t, i+1)
		// Calls that are not polls must not count.
		if _, err := f.d.Check(ctx, channels.Credential{Token: f.token}); err != nil {
			t.Fatalf("Check: %v", err)
		}
		if err := f.d.Send(ctx, f.b, "42", "out", ""); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	// And one poll that ends empty, at its timeout.
	polls := f.tg.Polls(f.token)
	waitUntil(t, "an empty poll", func() bool { return f.tg.Polls(f.token) > polls })
	sink.waitFor(t, "the empty poll's Alive", func(s *memSink) bool { return s.aliveCount() > polls })
	if err := r.stop(t); err != nil {
		t.Fatalf("Receive = %v", err)
	}
	alive, completed := sink.aliveCount(), f.tg.Polls(f.token)
	// A poll the fake answered just as Receive was cancelled may be
	// unreported; none may be reported twice, nor any other call.
	if alive > completed || alive < completed-1 || alive < 4 {
		t.Errorf("Alive called %d times for %d completed polls (%d getMe, %d sendMessage)",
			alive, completed, f.tg.Calls(f.token, "getMe"), f.tg.Calls(f.token, "sendMessage"))
	}
}

func TestReceiveSkipsOtherUpdates(t *testing.T) {
	f := newFixture(t)
	sink := newSink()
	chat := map[string]any{"id": 5551, "type": "private"}
	person := map[string]any{"id": 5551, "is_bot": false, "first_name": "Ann"}
	photo := f.tg.PushUpdate(f.token, map[string]any{"message": map[string]any{
		"message_id": 1, "from": person, "chat": chat, "date": 1700000000,
		"photo": []map[string]any{{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}}}})
	r := startReceive(t, f.d, f.b, sink)
	// A batch with nothing to accept still moves the offset on.
	sink.waitOffset(t, photo+1)

	f.tg.PushUpdate(f.token, map[string]any{"message": map[string]any{
		"message_id": 2, "from": map[string]any{"id": 9, "is_bot": true, "first_name": "Bot"},
		"chat": chat, "date": 1700000000, "text": "from a bot"}})
	f.tg.PushUpdate(f.token, map[string]any{"edited_message": map[string]any{
		"message_id": 1, "from": person, "chat": chat, "date": 1700000000, "edit_date": 1700000001, "text": "edited"}})
	last := f.tg.UserMessage(f.token, 5551, 5551, "text")
	sink.waitOffset(t, last+1)
	if err := r.stop(t); err != nil {
		t.Fatalf("Receive = %v", err)
	}
	got := sink.accepted()
	if len(got) != 1 || got[0].Text != "text" {
		t.Errorf("accepted %+v; want only the text message", got)
	}
}

func TestReceiveRestart(t *testing.T) {
	f := newFixture(t)
	sink := newSink()
	a := f.tg.UserMessage(f.token, 5551, 5551, "a")
	r := startReceive(t, f.d, f.b, sink)
	sink.waitOffset(t, a+1)
	if err := r.stop(t); err != nil {
		t.Fatalf("Receive = %v", err)
	}

	// Messages while no one polls, then a restart from the saved offset:
	// each message exactly once.
	f.tg.UserMessage(f.token, 5551, 5551, "b")
	c := f.tg.UserMessage(f.token, 5551, 5551, "c")
	saved := sink.offsets()
	b := *f.b
	b.Offset = saved[len(saved)-1]
	polls := len(f.tg.Offsets(f.token))
	r = startReceive(t, f.d, &b, sink)
	sink.waitOffset(t, c+1)
	if err := r.stop(t); err != nil {
		t.Fatalf("Receive after restart = %v", err)
	}
	var texts []string
	for _, in := range sink.accepted() {
		texts = append(texts, in.Text)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(texts, want) {
		t.Errorf("accepted %q; want %q", texts, want)
	}
	if got := f.tg.Offsets(f.token)[polls]; got != a+1 {
		t.Errorf("restarted Receive asked from offset %d; want the saved %d", got, a+1)
	}
}

func TestReceiveRedelivered(t *testing.T) {
	f := newFixture(t)
	sink := newSink()
	id := f.tg.UserMessage(f.token, 5551, 5551, "once")
	r := startReceive(t, f.d, f.b, sink)
	first := sink.waitAccepted(t, 1)[0]
	// Telegram has the confirmation (the next poll's offset) and forgets
	// the update.
	waitUntil(t, "the confirming poll", func() bool { return slices.Contains(f.tg.Offsets(f.token), id+1) })
	if err := r.stop(t); err != nil {
		t.Fatalf("Receive = %v", err)
	}

	// Telegram hands the update out again, and the poller starts from an
	// offset that never reached the store: the same message comes again,
	// with the same MsgID, for the sink to drop.
	f.tg.Redeliver(f.token, id)
	b := *f.b
	b.Offset = id
	r = startReceive(t, f.d, &b, sink)
	got := sink.waitAccepted(t, 2)
	if err := r.stop(t); err != nil {
		t.Fatalf("Receive = %v", err)
	}
	if got[1] != first {
		t.Errorf("redelivery accepted as %+v; want %+v again", got[1], first)
	}
}

func TestReceiveFenced(t *testing.T) {
	f := newFixture(t)
	sink := newSink()
	sink.accept = func(n int, in channels.Inbound) error {
		if n == 1 {
			return fmt.Errorf("store: keep message: %w", channels.ErrFenced)
		}
		return nil
	}
	// One batch of three.
	f.tg.UserMessage(f.token, 5551, 5551, "a")
	f.tg.UserMessage(f.token, 5551, 5551, "b")
	f.tg.UserMessage(f.token, 5551, 5551, "c")
	r := startReceive(t, f.d, f.b, sink)
	err := r.wait(t)
	if !errors.Is(err, channels.ErrFenced) {
		t.Fatalf("Receive = %v; want ErrFenced", err)
	}
	if os := sink.offsets(); len(os) != 0 {
		t.Errorf("offsets %v saved after the lease was lost; want none", os)
	}
	if n := len(sink.accepted()); n != 1 {
		t.Errorf("%d accepted; want 1 (before the fence)", n)
	}
	if n := f.tg.Pending(f.token); n != 3 {
		t.Errorf("%d updates pending at Telegram; want all 3 unconfirmed", n)
	}

	t.Run("on save", func(t *testing.T) {
		sink := newSink()
		sink.save = func(int64) error { return channels.ErrFenced }
		r := startReceive(t, f.d, f.b, sink)
		if err := r.wait(t); !errors.Is(err, channels.ErrFenced) {
			t.Fatalf("Receive = %v; want ErrFenced", err)
		}
	})
}

func TestReceiveSinkFailure(t *testing.T) {
	f := newFixture(t)
	sink := newSink()
	boom := errors.New("database down")
	sink.save = func(int64) error { return boom }
	id := f.tg.UserMessage(f.token, 5551, 5551, "a")
	r := startReceive(t, f.d, f.b, sink)
	if err := r.wait(t); !errors.Is(err, boom) {
		t.Fatalf("Receive = %v; want the sink's error", err)
	}
	// Not confirmed: the next Receive, from the same offset, gets it again.
	sink.save = nil
	r = startReceive(t, f.d, f.b, sink)
	sink.waitOffset(t, id+1)
	if got := sink.accepted(); len(got) != 2 || got[0].MsgID != got[1].MsgID {
		t.Errorf("accepted %+v; want the same message twice", got)
	}
}

func TestReceiveStalledPoll(t *testing.T) {
	f := newFixture(t)
	sink := newSink()
	f.tg.Stall(f.token, true)
	start := time.Now()
	r := startReceive(t, f.d, f.b, sink)
	waitUntil(t, "the stalled poll to be abandoned", func() bool { return f.tg.Abandoned(f.token) >= 1 })
	// Bounded by PollTimeout+PollGrace (1.5s); a wide margin for slow
	// machines, still far short of never.
	if took := time.Since(start); took > testPoll+testGrace+5*time.Second {
		t.Errorf("the stalled poll ended after %s; want about %s", took, testPoll+testGrace)
	}
	if n := sink.aliveCount(); n != 0 {
		t.Errorf("Alive called %d times while every poll stalled; want 0", n)
	}
	// Receive carries on with the next poll.
	f.tg.Stall(f.token, false)
	f.tg.UserMessage(f.token, 5551, 5551, "after the stall")
	sink.waitAccepted(t, 1)
	if err := r.stop(t); err != nil {
		t.Fatalf("Receive = %v", err)
	}
}

func TestReceiveCancel(t *testing.T) {
	f := newFixture(t)
	// A long poll of 20s, cut short by the cancel.
	d := New(Options{ServerURL: f.tg.URL(), PollTimeout: 20 * time.Second})
	r := startReceive(t, d, f.b, newSink())
	waitUntil(t, "the first poll", func() bool { return len(f.tg.Offsets(f.token)) > 0 })
	start := time.Now()
	if err := r.stop(t); err != nil {
		t.Fatalf("Receive = %v; want nil", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Receive took %s to return after cancel", took)
	}
}

func TestReceiveConflict(t *testing.T) {
	f := newFixture(t)
	sinkA, sinkB := newSink(), newSink()
	a := startReceive(t, f.d, f.b, sinkA)
	waitUntil(t, "the first poll", func() bool { return len(f.tg.Offsets(f.token)) > 0 })
	b := startReceive(t, f.d, f.b, sinkB)
	// One of the two is told another poller took over.
	var err error
	select {
	case err = <-a.done:
		a.done <- err
	case err = <-b.done:
		b.done <- err
	case <-time.After(waitLong):
		t.Fatal("neither poller stopped")
	}
	if err == nil || !strings.Contains(err.Error(), "conflict") || !strings.Contains(err.Error(), "another poller") {
		t.Errorf("Receive = %v; want a 409 conflict", err)
	}
	if f.tg.Conflicts(f.token) < 1 {
		t.Errorf("the fake counted no conflict")
	}

	t.Run("webhook set", func(t *testing.T) {
		f := newFixture(t)
		if err := f.d.SetWebhook(context.Background(), f.b, "http://127.0.0.1:1/hook"); err != nil {
			t.Fatalf("SetWebhook: %v", err)
		}
		err := startReceive(t, f.d, f.b, newSink()).wait(t)
		if err == nil || !strings.Contains(err.Error(), "webhook") {
			t.Errorf("Receive with a webhook set = %v; want a 409 conflict", err)
		}
	})
}

func TestReceiveRetries(t *testing.T) {
	t.Run("5xx", func(t *testing.T) {
		f := newFixture(t)
		sink := newSink()
		f.tg.FailNext(f.token, "getUpdates", 3, 502, "Bad Gateway")
		f.tg.UserMessage(f.token, 5551, 5551, "through")
		startReceive(t, f.d, f.b, sink)
		sink.waitAccepted(t, 1)
	})
	t.Run("gives up", func(t *testing.T) {
		f := newFixture(t)
		f.tg.FailNext(f.token, "getUpdates", maxPollFailures, 500, "Internal Server Error")
		err := startReceive(t, f.d, f.b, newSink()).wait(t)
		if err == nil || !strings.Contains(err.Error(), "500") {
			t.Errorf("Receive after %d failures = %v; want the last", maxPollFailures, err)
		}
	})
	t.Run("429", func(t *testing.T) {
		f := newFixture(t)
		sink := newSink()
		f.tg.RateLimitMethod(f.token, "getUpdates", 1, 1)
		f.tg.UserMessage(f.token, 5551, 5551, "later")
		start := time.Now()
		startReceive(t, f.d, f.b, sink)
		sink.waitAccepted(t, 1)
		if took := time.Since(start); took < 900*time.Millisecond {
			t.Errorf("accepted after %s; want after retry_after (1s)", took)
		}
	})
	t.Run("401", func(t *testing.T) {
		f := newFixture(t)
		f.tg.FailNext(f.token, "getUpdates", 1, 401, "Unauthorized")
		err := startReceive(t, f.d, f.b, newSink()).wait(t)
		ce := asChannelError(t, err)
		if ce.Code != channels.CodeCredentialRefused || !ce.Permanent {
			t.Errorf("Receive after 401 = %+v; want permanent %s", ce, channels.CodeCredentialRefused)
		}
	})
	t.Run("bad token", func(t *testing.T) {
		f := newFixture(t)
		b := *f.b
		b.Cred.Token = "x"
		ce := asChannelError(t, f.d.Receive(context.Background(), &b, newSink()))
		if ce.Code != channels.CodeCredentialRefused {
			t.Errorf("Receive(bad token) = %+v; want %s", ce, channels.CodeCredentialRefused)
		}
	})
}
