package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/disgoorg/disgo/gateway"

	"github.com/agentbot/gateway/channels"
)

// intents are the Gateway events the session asks for: messages in guilds
// and in DMs. MESSAGE_CONTENT (1<<15) is privileged and not asked for:
// messages that mention the bot and DMs carry their content without it.
const intents = gateway.IntentGuildMessages | gateway.IntentDirectMessages

// Bounds of one Gateway connection.
const (
	// maxFrame bounds one Gateway message; a larger one drops the
	// connection (and is replayed on resume, so a binding whose
	// session keeps one will fail until it is gone).
	maxFrame = 8 << 20
	// helloTimeout bounds the wait for Hello after the handshake.
	helloTimeout = 30 * time.Second
	// writeTimeout bounds one frame's write.
	writeTimeout = 10 * time.Second
	// dialTimeout bounds a handshake when the HTTP client sets none.
	dialTimeout = 30 * time.Second
	// maxHeartbeat caps the interval Hello asks for (Discord's is ~41 s),
	// so that a dead connection is noticed in bounded time.
	maxHeartbeat = 2 * time.Minute
	// maxFailures is how many connections in a row may fail before
	// Receive gives up and leaves the retry to its supervisor.
	maxFailures = 5
	// maxBackoff caps the pause between failed connections.
	maxBackoff = 30 * time.Second
)

// The driver ends a connection by dropping it, without a close handshake:
// Discord invalidates a session closed with 1000 or 1001 but keeps a
// dropped one resumable, and a drop never waits on the peer. So a
// session left on ctx's end, on ErrFenced or on a Reconnect is resumed
// by whichever receiver runs next.

// resumeState is a session's resume state, kept with SaveResume as JSON
// so that the next Receive, in this process or another, resumes it.
type resumeState struct {
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
	URL       string `json:"resume_gateway_url"`
	// UserID is the bot's user id from READY, which a resumed session
	// never sees again; it finds the bot's mentions.
	UserID string `json:"user_id,omitempty"`
}

// decodeResume reads a binding's saved state; ok is false for none or
// for one that cannot be resumed.
func decodeResume(b []byte) (resumeState, bool) {
	var s resumeState
	if len(b) == 0 || json.Unmarshal(b, &s) != nil {
		return resumeState{}, false
	}
	if s.SessionID == "" || s.Seq < 0 || checkWSURL(s.URL) != nil {
		return resumeState{}, false
	}
	return s, true
}

// Receive runs the binding's Gateway session: Hello, Identify (or Resume
// from b.Resume), READY, heartbeats, and MESSAGE_CREATE dispatches handed
// to sink.Accept one at a time, in order. A dropped connection, a
// Reconnect (op 7) or a connection silent for two heartbeat intervals
// (no ACK, no dispatch: a zombie) resumes on the resume_gateway_url; an
// Invalid Session (op 9) that cannot be resumed, or a close with 4007 or
// 4009, clears the saved state and identifies again. The resume state (session id, the sequence of the
// last dispatch handled, the resume URL) is saved with sink.SaveResume
// after READY and RESUMED, after each accepted message and on heartbeat
// ACKs, never past a message that Accept refused. sink.Alive is called on
// READY, RESUMED and each heartbeat ACK only.
//
// Receive returns nil when ctx ends; a sink error (one wrapping
// channels.ErrFenced included), wrapped; a *channels.Error with
// CodeCredentialRefused when the Gateway closes with 4004 (or REST
// refuses the token), with CodeRejected when it closes with another code
// that forbids reconnecting (4010–4014: shards, API version, intents),
// and with CodeUnavailable after five connections in a row failed. On
// return the connection is dropped (the session stays resumable) and no
// goroutine of the session remains.
//
// disgo's own gateway client (gateway.New) is not used: in v0.18.15 it
// reads and writes its sequence number, status and heartbeat state from
// several goroutines without synchronisation (a data race), dereferences
// a nil sequence when asked for a heartbeat before the first dispatch (a
// panic on a frame from the server), reconnects after op 7 and op 9 in a
// goroutine on context.Background() that outlives Close, and records a
// dispatch's sequence before its handler runs, so it could resume past a
// message the sink refused. Its opcodes, intents, close codes and the
// Identify and Resume payloads are used as they are.
func (d *Driver) Receive(ctx context.Context, b *channels.Binding, sink channels.Sink) error {
	if !ValidToken(b.Cred.Token) {
		return &channels.Error{Code: channels.CodeCredentialRefused, Message: "not a Discord bot token", Permanent: true}
	}
	r := &receiver{d: d, token: b.Cred.Token, sink: sink, self: b.ExternalID}
	if s, ok := decodeResume(b.Resume); ok {
		r.state = s
		r.seq.Store(s.Seq)
		if isSnowflake(s.UserID) {
			r.self = s.UserID
		}
	}
	return r.run(ctx)
}

