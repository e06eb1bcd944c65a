package discord

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/agentbot/gateway/channels"
	"github.com/agentbot/gateway/channels/discord/discordtest"
)

// acceptedIDs lists the MsgIDs the sink kept, in order.
func acceptedIDs(s *memSink) []string {
	var ids []string
	for _, in := range s.Accepted() {
		ids = append(ids, in.MsgID)
	}
	return ids
}

// waitAccepted waits until the sink kept the message id.
func waitAccepted(t *testing.T, s *memSink, id string) channels.Inbound {
	t.Helper()
	var got channels.Inbound
	waitFor(t, "message "+id+" accepted", func() bool {
		for _, in := range s.Accepted() {
			if in.MsgID == id {
				got = in
				return true
			}
		}
		return false
	})
	return got
}

// waitReady waits until the driver handled READY (or RESUMED) and the
// fake sees one open session.
func waitReady(t *testing.T, f *fixture, sink *memSink) {
	t.Helper()
	waitFor(t, "READY handled", func() bool { return sink.AliveCount() >= 1 && f.srv.Sessions(f.token) == 1 })
}

func savedState(t *testing.T, s *memSink) resumeState {
	t.Helper()
	var st resumeState
	if err := json.Unmarshal(s.Resume(), &st); err != nil {
		t.Fatalf("saved resume state %q: %v", s.Resume(), err)
	}
	return st
}

func TestReceiveDM(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sink := newSink()
	f.receive(t, f.binding(), sink)
	waitReady(t, f, sink)
	if got, want := f.srv.Intents(f.token), 1<<9|1<<12; got != want {
		t.Errorf("Identify intents = %d; want %d (GUILD_MESSAGES | DIRECT_MESSAGES)", got, want)
	}

	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	id := f.srv.UserMessage(f.token, "555", "777", "hello there", discordtest.AuthorName("ann"), discordtest.SentAt(at))
	in := waitAccepted(t, sink, id)
	want := channels.Inbound{ChatID: "555", SenderID: "777", SenderName: "ann", Text: "hello there", MsgID: id, ReplyTo: id}
	got := in
	got.At = time.Time{}
	if got != want {
		t.Errorf("Inbound = %+v; want %+v", got, want)
	}
	if !in.At.Equal(at) {
		t.Errorf("Inbound.At = %v; want %v", in.At, at)
	}

	st := savedState(t, sink)
	if st.SessionID == "" || st.URL != f.srv.ResumeURL() || st.Seq < 2 || st.UserID != f.botID {
		t.Errorf("saved state = %+v; want the session, seq ≥ 2, resume URL %s, user %s", st, f.srv.ResumeURL(), f.botID)
	}

	// A redelivery reaches the sink, which drops it.
	f.srv.Redeliver(f.token, id)
	marker := f.srv.UserMessage(f.token, "555", "777", "marker")
	waitAccepted(t, sink, marker)
	sink.mu.Lock()
	calls := sink.calls
	sink.mu.Unlock()
	if calls != 3 || len(sink.Accepted()) != 2 {
		t.Errorf("Accept calls, kept = %d, %d; want 3, 2", calls, len(sink.Accepted()))
	}
}

func TestReceiveFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sink := newSink()
	f.receive(t, f.binding(), sink)
	waitReady(t, f, sink)

	f.srv.UserMessage(f.token, "1", "777", "chat among people", discordtest.InGuild("9"))
	mentioned := f.srv.UserMessage(f.token, "1", "777", "what is 2+2?", discordtest.InGuild("9"), discordtest.MentioningBot())
	inline := f.srv.UserMessage(f.token, "1", "777", fmt.Sprintf("hey <@!%s> tell me", f.botID), discordtest.InGuild("9"), discordtest.MentioningBot())
	f.srv.UserMessage(f.token, "1", f.botID, "my own words", discordtest.InGuild("9"), discordtest.MentioningBot())
	f.srv.UserMessage(f.token, "2", f.botID, "my own DM")
	f.srv.UserMessage(f.token, "2", "888", "another bot", discordtest.ByBot())
	f.srv.Dispatch(f.token, "TYPING_START", json.RawMessage(`{"channel_id":"2"}`))
	marker := f.srv.UserMessage(f.token, "2", "777", "marker")
	waitAccepted(t, sink, marker)

	got := sink.Accepted()
	if ids := acceptedIDs(sink); len(ids) != 3 || ids[0] != mentioned || ids[1] != inline || ids[2] != marker {
		t.Fatalf("accepted %v; want [%s %s %s]", ids, mentioned, inline, marker)
	}
	if got[0].Text != "what is 2+2?" || got[0].ChatID != "1" {
		t.Errorf("mentioned message = %+v; want the text without the mention, chat 1", got[0])
	}
	if got[1].Text != "hey tell me" {
		t.Errorf("inline mention text = %q; want %q", got[1].Text, "hey tell me")
	}
}

