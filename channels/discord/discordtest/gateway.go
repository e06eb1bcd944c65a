package discordtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// gwConn is one Gateway WebSocket connection. Frames go out in order
// through a queue drained by one writer goroutine, so that nothing
// writes to the network while holding s.mu.
type gwConn struct {
	ws   *websocket.Conn
	wake chan struct{}

	// Guarded by Server.mu.
	queue []outFrame
	bot   *bot     // set by a successful Identify or Resume
	sess  *session // nil after InvalidateSession
}

// outFrame is a text frame, or a close frame when code is not 0.
type outFrame struct {
	data   []byte
	code   websocket.StatusCode
	reason string
}

// enqueue queues a frame; s.mu is held.
func (c *gwConn) enqueue(f outFrame) {
	c.queue = append(c.queue, f)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// send queues a payload; s.mu is held.
func (c *gwConn) send(op int, t string, seq int64, d any) {
	p := map[string]any{"op": op, "d": d, "s": nil, "t": nil}
	if op == opDispatch {
		p["s"], p["t"] = seq, t
	}
	data, _ := json.Marshal(p)
	c.enqueue(outFrame{data: data})
}

func (s *Server) writer(c *gwConn) {
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-c.wake:
		}
		s.mu.Lock()
		q := c.queue
		c.queue = nil
		s.mu.Unlock()
		for _, f := range q {
			if f.code != 0 {
				_ = c.ws.Close(f.code, f.reason)
				return
			}
			ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
			err := c.ws.Write(ctx, websocket.MessageText, f.data)
			cancel()
			if err != nil {
				_ = c.ws.CloseNow()
				return
			}
		}
	}
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	// Counted before the hijack, while httptest.Server.Close still waits
	// for this request, so that close's Wait follows every Add.
	s.handlers.Add(1)
	defer s.handlers.Done()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(1 << 20)
	c := &gwConn{ws: ws, wake: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.writer(c)
	}()
	defer func() {
		_ = ws.CloseNow()
		s.mu.Lock()
		s.detach(c)
		delete(s.conns, c)
		s.notify()
		s.mu.Unlock()
		<-done
	}()

	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return
	}
	s.conns[c] = struct{}{}
	c.send(opHello, "", 0, map[string]any{"heartbeat_interval": s.interval.Milliseconds()})
	s.mu.Unlock()

	for {
		_, data, err := ws.Read(s.ctx)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.handle(c, data)
		s.notify()
		s.mu.Unlock()
	}
}

// detach unbinds c from its session, which stays resumable; s.mu is held.
func (s *Server) detach(c *gwConn) {
	if c.sess != nil && c.sess.conn == c {
		c.sess.conn = nil
	}
	c.sess = nil
	c.bot = nil
}

