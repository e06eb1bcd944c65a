package live

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/agentbot/gateway/core/api"
)

// SubprotocolPrefix marks the WebSocket subprotocol that carries the token
// ("agentbot.token.<token>"), for browsers, which cannot set headers on a
// WebSocket. The server echoes it, as browsers require of an offered
// subprotocol.
const SubprotocolPrefix = "agentbot.token."

// maxToken bounds a token before it reaches Tokens: instance tokens are 64
// characters, and a resolver need not see megabytes of guesses.
const maxToken = 256

// Handle opens the live socket of agentID. Everything that can be refused is
// refused before the upgrade, as a JSON error: a request that is not a
// WebSocket handshake (426), a missing, conflicting or wrong instance token
// (401), too many sockets of the agent on this node (429), a server shutting
// down (503). The token comes from "Authorization: Bearer", the subprotocol
// SubprotocolPrefix+token, or the token query parameter; two carriers with
// different tokens are refused. After the upgrade Handle serves the socket
// until it closes and returns nil.
func (s *Server) Handle(w http.ResponseWriter, r *http.Request, agentID string) error {
	if err := handshake(r); err != nil {
		return err
	}
	token, subprotocol, err := tokenFrom(r)
	if err != nil {
		return err
	}
	p, err := s.tokens.Resolve(r.Context(), agentID, token)
	if err != nil {
		var ae *api.Error
		switch {
		case errors.Is(err, ErrTokenInvalid):
			return api.CodeInstanceTokenInvalid.Err()
		case errors.As(err, &ae):
			return err
		}
		return api.Internal(fmt.Errorf("live: resolving an instance token: %w", err))
	}
	if p.AgentID != agentID {
		// A resolver's mistake must not open another agent's events.
		return api.CodeInstanceTokenInvalid.Err()
	}
	release, ok, full := s.admit(agentID)
	switch {
	case full:
		return api.Errorf(http.StatusTooManyRequests, api.CodeTooManyConnections,
			"This agent has %d live connections on this server already; close one", s.lim.SocketsPerAgent)
	case !ok:
		return api.CodeShuttingDown.Err()
	}
	defer release()

	// Subscribe before the upgrade: a hub failure is still an HTTP error,
	// and nothing published after the client sees "connected" is missed.
	sctx, cancel := context.WithTimeout(r.Context(), s.lim.SubscribeTimeout)
	events, unsubscribe, err := s.hub.Subscribe(sctx, agentID)
	cancel()
	if errors.Is(err, ErrClosed) {
		return api.CodeShuttingDown.Err()
	}
	if err != nil {
		return api.Internal(fmt.Errorf("live: subscribing to agent %s: %w", agentID, err))
	}
	defer unsubscribe()

	// net/http leaves the server's whole-request deadlines on a hijacked
	// connection; a socket lives longer, bounded by its own write timeout
	// and pings instead.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})

	opts := &websocket.AcceptOptions{
		// Any origin may connect: the credential is the instance token,
		// which the client sends itself (header, query or subprotocol) and
		// which was checked above. A browser never attaches it on its own
		// as it does a cookie, so a foreign page cannot ride on a user's
		// session (no CSRF); it can connect only if it holds the secret,
		// and then the origin adds nothing.
		InsecureSkipVerify: true,
	}
	if subprotocol != "" {
		opts.Subprotocols = []string{subprotocol}
	}
	conn, err := websocket.Accept(w, r, opts)
	if err != nil {
		// Accept has answered (a malformed handshake).
		s.log.DebugContext(r.Context(), "live: upgrade failed", "agent", agentID, "err", err)
		return nil
	}
	s.serve(conn, p, events)
	return nil
}

// handshake refuses, as JSON, requests that are not a WebSocket handshake of
// the version spoken here; the finer checks are Accept's.
func handshake(r *http.Request) error {
	if !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", "websocket") {
		return api.Errorf(http.StatusUpgradeRequired, api.CodeUpgradeRequired,
			"This endpoint speaks WebSocket only; open it with a WebSocket client")
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		e := api.Errorf(http.StatusUpgradeRequired, api.CodeUpgradeRequired, "Only WebSocket version 13 is spoken here")
		e.Header = http.Header{"Sec-WebSocket-Version": {"13"}}
		return e
	}
	return nil
}

// tokenFrom finds the instance token, and the subprotocol to echo when it
// came in one.
func tokenFrom(r *http.Request) (token, subprotocol string, err error) {
	var found []string
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
		found = append(found, strings.TrimSpace(a[7:]))
	}
	for _, p := range headerTokens(r.Header, "Sec-WebSocket-Protocol") {
		if t, ok := strings.CutPrefix(p, SubprotocolPrefix); ok && t != "" {
			found = append(found, t)
			subprotocol = p
			break
		}
	}
	if t := r.URL.Query().Get("token"); t != "" {
		found = append(found, t)
	}
	if len(found) == 0 || found[0] == "" {
		return "", "", api.Unauthorized(api.CodeInstanceTokenInvalid,
			"An instance token is required: Authorization: Bearer <token>, the token query parameter, or the subprotocol "+SubprotocolPrefix+"<token>")
	}
	for _, t := range found[1:] {
		if t != found[0] {
			return "", "", api.Unauthorized(api.CodeInstanceTokenInvalid, "The request carries two different instance tokens")
		}
	}
	if len(found[0]) > maxToken {
		return "", "", api.CodeInstanceTokenInvalid.Err()
	}
	return found[0], subprotocol, nil
}

// headerTokens splits the comma-separated values of header key.
func headerTokens(h http.Header, key string) []string {
	var out []string
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

func headerHas(h http.Header, key, token string) bool {
	for _, t := range headerTokens(h, key) {
		if strings.EqualFold(t, token) {
			return true
		}
	}
	return false
}