func TestReceiveResumesAfterDrop(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Connections at most every 300 ms: the message below is certainly
	// dispatched while the driver is away.
	f.d.delay = 300 * time.Millisecond
	sink := newSink()
	f.receive(t, f.binding(), sink)
	waitReady(t, f, sink)
	f.srv.DropConnection(f.token)
	id := f.srv.UserMessage(f.token, "555", "777", "sent during the drop")
	waitAccepted(t, sink, id)
	if r, i := f.srv.Resumes(f.token), f.srv.Identifies(f.token); r != 1 || i != 1 {
		t.Errorf("Resumes, Identifies = %d, %d; want 1, 1", r, i)
	}
}

func TestReceiveReconnectOp7(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sink := newSink()
	f.receive(t, f.binding(), sink)
	ctx := ctxT(t)
	waitReady(t, f, sink)
	f.srv.Reconnect(f.token)
	if err := f.srv.Wait(ctx, func() bool { return f.srv.Resumes(f.token) == 1 && f.srv.Sessions(f.token) == 1 }); err != nil {
		t.Fatalf("no resume after op 7: %v", err)
	}
	id := f.srv.UserMessage(f.token, "555", "777", "after the reconnect")
	waitAccepted(t, sink, id)
	if i := f.srv.Identifies(f.token); i != 1 {
		t.Errorf("Identifies = %d; want 1", i)
	}
}

func TestReceiveInvalidSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sink := newSink()
	f.receive(t, f.binding(), sink)
	ctx := ctxT(t)
	waitReady(t, f, sink)
	first := savedState(t, sink).SessionID
	f.srv.InvalidateSession(f.token)
	if err := f.srv.Wait(ctx, func() bool { return f.srv.Identifies(f.token) == 2 && f.srv.Sessions(f.token) == 1 }); err != nil {
		t.Fatalf("no new Identify after op 9: %v", err)
	}
	id := f.srv.UserMessage(f.token, "555", "777", "after the new session")
	waitAccepted(t, sink, id)
	if r := f.srv.Resumes(f.token); r != 0 {
		t.Errorf("Resumes = %d; want 0", r)
	}
	sink.mu.Lock()
	clears := sink.clears
	sink.mu.Unlock()
	if st := savedState(t, sink); clears != 1 || st.SessionID == first || st.SessionID == "" {
		t.Errorf("after op 9: %d clears, state %+v; want the old state cleared once and a new session saved", clears, st)
	}
}

func TestReceiveRestartResumes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sink := newSink()
	r := f.receive(t, f.binding(), sink)
	ctx := ctxT(t)
	waitReady(t, f, sink)
	first := f.srv.UserMessage(f.token, "555", "777", "first")
	waitAccepted(t, sink, first)
	if err := r.stop(t); err != nil {
		t.Fatalf("Receive after cancel = %v; want nil", err)
	}
	if err := f.srv.WaitSessions(ctx, f.token, 0); err != nil {
		t.Fatal(err)
	}
	missed := f.srv.UserMessage(f.token, "555", "777", "while no receiver ran")

	// Another process: a fresh driver and sink, the binding's saved state.
	b := f.binding()
	b.Resume = sink.Resume()
	d2 := New(Options{APIURL: f.srv.RESTURL(), ReconnectDelay: time.Millisecond})
	sink2 := newSink()
	f2 := *f
	f2.d = d2
	f2.receive(t, b, sink2)
	waitAccepted(t, sink2, missed)
	if r, i := f.srv.Resumes(f.token), f.srv.Identifies(f.token); r != 1 || i != 1 {
		t.Errorf("Resumes, Identifies = %d, %d; want 1, 1", r, i)
	}
	if ids := acceptedIDs(sink2); len(ids) != 1 {
		t.Errorf("second receiver accepted %v; want only %s", ids, missed)
	}
}

func TestReceiveStaleResumeIdentifies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.binding()
	b.Resume = []byte(fmt.Sprintf(`{"session_id":"gone","seq":7,"resume_gateway_url":%q}`, f.srv.ResumeURL()))
	sink := newSink()
	f.receive(t, b, sink)
	id := f.srv.UserMessage(f.token, "555", "777", "hi")
	waitAccepted(t, sink, id)
	if r, i := f.srv.Resumes(f.token), f.srv.Identifies(f.token); r != 0 || i != 1 {
		t.Errorf("Resumes, Identifies = %d, %d; want 0, 1", r, i)
	}
}

func TestReceiveAcceptFailureIsNotAcknowledged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sink := newSink()
	boom := errors.New("store down")
	sink.acceptErr = func(in channels.Inbound) error {
		if in.Text == "fails" {
			return boom
		}
		return nil
	}
	r := f.receive(t, f.binding(), sink)
	waitReady(t, f, sink)
	ok := f.srv.UserMessage(f.token, "555", "777", "fine")
	waitAccepted(t, sink, ok)
	failing := f.srv.UserMessage(f.token, "555", "777", "fails")
	if err := r.wait(t); !errors.Is(err, boom) {
		t.Fatalf("Receive = %v; want the sink's error", err)
	}
	before := savedState(t, sink).Seq

	// The restarted receiver resumes from before the refused message.
	sink.mu.Lock()
	sink.acceptErr = nil
	sink.mu.Unlock()
	b := f.binding()
	b.Resume = sink.Resume()
	f.receive(t, b, sink)
	waitAccepted(t, sink, failing)
	if after := savedState(t, sink).Seq; after <= before {
		t.Errorf("seq after the redelivery = %d; want past %d", after, before)
	}
	if r := f.srv.Resumes(f.token); r != 1 {
		t.Errorf("Resumes = %d; want 1", r)
	}
}

