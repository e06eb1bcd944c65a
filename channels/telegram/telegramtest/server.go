// Package telegramtest is a fake Telegram Bot API for tests: a loopback HTTP
// server that answers getMe, getUpdates, sendMessage, setWebhook and
// deleteWebhook the way api.telegram.org does, with real long-poll
// semantics (a getUpdates call blocks until an update arrives or its
// timeout passes, a second concurrent poller ends the first with 409, a set
// webhook makes getUpdates 409 and receives the updates as POSTs instead),
// plus hooks to play a user (UserMessage), to deliver an update twice
// (Redeliver), and to inject faults (RateLimit, FailNext, Stall, Block).
//
// Every method is safe for concurrent use. Bots are addressed by token; a
// method given a token that AddBot never added panics, since that is a bug
// in the test itself.
package telegramtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// firstUpdateID is the first update_id the fake hands out for each bot;
// Telegram's ids are large and start anywhere, never at 0 or 1.
const firstUpdateID = 100000

// Server is a fake Telegram Bot API on 127.0.0.1.
type Server struct {
	srv    *httptest.Server
	hook   *http.Client // webhook deliveries
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // webhook delivery loops
	once   sync.Once

	mu   sync.Mutex
	bots map[string]*bot
}

// SentMessage is one message a bot sent with sendMessage.
type SentMessage struct {
	ChatID    int64
	MessageID int64
	Text      string
	// ReplyTo is reply_parameters.message_id (0: none).
	ReplyTo int64
	// AllowWithoutReply is reply_parameters.allow_sending_without_reply.
	AllowWithoutReply bool
	// ParseMode is the parse_mode the call asked for ("" for plain text).
	ParseMode string
}

// WebhookInfo is a bot's webhook as the last setWebhook left it (URL ""
// when none is set).
type WebhookInfo struct {
	URL            string
	Secret         string
	MaxConnections int
	AllowedUpdates []string
}

// update is one stored update: its id, its kind (the field next to
// update_id: "message", "edited_message", …) and its JSON.
type update struct {
	id   int64
	kind string
	raw  json.RawMessage
}

// fault is a queued failure of one method.
type fault struct {
	code       int
	desc       string
	retryAfter int
}

type bot struct {
	token    string
	id       int64
	username string

	nextUpdate int64
	history    map[int64]update // every update ever made, for Redeliver
	pending    []int64          // unconfirmed update ids, ascending
	failed     map[int64]bool   // pending updates the webhook gave up on
	nextMsg    map[int64]int64  // chat id → last message_id used
	chats      map[int64]bool   // chats the bot may write to
	blocked    map[int64]bool   // chats whose user blocked the bot

	webhook  WebhookInfo
	inflight int64 // the update the webhook loop is delivering (0: none)
	again    bool  // inflight was redelivered meanwhile: keep it pending

	sent   []SentMessage
	faults map[string][]fault // method → queued failures
	stall  bool

	poller    *poller // the getUpdates call now waiting, if any
	offsets   []int64 // the offset of every getUpdates call
	calls     map[string]int
	polls     int // getUpdates calls answered ok:true
	conflicts int // getUpdates calls answered 409
	abandoned int // getUpdates calls the client gave up on

	// changed is closed and replaced whenever the bot's state changes; long
	// polls, WaitSent and the webhook loop wait on it.
	changed chan struct{}
}

// poller is one waiting getUpdates call; kill ends it with 409.
type poller struct {
	kill   chan struct{}
	reason string
}

// New starts a fake on a loopback port; it is closed when the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		hook:   &http.Client{Timeout: 5 * time.Second},
		ctx:    ctx,
		cancel: cancel,
		bots:   make(map[string]*bot),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.Close)
	return s
}

// URL is the server's base URL, for the driver's server URL option
// (requests go to URL()+"/bot<token>/<method>").
func (s *Server) URL() string { return s.srv.URL }

// Close ends waiting long polls and webhook deliveries and stops the
// server. It is safe to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		s.cancel()
		s.srv.Close()
		s.wg.Wait()
	})
}