// receiver is one Receive call's state. Only the goroutine running
// Receive touches it, except seq, which heartbeats read.
type receiver struct {
	d     *Driver
	token string
	sink  channels.Sink
	self  string // the bot's user id, for mentions and its own messages

	state resumeState // SessionID empty: identify afresh
	seq   atomic.Int64
	saved int64 // seq last saved

	gatewayURL string // from Options or GET /gateway/bot, asked once
	connURL    string // the current connection's URL, without its query
}

// outcome is how one connection ended, when Receive goes on.
type outcome struct {
	ready bool          // READY or RESUMED came: the connection worked
	pause time.Duration // wait at least this long before the next one
	cause error         // why it ended, for the log
}

func (r *receiver) run(ctx context.Context) error {
	var failures int
	var last time.Time
	var pause time.Duration
	for {
		// Never connect more often than once per ReconnectDelay, however
		// quickly connections end, nor sooner than the outcome asks.
		if wait := max(pause, time.Until(last.Add(r.d.delay))); wait > 0 {
			if !sleep(ctx, wait) {
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		last = time.Now()
		out, err := r.connection(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if out.ready {
			failures = 0
			pause = out.pause
		} else {
			failures++
			if failures >= maxFailures {
				return &channels.Error{Code: channels.CodeUnavailable, Message: fmt.Sprintf("gateway: %d connections in a row failed, the last: %v", failures, out.cause)}
			}
			// A resume URL that keeps failing is given up for a fresh
			// session on the main Gateway URL; the saved state stays for
			// the next Receive, since Discord did not refuse it.
			if failures >= 3 && r.state.SessionID != "" {
				r.state = resumeState{}
				r.seq.Store(0)
			}
			pause = max(out.pause, min(r.d.delay<<(failures-1), maxBackoff))
		}
		r.d.log.Debug("discord: gateway connection ended", "cause", out.cause, "ready", out.ready, "failures", failures, "pause", pause)
	}
}

// forget drops the resume state Discord refused, here and in the store:
// the next connection identifies.
func (r *receiver) forget(ctx context.Context) error {
	r.state = resumeState{}
	r.seq.Store(0)
	r.saved = 0
	if err := r.sink.SaveResume(ctx, nil); err != nil {
		return fmt.Errorf("discord: clearing the resume state: %w", err)
	}
	return nil
}

// save persists the resume state when it moved on.
func (r *receiver) save(ctx context.Context, force bool) error {
	seq := r.seq.Load()
	if r.state.SessionID == "" || (!force && seq == r.saved) {
		return nil
	}
	s := r.state
	s.Seq = seq
	s.UserID = r.self
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("discord: encoding the resume state: %w", err)
	}
	if err := r.sink.SaveResume(ctx, b); err != nil {
		return fmt.Errorf("discord: saving the resume state: %w", err)
	}
	r.saved = seq
	return nil
}

// conn is one WebSocket connection of the session.
type conn struct {
	ws *websocket.Conn
	// silence is how long the reader waits for a payload before taking
	// the connection for dead: a heartbeat goes out every interval and
	// its ACK comes straight back, so two intervals without a word
	// mean a zombie connection.
	silence time.Duration
}

// frame is a Gateway payload as sent.
type frame struct {
	Op gateway.Opcode `json:"op"`
	D  any            `json:"d"`
}

// incoming is a Gateway payload as received; d is decoded per opcode.
type incoming struct {
	Op gateway.Opcode  `json:"op"`
	S  *int64          `json:"s"`
	T  string          `json:"t"`
	D  json.RawMessage `json:"d"`
}

func (c *conn) send(ctx context.Context, op gateway.Opcode, d any) error {
	b, err := json.Marshal(frame{Op: op, D: d})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// heartbeat sends op 1 with the last sequence handled (null before any).
func (c *conn) heartbeat(ctx context.Context, seq int64) error {
	var d *int64
	if seq > 0 {
		d = &seq
	}
	return c.send(ctx, gateway.OpcodeHeartbeat, d)
}

// connection runs one WebSocket connection of the session. An error ends
// Receive; an outcome means connect again.
func (r *receiver) connection(ctx context.Context) (outcome, error) {
	target, err := r.target(ctx)
	if err != nil {
		return outcome{}, err
	}
	r.connURL = strings.SplitN(target, "?", 2)[0]
	dctx, cancel := ctx, context.CancelFunc(func() {})
	if r.d.http.Timeout == 0 {
		dctx, cancel = context.WithTimeout(ctx, dialTimeout)
	}
	ws, _, err := websocket.Dial(dctx, target, &websocket.DialOptions{HTTPClient: r.d.http})
	cancel()
	if err != nil {
		return outcome{cause: fmt.Errorf("dialing the gateway: %w", err)}, nil
	}
	ws.SetReadLimit(maxFrame)
	c := &conn{ws: ws}

	cctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		_ = ws.CloseNow()
		wg.Wait()
	}()

	interval, err := r.hello(cctx, c)
	if err != nil {
		return outcome{cause: err}, nil
	}
	c.silence = 2*interval + time.Second
	if r.state.SessionID != "" {
		err = c.send(cctx, gateway.OpcodeResume, gateway.MessageDataResume{Token: r.token, SessionID: r.state.SessionID, Seq: int(r.seq.Load())})
	} else {
		err = c.send(cctx, gateway.OpcodeIdentify, gateway.MessageDataIdentify{
			Token:      r.token,
			Properties: gateway.IdentifyCommandDataProperties{OS: runtime.GOOS, Browser: "agentbot", Device: "agentbot"},
			Intents:    intents,
		})
	}
	if err != nil {
		return outcome{cause: fmt.Errorf("sending identify or resume: %w", err)}, nil
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.beat(cctx, c, interval)
	}()
	return r.read(cctx, c)
}

// target is the URL of the next connection: the resume URL while there
// is a session to resume, else the Gateway URL.
func (r *receiver) target(ctx context.Context) (string, error) {
	u := r.state.URL
	if r.state.SessionID == "" {
		if r.gatewayURL == "" {
			g := r.d.gatewayURL
			if g == "" {
				var err error
				if g, err = r.d.gatewayBot(ctx, r.token); err != nil {
					return "", err
				}
			}
			if err := checkWSURL(g); err != nil {
				return "", &channels.Error{Code: channels.CodeUnavailable, Message: fmt.Sprintf("gateway URL %q: %v", g, err), Permanent: true}
			}
			r.gatewayURL = g
		}
		u = r.gatewayURL
	}
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("discord: gateway URL %q: %w", u, err)
	}
	q := p.Query()
	q.Set("v", fmt.Sprint(gateway.Version))
	q.Set("encoding", "json")
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// checkWSURL accepts ws:// and wss:// URLs with a host.
func checkWSURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return err
	}
	if (p.Scheme != "ws" && p.Scheme != "wss") || p.Host == "" {
		return errors.New("not a ws:// or wss:// URL")
	}
	return nil
}

