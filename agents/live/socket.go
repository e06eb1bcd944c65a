package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/agentbot/gateway/core/api"
)

// serve runs one upgraded socket until it closes. Its goroutines: this one
// reads client frames, forward writes hub events, keepalive pings and
// watches for shutdown, and each running chat has one; all end before serve
// returns.
func (s *Server) serve(conn *websocket.Conn, p Principal, events <-chan []byte) {
	conn.SetReadLimit(s.lim.MaxFrame)
	s.track(conn)
	defer s.untrack(conn)
	// The socket's own lifetime: the request's context must not be used
	// once the connection is hijacked.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		_ = conn.CloseNow()
		wg.Wait()
	}()
	if s.write(ctx, conn, frame(connectedFrame{Type: "connected", AgentID: p.AgentID})) != nil {
		return
	}
	wg.Go(func() { s.forward(ctx, conn, events) })
	wg.Go(func() { s.keepalive(ctx, conn) })
	s.read(ctx, conn, p, &wg)
}

// read handles client frames until the connection fails or closes (by the
// peer, an oversized frame, a failed write or ping, or shutdown).
func (s *Server) read(ctx context.Context, conn *websocket.Conn, p Principal, wg *sync.WaitGroup) {
	rate := newBucket(s.lim.Frames, s.lim.FrameWindow, time.Now())
	chats := make(chan struct{}, s.lim.ChatsPerSocket)
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if !rate.take(time.Now()) {
			s.writeError(ctx, conn, api.Errorf(http.StatusTooManyRequests, api.CodeRateLimited,
				"At most %d frames per %s on one connection", s.lim.Frames, s.lim.FrameWindow))
			continue
		}
		var f inFrame
		if err := json.Unmarshal(data, &f); err != nil {
			s.writeError(ctx, conn, api.BadRequest(api.CodeInvalidJSON, "A frame is a JSON object with a type"))
			continue
		}
		switch f.Type {
		case "ping":
			_ = s.write(ctx, conn, []byte(`{"type":"pong"}`))
		case "chat":
			if strings.TrimSpace(f.Message) == "" {
				s.writeError(ctx, conn, api.Validation("A chat frame needs a message"))
				continue
			}
			select {
			case chats <- struct{}{}:
			default:
				s.writeError(ctx, conn, api.CodeBusy.Err())
				continue
			}
			wg.Go(func() {
				err := s.chat(ctx, p, f)
				<-chats // free before the error frame: a client told of the end may chat again
				if err != nil && ctx.Err() == nil {
					s.writeError(ctx, conn, s.chatError(ctx, p, err))
				}
			})
		default:
			s.writeError(ctx, conn, api.Validation(`Unknown frame type; send "chat" or "ping"`))
		}
	}
}

// chat calls the Chatter; a panic in it must not take the process down,
// since this goroutine is not under net/http's recovery.
func (s *Server) chat(ctx context.Context, p Principal, f inFrame) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("live: chat panicked: %v", v)
		}
	}()
	return s.chatter.Chat(ctx, p, f.Message, f.Topic)
}

// chatError is what the client is told of a failed chat; like the HTTP
// adapter, it logs 5xx causes and never sends them.
func (s *Server) chatError(ctx context.Context, p Principal, err error) *api.Error {
	e := api.AsError(err)
	if e.Status >= 500 {
		s.log.ErrorContext(ctx, "live: chat failed", "agent", p.AgentID, "code", e.Code, "err", err)
	}
	return e
}

// forward writes the agent's events until the socket ends. The end of the
// subscription ends the socket: after DroppedEvent the client must
// reconnect (StatusTryAgainLater); otherwise the hub closed (going away).
func (s *Server) forward(ctx context.Context, conn *websocket.Conn, events <-chan []byte) {
	dropped := false
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				if dropped {
					_ = conn.Close(websocket.StatusTryAgainLater, "events dropped; reconnect")
				} else {
					_ = conn.Close(websocket.StatusGoingAway, "event stream ended")
				}
				return
			}
			dropped = string(ev) == DroppedEvent
			if s.write(ctx, conn, ev) != nil {
				return
			}
		}
	}
}

// keepalive pings every Keepalive; a peer that does not answer within
// WriteTimeout is cut off. On shutdown it closes the socket with
// StatusGoingAway.
func (s *Server) keepalive(ctx context.Context, conn *websocket.Conn) {
	t := time.NewTicker(s.lim.Keepalive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.shutdown:
			_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, s.lim.WriteTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				_ = conn.CloseNow()
				return
			}
		}
	}
}

// write sends one text frame within WriteTimeout; on failure the library
// has closed the connection, which ends the read loop.
func (s *Server) write(ctx context.Context, conn *websocket.Conn, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.lim.WriteTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, b)
}

func (s *Server) writeError(ctx context.Context, conn *websocket.Conn, e *api.Error) {
	_ = s.write(ctx, conn, frame(errorFrame{Type: "error", Code: e.Code, Error: e.Message}))
}