// handle answers one client payload; s.mu is held.
func (s *Server) handle(c *gwConn, data []byte) {
	var p struct {
		Op int             `json:"op"`
		D  json.RawMessage `json:"d"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		c.enqueue(outFrame{code: 4002, reason: "Error while decoding payload."})
		return
	}
	switch p.Op {
	case opHeartbeat:
		if c.bot != nil {
			if c.bot.acksPaused {
				return
			}
			c.bot.acks++
		}
		c.send(opHeartbeatACK, "", 0, nil)
	case opIdentify:
		var id struct {
			Token   string `json:"token"`
			Intents int    `json:"intents"`
		}
		_ = json.Unmarshal(p.D, &id)
		b := s.bots[id.Token]
		switch {
		case b == nil || !b.isBot:
			c.enqueue(outFrame{code: 4004, reason: "Authentication failed."})
			return
		case c.bot != nil:
			c.enqueue(outFrame{code: 4005, reason: "Already authenticated."})
			return
		}
		b.identifies++
		b.intents = id.Intents
		sess := &session{id: randomID(), bot: b}
		b.sessions[sess.id] = sess
		s.attach(c, sess)
		sess.seq++
		c.send(opDispatch, "READY", sess.seq, map[string]any{
			"v": 10, "user": b.user(), "guilds": []any{}, "session_id": sess.id,
			"resume_gateway_url": s.ResumeURL(), "shard": []int{0, 1},
			"application": map[string]any{"id": b.id, "flags": 0},
		})
		backlog := b.backlog
		b.backlog = nil
		for _, e := range backlog {
			s.dispatch(b, e.t, e.d)
		}
	case opResume:
		var rs struct {
			Token     string `json:"token"`
			SessionID string `json:"session_id"`
			Seq       int64  `json:"seq"`
		}
		_ = json.Unmarshal(p.D, &rs)
		b := s.bots[rs.Token]
		if b == nil || !b.isBot {
			c.enqueue(outFrame{code: 4004, reason: "Authentication failed."})
			return
		}
		sess := b.sessions[rs.SessionID]
		if sess == nil {
			c.send(opInvalidSession, "", 0, false)
			return
		}
		b.resumes++
		if old := sess.conn; old != nil && old != c {
			s.detach(old)
			_ = old.ws.CloseNow()
		}
		s.attach(c, sess)
		for _, e := range sess.events {
			if e.seq > rs.Seq {
				c.send(opDispatch, e.t, e.seq, e.d)
			}
		}
		sess.seq++
		c.send(opDispatch, "RESUMED", sess.seq, map[string]any{})
	}
}

// attach binds c to sess; s.mu is held.
func (s *Server) attach(c *gwConn, sess *session) {
	c.bot, c.sess, sess.conn = sess.bot, sess, c
}

// dispatch sends an event to every session of b, kept for their
// resumes, or keeps it for b's next session if it has none; s.mu is
// held.
func (s *Server) dispatch(b *bot, t string, d json.RawMessage) {
	if len(b.sessions) == 0 {
		b.backlog = append(b.backlog, event{t: t, d: d})
		return
	}
	for _, sess := range b.sessions {
		sess.seq++
		sess.events = append(sess.events, event{seq: sess.seq, t: t, d: d})
		if sess.conn != nil {
			sess.conn.send(opDispatch, t, sess.seq, d)
		}
	}
	s.notify()
}

// liveConns returns the open connections of the bot of token; s.mu is
// held.
func (s *Server) liveConns(token string) []*gwConn {
	b := s.bot(token)
	var cs []*gwConn
	for c := range s.conns {
		if b != nil && c.bot == b {
			cs = append(cs, c)
		}
	}
	return cs
}

// MessageOption shapes a UserMessage.
type MessageOption func(*userMessage)

type userMessage struct {
	guildID    string
	mention    bool
	authorName string
	authorBot  bool
	at         time.Time
}

// InGuild makes the message a guild message (with guild_id) rather than
// a DM.
func InGuild(guildID string) MessageOption {
	return func(m *userMessage) { m.guildID = guildID }
}

// MentioningBot adds the bot to the message's mentions and, unless the
// content already holds <@id> or <@!id>, puts "<@id> " before it.
func MentioningBot() MessageOption {
	return func(m *userMessage) { m.mention = true }
}

// AuthorName sets the author's username (default "user-<authorID>").
func AuthorName(name string) MessageOption {
	return func(m *userMessage) { m.authorName = name }
}

// ByBot flags the author as a bot. A message whose author is the bot
// itself is flagged so anyway.
func ByBot() MessageOption {
	return func(m *userMessage) { m.authorBot = true }
}

// SentAt sets the message's timestamp (default now).
func SentAt(t time.Time) MessageOption {
	return func(m *userMessage) { m.at = t }
}

// UserMessage has authorID write content in channelID — a DM unless
// InGuild — dispatches MESSAGE_CREATE to the bot of token, and returns
// the new message's id. A bot with no Gateway session gets the dispatch
// after its next READY.
func (s *Server) UserMessage(token, channelID, authorID, content string, opts ...MessageOption) string {
	m := userMessage{authorName: "user-" + authorID, at: time.Now()}
	for _, o := range opts {
		o(&m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bot(token)
	if b == nil {
		return ""
	}
	id := s.newID()
	author := map[string]any{"id": authorID, "username": m.authorName, "discriminator": "0", "global_name": nil, "avatar": nil, "bot": m.authorBot}
	if authorID == b.id {
		author = b.user()
	}
	mentions := []any{}
	if m.mention {
		mentions = append(mentions, b.user())
		if !strings.Contains(content, "<@"+b.id+">") && !strings.Contains(content, "<@!"+b.id+">") {
			content = "<@" + b.id + "> " + content
		}
	}
	msg := map[string]any{
		"id": id, "channel_id": channelID, "type": 0, "content": content,
		"timestamp": m.at.UTC().Format("2006-01-02T15:04:05.000000-07:00"), "edited_timestamp": nil,
		"author": author, "mentions": mentions, "mention_roles": []any{}, "mention_everyone": false,
		"attachments": []any{}, "embeds": []any{}, "pinned": false, "tts": false, "flags": 0,
	}
	if m.guildID != "" {
		msg["guild_id"] = m.guildID
	}
	d, _ := json.Marshal(msg)
	b.messages[id] = d
	s.dispatch(b, "MESSAGE_CREATE", d)
	return id
}

// Redeliver dispatches the MESSAGE_CREATE of messageID again, as a new
// event with a new sequence number.
func (s *Server) Redeliver(token, messageID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bot(token)
	if b == nil {
		return
	}
	d, ok := b.messages[messageID]
	if !ok {
		s.tb.Errorf("discordtest: Redeliver: no message %s", messageID)
		return
	}
	s.dispatch(b, "MESSAGE_CREATE", d)
}

// Dispatch sends an event of type t with payload d to the bot's sessions
// as UserMessage does (for events the driver should ignore).
func (s *Server) Dispatch(token, t string, d json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bot(token); b != nil {
		s.dispatch(b, t, d)
	}
}

// SendRaw writes payload as one text frame on every open connection of
// the bot, outside the sequence (for hostile frames).
func (s *Server) SendRaw(token string, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.liveConns(token) {
		c.enqueue(outFrame{data: slices.Clone(payload)})
	}
}

// DropConnection closes the bot's connections abruptly, without a close
// frame; their sessions stay resumable and keep the dispatches made
// meanwhile.
func (s *Server) DropConnection(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.liveConns(token) {
		s.detach(c)
		_ = c.ws.CloseNow()
	}
	s.notify()
}

// Reconnect sends op 7 Reconnect on the bot's connections.
func (s *Server) Reconnect(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.liveConns(token) {
		c.send(opReconnect, "", 0, nil)
	}
}

// InvalidateSession ends the bot's sessions: its connections get op 9
// with d false, and none of the sessions can be resumed.
func (s *Server) InvalidateSession(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bot(token)
	if b == nil {
		return
	}
	for _, c := range s.liveConns(token) {
		c.send(opInvalidSession, "", 0, false)
		c.sess = nil
	}
	clear(b.sessions)
	s.notify()
}

// PauseAcks stops (true) or resumes (false) answering the bot's
// heartbeats, making its connections look dead.
func (s *Server) PauseAcks(token string, paused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bot(token); b != nil {
		b.acksPaused = paused
	}
}

func (s *Server) counter(token string, f func(*bot) int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bot(token); b != nil {
		return f(b)
	}
	return 0
}

// Identifies counts the bot's successful Identify payloads.
func (s *Server) Identifies(token string) int {
	return s.counter(token, func(b *bot) int { return b.identifies })
}

// Resumes counts the bot's Resumes of a live session.
func (s *Server) Resumes(token string) int {
	return s.counter(token, func(b *bot) int { return b.resumes })
}

// Acks counts the heartbeat ACKs sent to the bot.
func (s *Server) Acks(token string) int {
	return s.counter(token, func(b *bot) int { return b.acks })
}

// Intents is the intents of the bot's last Identify.
func (s *Server) Intents(token string) int {
	return s.counter(token, func(b *bot) int { return b.intents })
}

// Sessions counts the bot's open connections that identified or resumed.
func (s *Server) Sessions(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.liveConns(token))
}

// WaitSessions waits until the bot has exactly n open connections that
// identified or resumed, or ctx ends.
func (s *Server) WaitSessions(ctx context.Context, token string, n int) error {
	return s.Wait(ctx, func() bool { return s.Sessions(token) == n })
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