// hello waits for op 10 and returns its heartbeat interval.
func (r *receiver) hello(ctx context.Context, c *conn) (time.Duration, error) {
	hctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	for {
		_, data, err := c.ws.Read(hctx)
		if err != nil {
			return 0, fmt.Errorf("waiting for hello: %w", err)
		}
		var f incoming
		if json.Unmarshal(data, &f) != nil || f.Op != gateway.OpcodeHello {
			continue
		}
		var h struct {
			HeartbeatInterval float64 `json:"heartbeat_interval"`
		}
		if err := json.Unmarshal(f.D, &h); err != nil || !(h.HeartbeatInterval >= 1) {
			return 0, fmt.Errorf("hello without a usable heartbeat_interval: %.200s", f.D)
		}
		ms := min(h.HeartbeatInterval, float64(maxHeartbeat/time.Millisecond))
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
}

// beat heartbeats every interval, the first after a random part of it
// as Discord asks. A failed write drops the connection.
func (r *receiver) beat(ctx context.Context, c *conn, interval time.Duration) {
	t := time.NewTimer(time.Duration(rand.Float64() * float64(interval)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.heartbeat(ctx, r.seq.Load()); err != nil {
			_ = c.ws.CloseNow()
			return
		}
		t.Reset(interval)
	}
}

// read handles the connection's payloads until it ends.
func (r *receiver) read(ctx context.Context, c *conn) (outcome, error) {
	ready := false
	for {
		rctx, cancel := context.WithTimeout(ctx, c.silence)
		_, data, err := c.ws.Read(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return outcome{ready: ready}, nil
			}
			return r.closed(ctx, ready, err)
		}
		var f incoming
		if err := json.Unmarshal(data, &f); err != nil {
			r.d.log.Debug("discord: unreadable gateway payload", "err", err)
			continue
		}
		switch f.Op {
		case gateway.OpcodeDispatch:
			ok, err := r.dispatch(ctx, f)
			if err != nil {
				return outcome{}, err
			}
			ready = ready || ok
		case gateway.OpcodeHeartbeat:
			if err := c.heartbeat(ctx, r.seq.Load()); err != nil {
				return outcome{ready: ready, cause: fmt.Errorf("answering a heartbeat request: %w", err)}, nil
			}
		case gateway.OpcodeHeartbeatACK:
			r.sink.Alive(ctx)
			if err := r.save(ctx, false); err != nil {
				return outcome{}, err
			}
		case gateway.OpcodeReconnect:
			return outcome{ready: ready, cause: errors.New("the gateway asked to reconnect (op 7)")}, nil
		case gateway.OpcodeInvalidSession:
			var resumable bool
			_ = json.Unmarshal(f.D, &resumable)
			if resumable && r.state.SessionID != "" {
				return outcome{ready: ready, cause: errors.New("invalid session (op 9), resumable")}, nil
			}
			if err := r.forget(ctx); err != nil {
				return outcome{}, err
			}
			// Discord asks for a random 1–5 s before identifying again.
			pause := r.d.delay + time.Duration(rand.Int64N(int64(4*r.d.delay)+1))
			return outcome{ready: ready, pause: pause, cause: errors.New("invalid session (op 9)")}, nil
		}
	}
}

// dispatch handles an op 0 payload; ok reports READY or RESUMED.
func (r *receiver) dispatch(ctx context.Context, f incoming) (ok bool, err error) {
	var seq int64
	if f.S != nil && *f.S > 0 {
		seq = *f.S
	}
	switch f.T {
	case "READY":
		var ev struct {
			SessionID        string `json:"session_id"`
			ResumeGatewayURL string `json:"resume_gateway_url"`
			User             struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		if json.Unmarshal(f.D, &ev) != nil || ev.SessionID == "" {
			r.d.log.Info("discord: READY without a session id; ignored")
			return false, nil
		}
		r.state = resumeState{SessionID: ev.SessionID, URL: ev.ResumeGatewayURL}
		if checkWSURL(ev.ResumeGatewayURL) != nil {
			r.state.URL = r.connURL
		}
		if isSnowflake(ev.User.ID) {
			r.self = ev.User.ID
		}
		r.seq.Store(seq)
		if err := r.save(ctx, true); err != nil {
			return false, err
		}
		r.sink.Alive(ctx)
		return true, nil
	case "RESUMED":
		if seq > 0 {
			r.seq.Store(seq)
		}
		if err := r.save(ctx, true); err != nil {
			return false, err
		}
		r.sink.Alive(ctx)
		return true, nil
	case "MESSAGE_CREATE":
		if in, ok := inbound(f.D, r.self); ok {
			if err := r.sink.Accept(ctx, in); err != nil {
				// The sequence stays before this message: a resume gets
				// it again.
				return false, fmt.Errorf("discord: accepting message %s: %w", in.MsgID, err)
			}
			if seq > 0 {
				r.seq.Store(seq)
			}
			return false, r.save(ctx, false)
		}
	}
	if seq > 0 {
		r.seq.Store(seq)
	}
	return false, nil
}

// closed decides what a connection that ended on err leads to.
func (r *receiver) closed(ctx context.Context, ready bool, err error) (outcome, error) {
	code := int(websocket.CloseStatus(err))
	switch {
	case code == gateway.CloseEventCodeAuthenticationFailed.Code:
		return outcome{}, &channels.Error{Code: channels.CodeCredentialRefused, Message: "the Discord gateway refused the token (4004)", Permanent: true}
	case code == gateway.CloseEventCodeInvalidSeq.Code || code == gateway.CloseEventCodeSessionTimed.Code:
		if err := r.forget(ctx); err != nil {
			return outcome{}, err
		}
	case code >= 4000 && !gateway.CloseEventCodeByCode(code).Reconnect:
		ce := gateway.CloseEventCodeByCode(code)
		return outcome{}, &channels.Error{Code: channels.CodeRejected, Message: fmt.Sprintf("the Discord gateway closed the session: %d %s", code, ce.Description), Permanent: true}
	}
	return outcome{ready: ready, cause: fmt.Errorf("gateway connection: %w", err)}, nil
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