// AddBot makes token a valid bot token, answering getMe with id and
// username (without the @).
func (s *Server) AddBot(token string, id int64, username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.bots[token]; ok {
		panic(fmt.Sprintf("telegramtest: AddBot: bot %q added twice", token))
	}
	b := &bot{
		token:      token,
		id:         id,
		username:   username,
		nextUpdate: firstUpdateID,
		history:    make(map[int64]update),
		failed:     make(map[int64]bool),
		nextMsg:    make(map[int64]int64),
		chats:      make(map[int64]bool),
		blocked:    make(map[int64]bool),
		faults:     make(map[string][]fault),
		calls:      make(map[string]int),
		changed:    make(chan struct{}),
	}
	s.bots[token] = b
	s.wg.Add(1)
	go s.deliverLoop(b)
}

// mustBot returns token's bot; s.mu is held.
func (s *Server) mustBot(token string) *bot {
	b, ok := s.bots[token]
	if !ok {
		panic(fmt.Sprintf("telegramtest: no bot with token %q (call AddBot first)", token))
	}
	return b
}

// touch wakes everyone waiting on b; s.mu is held.
func (b *bot) touch() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// UserMessage plays a user: fromID sends text to the bot in chatID (a
// private chat when chatID > 0, a supergroup otherwise). The user is
// {id: fromID, is_bot: false, first_name: "User", last_name: "<fromID>",
// username: "user<fromID>"}. The update is queued for getUpdates, waking a
// waiting poller, or, when a webhook is set, POSTed to it in order (see
// Redeliver). The chat becomes one the bot may send to. It returns the
// update's update_id; the message's message_id is the chat's next one,
// starting at 1.
func (s *Server) UserMessage(token string, chatID, fromID int64, text string) (updateID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.mustBot(token)
	b.chats[chatID] = true
	b.nextMsg[chatID]++
	msg := map[string]any{
		"message_id": b.nextMsg[chatID],
		"from": map[string]any{
			"id": fromID, "is_bot": false, "first_name": "User",
			"last_name": fmt.Sprint(fromID), "username": fmt.Sprintf("user%d", fromID),
		},
		"chat": chatObject(chatID),
		"date": time.Now().Unix(),
		"text": text,
	}
	return b.push(map[string]any{"message": msg})
}

// PushUpdate queues any update: fields is the update without update_id
// (e.g. {"edited_message": {...}} or {"message": {... "photo": [...]}}),
// which the fake numbers and returns. It is delivered like UserMessage's.
func (s *Server) PushUpdate(token string, fields map[string]any) (updateID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustBot(token).push(fields)
}

// AddChat makes chatID a chat the bot may send to, without a message.
func (s *Server) AddChat(token string, chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustBot(token).chats[chatID] = true
}

// Block plays the user of chatID blocking the bot (on true) or unblocking
// it: sendMessage there answers 403 "Forbidden: bot was blocked by the
// user".
func (s *Server) Block(token string, chatID int64, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustBot(token).blocked[chatID] = on
}

// push numbers and queues an update; s.mu is held.
func (b *bot) push(fields map[string]any) int64 {
	b.nextUpdate++
	id := b.nextUpdate
	u := map[string]any{"update_id": id}
	kind := ""
	for k, v := range fields {
		if k == "update_id" {
			continue
		}
		u[k] = v
		if kind == "" || k < kind { // deterministic for odd multi-field updates
			kind = k
		}
	}
	raw, err := json.Marshal(u)
	if err != nil {
		panic(fmt.Sprintf("telegramtest: update not JSON: %v", err))
	}
	b.history[id] = update{id: id, kind: kind, raw: raw}
	b.pending = append(b.pending, id) // ids only grow
	b.touch()
	return id
}

// Redeliver delivers update updateID again, as Telegram does when an
// acknowledgement is lost: it goes back into the pending queue even if it
// was confirmed, with its original update_id. When a webhook is set it is
// POSTed again; a poller receives it only if it asks with an offset at or
// below updateID (a poller whose offset is already past it confirms it
// away, exactly as with Telegram) — so, to replay a poller's duplicate,
// restart the poller from an older offset.
func (s *Server) Redeliver(token string, updateID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.mustBot(token)
	if _, ok := b.history[updateID]; !ok {
		panic(fmt.Sprintf("telegramtest: Redeliver: bot %q has no update %d", token, updateID))
	}
	delete(b.failed, updateID)
	if b.inflight == updateID {
		b.again = true
	}
	if i, found := slices.BinarySearch(b.pending, updateID); !found {
		b.pending = slices.Insert(b.pending, i, updateID)
	}
	b.touch()
}