func TestReceiveAlive(t *testing.T) {
	t.Parallel()
	f := newFixture(t, discordtest.WithHeartbeatInterval(20*time.Millisecond))
	sink := newSink()
	r := f.receive(t, f.binding(), sink)
	waitReady(t, f, sink)
	for i := range 5 {
		waitAccepted(t, sink, f.srv.UserMessage(f.token, "555", "777", fmt.Sprint("m", i)))
	}
	waitFor(t, "4 heartbeat ACKs", func() bool { return f.srv.Acks(f.token) >= 4 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	acks, alive := f.srv.Acks(f.token), sink.AliveCount()
	// READY once, then one per ACK the driver read before it stopped.
	if alive < 4 || alive > acks+1 {
		t.Errorf("Alive called %d times for %d ACKs, one READY and 5 messages; want between 4 and %d", alive, acks, acks+1)
	}
}

func TestReceiveZombieConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, discordtest.WithHeartbeatInterval(20*time.Millisecond))
	sink := newSink()
	f.receive(t, f.binding(), sink)
	ctx := ctxT(t)
	waitReady(t, f, sink)
	f.srv.PauseAcks(f.token, true)
	if err := f.srv.Wait(ctx, func() bool { return f.srv.Resumes(f.token) >= 1 }); err != nil {
		t.Fatalf("no resume after the ACKs stopped: %v", err)
	}
	f.srv.PauseAcks(f.token, false)
	id := f.srv.UserMessage(f.token, "555", "777", "still there?")
	waitAccepted(t, sink, id)
	if i := f.srv.Identifies(f.token); i != 1 {
		t.Errorf("Identifies = %d; want 1", i)
	}
}

func TestReceiveFenced(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sink := newSink()
	sink.acceptErr = func(channels.Inbound) error { return fmt.Errorf("lease lost: %w", channels.ErrFenced) }
	r := f.receive(t, f.binding(), sink)
	ctx := ctxT(t)
	waitReady(t, f, sink)
	f.srv.UserMessage(f.token, "555", "777", "hi")
	if err := r.wait(t); !errors.Is(err, channels.ErrFenced) {
		t.Fatalf("Receive = %v; want ErrFenced", err)
	}
	if err := f.srv.WaitSessions(ctx, f.token, 0); err != nil {
		t.Errorf("the connection stayed open after ErrFenced: %v", err)
	}
}

func TestReceiveBadToken(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t)
	b := &channels.Binding{Cred: channels.Credential{Token: "MTIz.abc.def"}}

	// Through GET /gateway/bot, which answers 401.
	err := New(Options{APIURL: srv.RESTURL()}).Receive(ctxT(t), b, newSink())
	wantError(t, "Receive(unknown token, via /gateway/bot)", err, channels.CodeCredentialRefused, true)

	// Straight to the Gateway, which closes with 4004.
	d := New(Options{APIURL: srv.RESTURL(), GatewayURL: srv.GatewayURL(), ReconnectDelay: time.Millisecond})
	err = d.Receive(ctxT(t), b, newSink())
	wantError(t, "Receive(unknown token, Identify)", err, channels.CodeCredentialRefused, true)

	err = d.Receive(ctxT(t), &channels.Binding{Cred: channels.Credential{Token: "nope"}}, newSink())
	wantError(t, "Receive(malformed token)", err, channels.CodeCredentialRefused, true)
}

// TestReceiveCancel is not parallel: it counts the package's goroutines.
func TestReceiveCancel(t *testing.T) {
	f := newFixture(t)
	sink := newSink()
	r := f.receive(t, f.binding(), sink)
	waitReady(t, f, sink)
	waitFor(t, "a heartbeat ACK", func() bool { return f.srv.Acks(f.token) >= 1 })
	if n := driverGoroutines(); n == 0 {
		t.Fatalf("no driver goroutine found while receiving; the leak check below would prove nothing")
	}
	start := time.Now()
	if err := r.stop(t); err != nil {
		t.Fatalf("Receive after cancel = %v; want nil", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Receive took %s to return after cancel", took)
	}
	waitFor(t, "the driver's goroutines to end", func() bool { return driverGoroutines() == 0 })
	if err := f.srv.WaitSessions(ctxT(t), f.token, 0); err != nil {
		t.Errorf("the connection stayed open: %v", err)
	}
	// The session stays resumable for the next receiver.
	if st := savedState(t, sink); st.SessionID == "" {
		t.Errorf("resume state cleared on cancel: %+v", st)
	}
}