// Sent returns the messages the bot sent, oldest first.
func (s *Server) Sent(token string) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mustBot(token).sent)
}

// WaitSent waits until the bot has sent at least n messages and returns
// them all, or returns ctx's error.
func (s *Server) WaitSent(ctx context.Context, token string, n int) ([]SentMessage, error) {
	for {
		s.mu.Lock()
		b := s.mustBot(token)
		if len(b.sent) >= n {
			sent := slices.Clone(b.sent)
			s.mu.Unlock()
			return sent, nil
		}
		ch := b.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("telegramtest: waiting for %d sent messages: %w", n, ctx.Err())
		}
	}
}

// RateLimit makes the bot's next n sendMessage calls answer 429 "Too Many
// Requests: retry after <retryAfter>" with parameters.retry_after.
func (s *Server) RateLimit(token string, n, retryAfter int) {
	s.RateLimitMethod(token, "sendMessage", n, retryAfter)
}

// RateLimitMethod is RateLimit for any method (e.g. "getUpdates"). Like
// FailNext, it queues behind earlier faults of the method.
func (s *Server) RateLimitMethod(token, method string, n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.mustBot(token)
	for range n {
		b.faults[method] = append(b.faults[method], fault{code: http.StatusTooManyRequests,
			desc: "Too Many Requests: retry after " + strconv.Itoa(retryAfter), retryAfter: retryAfter})
	}
}

// FailNext makes the bot's next n calls of method (e.g. "getMe",
// "getUpdates") answer {ok:false, error_code: code, description} with HTTP
// status code. Faults queue up behind earlier ones.
func (s *Server) FailNext(token, method string, n, code int, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("telegramtest: FailNext: error code %d is not 4xx or 5xx", code))
	}
	b := s.mustBot(token)
	for range n {
		b.faults[method] = append(b.faults[method], fault{code: code, desc: description})
	}
}

// Stall makes getUpdates calls that arrive while it is on hang without an
// answer until the client gives up (counted by Abandoned) or Stall is
// turned off, when a hanging call carries on as usual: a dead connection,
// for watchdog tests. A call already waiting is not affected. A stalled
// call is not the bot's poller, so it never causes a 409.
func (s *Server) Stall(token string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.mustBot(token)
	b.stall = on
	b.touch()
}

// Polls counts getUpdates calls answered ok:true (completed polls, with or
// without updates).
func (s *Server) Polls(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustBot(token).polls
}

// Conflicts counts getUpdates calls answered 409 (ended by a newer poller
// or by setWebhook, or refused while a webhook is set).
func (s *Server) Conflicts(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustBot(token).conflicts
}

// Abandoned counts getUpdates calls the client gave up on (closed the
// connection) before an answer: stalled ones, or polls cut short.
func (s *Server) Abandoned(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustBot(token).abandoned
}

// Offsets returns the offset parameter of every getUpdates call, in order
// of arrival (0 when the call sent none).
func (s *Server) Offsets(token string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mustBot(token).offsets)
}

// Calls counts the bot's calls of method (as spelled in the URL, e.g.
// "getMe"), whatever their outcome.
func (s *Server) Calls(token, method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustBot(token).calls[method]
}

// Pending counts the bot's unconfirmed updates: not yet confirmed by a
// getUpdates offset, nor acknowledged 2xx by the webhook.
func (s *Server) Pending(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mustBot(token).pending)
}

// Webhook returns the bot's webhook as setWebhook left it.
func (s *Server) Webhook(token string) WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.mustBot(token).webhook
	w.AllowedUpdates = slices.Clone(w.AllowedUpdates)
	return w
}

// chatObject is the chat of a message in chatID.
func chatObject(chatID int64) map[string]any {
	if chatID > 0 {
		return map[string]any{"id": chatID, "type": "private", "first_name": "User"}
	}
	return map[string]any{"id": chatID, "type": "supergroup", "title": fmt.Sprintf("Group %d", -chatID)}
}
