package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel binding modes: how a binding receives.
const (
	ChannelPolling = "polling" // Telegram getUpdates, under a lease
	ChannelWebhook = "webhook" // deliveries over HTTP, any node
	ChannelGateway = "gateway" // a Discord Gateway session, under a lease
)

// Channel binding states, as the node running it last saw them.
const (
	ChannelPending    = "pending"    // no node has started it yet
	ChannelConnecting = "connecting" // a node holds the lease and is connecting
	ChannelConnected  = "connected"  // its session completed a poll or an acked heartbeat
	ChannelStalled    = "stalled"    // the watchdog found no completed poll in time
	ChannelError      = "error"      // the last attempt failed (see LastError)
	ChannelStopped    = "stopped"    // the agent is not running
)

// Inbound message states.
const (
	InboundPending  = "pending"
	InboundRunning  = "running"
	InboundAnswered = "answered"
	InboundIgnored  = "ignored"
	InboundFailed   = "failed"
)

// ChannelBinding is one agent's connection on one channel.
type ChannelBinding struct {
	ID          string
	UserID      string
	AgentID     string
	Kind        string
	ExternalID  string
	DisplayName string
	// Credential is sealed (core/secrets); only the node that runs the
	// binding opens it.
	Credential    []byte
	Preview       string
	AllowFrom     []string
	Mode          string
	Offset        int64
	Resume        []byte
	State         string
	LastInboundAt *time.Time
	LastAliveAt   *time.Time
	LastError     string
	LastErrorAt   *time.Time
	Restarts      int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// NewChannelBinding is a binding to create with its agent.
type NewChannelBinding struct {
	Kind, ExternalID, DisplayName string
	Credential                    []byte
	Preview                       string
	AllowFrom                     []string
	Mode                          string
}

// ChannelInUseError refuses a bot already bound to an agent (any owner's).
type ChannelInUseError struct{ Kind string }

func (e *ChannelInUseError) Error() string {
	return fmt.Sprintf("store: this %s bot is already connected to an agent", e.Kind)
}

// ErrLeaseLost: the write was fenced off; another node holds the lease.
var ErrLeaseLost = errors.New("store: the channel lease is held by another node")

// Lease is a node's hold on a binding's receiver.
type Lease struct {
	Owner string
	Epoch int64
}

const channelColumns = `id, user_id, agent_id, kind, external_id, display_name, credential, preview, allow_from, mode,
	poll_offset, resume, state, last_inbound_at, last_alive_at, last_error, last_error_at, restarts, created_at, updated_at`

func scanChannel(r row) (*ChannelBinding, error) {
	var b ChannelBinding
	var allow string
	err := r.Scan(&b.ID, &b.UserID, &b.AgentID, &b.Kind, &b.ExternalID, &b.DisplayName, &b.Credential, &b.Preview, &allow,
		&b.Mode, &b.Offset, &b.Resume, &b.State, &b.LastInboundAt, &b.LastAliveAt, &b.LastError, &b.LastErrorAt,
		&b.Restarts, &b.CreatedAt, &b.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if allow != "" {
		b.AllowFrom = strings.Split(allow, ",")
	}
	return &b, nil
}

// CreateChannelAgent creates a running agent and its channel bindings in one
// transaction, within the owner's agent limit (limit < 0: unlimited; over
// it, an *AgentLimitError). A bot already bound anywhere is a
// *ChannelInUseError and nothing is created.
func (s *Store) CreateChannelAgent(ctx context.Context, userID string, n NewAgent, limit int64,
	bindings []NewChannelBinding) (*Agent, []ChannelBinding, error) {
	now := s.now()
	var a *Agent
	var out []ChannelBinding
	err := s.write(ctx, userID, func(q querier) error {
		var err error
		if a, err = s.createAgent(ctx, q, userID, n, limit, now); err != nil {
			return err
		}
		if a, err = scanAgent(q.QueryRow(ctx, `UPDATE agents SET status = $3, started_at = $4, updated_at = $4
			WHERE id = $1 AND user_id = $2 RETURNING `+agentColumns, a.ID, userID, AgentRunning, now)); err != nil {
			return err
		}
		for _, nb := range bindings {
			if strings.ContainsRune(strings.Join(nb.AllowFrom, ""), ',') {
				return fmt.Errorf("store: a channel sender id holds a comma")
			}
			b, err := scanChannel(q.QueryRow(ctx, `INSERT INTO channel_bindings (id, user_id, agent_id, kind, external_id,
				display_name, credential, preview, allow_from, mode, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING `+channelColumns,
				newID("chn_"), userID, a.ID, nb.Kind, nb.ExternalID, nb.DisplayName, nb.Credential, nb.Preview,
				strings.Join(nb.AllowFrom, ","), nb.Mode, now))
			if errors.Is(err, ErrConflict) {
				return &ChannelInUseError{Kind: nb.Kind}
			}
			if err != nil {
				return err
			}
			out = append(out, *b)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return a, out, nil
}

// ChannelBindings lists an agent's bindings, oldest first.
func (s *Store) ChannelBindings(ctx context.Context, userID, agentID string) ([]ChannelBinding, error) {
	var out []ChannelBinding
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT `+channelColumns+` FROM channel_bindings
			WHERE user_id = $1 AND agent_id = $2 ORDER BY created_at, id`, userID, agentID)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (ChannelBinding, error) {
			b, err := scanChannel(r)
			if err != nil {
				return ChannelBinding{}, err
			}
			return *b, nil
		})
		return err
	})
	return out, err
}

// ChannelBinding returns one of the user's bindings.
func (s *Store) ChannelBinding(ctx context.Context, userID, id string) (*ChannelBinding, error) {
	var b *ChannelBinding
	err := s.readOne(ctx, userID, func(q querier) error {
		var err error
		b, err = scanChannel(q.QueryRow(ctx, `SELECT `+channelColumns+` FROM channel_bindings WHERE id = $1 AND user_id = $2`,
			id, userID))
		return err
	})
	return b, err
}

// ChannelBindingOwner is the owner of a binding, before any principal is
// known (a webhook delivery names only the binding). ErrNotFound if none.
func (s *Store) ChannelBindingOwner(ctx context.Context, id string) (string, error) {
	var userID string
	query := `SELECT user_id FROM channel_bindings WHERE id = $1`
	if _, ok := s.b.(*pgBackend); ok {
		query = `SELECT user_id FROM agentbot_lookup_channel_binding($1)`
	}
	err := s.b.system(ctx, func(q querier) error { return q.QueryRow(ctx, query, id).Scan(&userID) })
	return userID, err
}

// ChannelRef names a binding and its owner.
type ChannelRef struct{ ID, UserID string }

// ChannelReceivers lists the bindings whose receivers should run: those of
// running agents that receive through a session, not webhooks.
func (s *Store) ChannelReceivers(ctx context.Context) ([]ChannelRef, error) {
	query := `SELECT b.id, b.user_id FROM channel_bindings b JOIN agents a ON a.id = b.agent_id
		WHERE a.status = 'running' AND b.mode IN ('polling', 'gateway')`
	if _, ok := s.b.(*pgBackend); ok {
		query = `SELECT id, user_id FROM agentbot_channel_receivers()`
	}
	var out []ChannelRef
	err := s.b.system(ctx, func(q querier) error {
		rs, err := q.Query(ctx, query)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (ChannelRef, error) {
			var c ChannelRef
			return c, r.Scan(&c.ID, &c.UserID)
		})
		return err
	})
	return out, err
}

// AcquireChannelLease takes a binding's lease for owner until now+ttl when
// it is free or expired (a new epoch), or renews it when owner already
// holds it. ok is false while another node holds it.
func (s *Store) AcquireChannelLease(ctx context.Context, bindingID, owner string, ttl time.Duration) (Lease, bool, error) {
	now := s.now()
	l := Lease{Owner: owner}
	var got bool
	err := s.b.global(ctx, false, func(q querier) error {
		err := q.QueryRow(ctx, `INSERT INTO channel_leases (binding_id, owner, epoch, expires_at) VALUES ($1, $2, 1, $3)
			ON CONFLICT (binding_id) DO UPDATE
			SET owner = excluded.owner, expires_at = excluded.expires_at,
			    epoch = CASE WHEN channel_leases.owner = excluded.owner AND channel_leases.expires_at >= $4
			                 THEN channel_leases.epoch ELSE channel_leases.epoch + 1 END
			WHERE channel_leases.owner = excluded.owner OR channel_leases.expires_at < $4
			RETURNING epoch`, bindingID, owner, now.Add(ttl), now).Scan(&l.Epoch)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		got = err == nil
		return err
	})
	return l, got, err
}

// RenewChannelLease extends a held lease to now+ttl. false: it was lost
// (expired and taken, or revoked), and the holder must stop at once.
func (s *Store) RenewChannelLease(ctx context.Context, bindingID string, l Lease, ttl time.Duration) (bool, error) {
	now := s.now()
	var n int64
	err := s.b.global(ctx, false, func(q querier) error {
		var err error
		n, err = q.Exec(ctx, `UPDATE channel_leases SET expires_at = $4
			WHERE binding_id = $1 AND owner = $2 AND epoch = $3 AND expires_at >= $5`,
			bindingID, l.Owner, l.Epoch, now.Add(ttl), now)
		return err
	})
	return n == 1, err
}

// ReleaseChannelLease ends a held lease at once, so that any node may take
// it (with a new epoch) without waiting for it to expire.
func (s *Store) ReleaseChannelLease(ctx context.Context, bindingID string, l Lease) error {
	return s.b.global(ctx, false, func(q querier) error {
		_, err := q.Exec(ctx, `UPDATE channel_leases SET expires_at = $4 WHERE binding_id = $1 AND owner = $2 AND epoch = $3`,
			bindingID, l.Owner, l.Epoch, time.Unix(0, 0).UTC())
		return err
	})
}

// RestartChannels revokes the leases of an agent's bindings (their
// receivers stop wherever they run and start again), clears their last
// error and counts a restart. It returns how many bindings it touched.
func (s *Store) RestartChannels(ctx context.Context, userID, agentID string) (int64, error) {
	now := s.now()
	var n int64
	err := s.write(ctx, userID, func(q querier) error {
		var err error
		if n, err = q.Exec(ctx, `UPDATE channel_bindings SET restarts = restarts + 1, last_error = '', last_error_at = NULL,
			state = $3, updated_at = $4 WHERE user_id = $1 AND agent_id = $2`, userID, agentID, ChannelPending, now); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE channel_leases SET expires_at = $3 WHERE binding_id IN
			(SELECT id FROM channel_bindings WHERE user_id = $1 AND agent_id = $2)`, userID, agentID, time.Unix(0, 0).UTC())
		return err
	})
	return n, err
}

// fenced is the condition that the caller still holds the binding's lease
// (no condition for a zero Lease: $3 is empty).
const fenced = ` AND ($3 = '' OR EXISTS (SELECT 1 FROM channel_leases l WHERE l.binding_id = channel_bindings.id
	AND l.owner = $3 AND l.epoch = $4))`

// fencedUpdate sets columns of a binding (set's own arguments from $5 on)
// if l still holds it; ErrLeaseLost otherwise.
func (s *Store) fencedUpdate(ctx context.Context, userID, bindingID string, l Lease, set string, args ...any) error {
	var n int64
	err := s.write(ctx, userID, func(q querier) error {
		var err error
		n, err = q.Exec(ctx, `UPDATE channel_bindings SET `+set+` WHERE id = $1 AND user_id = $2`+fenced,
			append([]any{bindingID, userID, l.Owner, l.Epoch}, args...)...)
		return err
	})
	if err == nil && n == 0 {
		return ErrLeaseLost
	}
	return err
}

// SaveChannelOffset records the next Telegram update to ask for, if l still
// holds the binding (ErrLeaseLost otherwise).
func (s *Store) SaveChannelOffset(ctx context.Context, userID, bindingID string, l Lease, offset int64) error {
	return s.fencedUpdate(ctx, userID, bindingID, l, `poll_offset = $5`, offset)
}

// SaveChannelResume records a receiver's session state (nil clears it), if
// l still holds the binding.
func (s *Store) SaveChannelResume(ctx context.Context, userID, bindingID string, l Lease, state []byte) error {
	return s.fencedUpdate(ctx, userID, bindingID, l, `resume = $5`, state)
}

// ChannelAlive records that the binding's session works (a completed poll,
// an acked heartbeat), if l still holds it.
func (s *Store) ChannelAlive(ctx context.Context, userID, bindingID string, l Lease) error {
	return s.fencedUpdate(ctx, userID, bindingID, l, `state = 'connected', last_alive_at = $5, updated_at = $5`, s.now())
}

// SetChannelState records what the node running a binding sees: a state
// and, when errMsg is not empty, the error that led to it. A zero Lease
// writes without fencing (webhook bindings, sending errors).
func (s *Store) SetChannelState(ctx context.Context, userID, bindingID string, l Lease, state, errMsg string) error {
	now := s.now()
	set, args := `state = $5, updated_at = $6`, []any{state, now}
	if errMsg != "" {
		set, args = set+`, last_error = $7, last_error_at = $6`, append(args, clipText(errMsg, 500))
	}
	err := s.fencedUpdate(ctx, userID, bindingID, l, set, args...)
	if l.Owner == "" && errors.Is(err, ErrLeaseLost) {
		return ErrNotFound
	}
	return err
}

// SetChannelError records an error of a binding (a reply that could not be
// sent) without changing its state.
func (s *Store) SetChannelError(ctx context.Context, userID, bindingID, errMsg string) error {
	now := s.now()
	return s.fencedUpdate(ctx, userID, bindingID, Lease{}, `last_error = $5, last_error_at = $6, updated_at = $6`,
		clipText(errMsg, 500), now)
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// InboundMessage is one message a user sent to an agent on a channel.
type InboundMessage struct {
	BindingID  string
	MsgID      string
	UserID     string
	AgentID    string
	ChatID     string
	SenderID   string
	SenderName string
	Body       string
	ReplyTo    string
	SentAt     *time.Time
	ReceivedAt time.Time
	Status     string
	Attempts   int
	RunID      string
	Error      string
}

// AcceptChannelInbound keeps an inbound message unless the binding already
// has one with its id (fresh is false then: a redelivery), and notes it as
// the binding's last inbound. ErrNotFound if the binding is gone.
func (s *Store) AcceptChannelInbound(ctx context.Context, m InboundMessage) (fresh bool, err error) {
	now := s.now()
	err = s.write(ctx, m.UserID, func(q querier) error {
		var agentID string
		if err := q.QueryRow(ctx, `SELECT agent_id FROM channel_bindings WHERE id = $1 AND user_id = $2`,
			m.BindingID, m.UserID).Scan(&agentID); err != nil {
			return err
		}
		var sent any
		if m.SentAt != nil {
			sent = m.SentAt.UTC()
		}
		n, err := q.Exec(ctx, `INSERT INTO channel_inbound (binding_id, msg_id, user_id, agent_id, chat_id, sender_id,
			sender_name, body, reply_to, sent_at, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT DO NOTHING`, m.BindingID, m.MsgID, m.UserID, agentID, m.ChatID, m.SenderID, m.SenderName,
			m.Body, m.ReplyTo, sent, now)
		if err != nil || n == 0 {
			return err
		}
		fresh = true
		_, err = q.Exec(ctx, `UPDATE channel_bindings SET last_inbound_at = $3 WHERE id = $1 AND user_id = $2`,
			m.BindingID, m.UserID, now)
		return err
	})
	return fresh, err
}

// InboundRef names a claimed inbound message.
type InboundRef struct{ BindingID, MsgID, UserID string }

// ClaimChannelInbound claims up to limit inbound messages for node until
// the given time: for each chat, its oldest open message when no other is
// being answered, and any message whose claim expired (its node died). A
// chat's messages are answered one at a time, in order.
func (s *Store) ClaimChannelInbound(ctx context.Context, node string, until time.Time, limit int) ([]InboundRef, error) {
	now := s.now()
	scan := func(r rows) (InboundRef, error) {
		var c InboundRef
		return c, r.Scan(&c.BindingID, &c.MsgID, &c.UserID)
	}
	switch b := s.b.(type) {
	case *pgBackend:
		var out []InboundRef
		err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
			rs, err := pgQuerier{tx}.Query(ctx, `SELECT binding_id, msg_id, user_id FROM agentbot_claim_channel_inbound($1, $2, $3, $4)`,
				node, now, until.UTC(), limit)
			if err != nil {
				return err
			}
			out, err = scanAll(rs, scan)
			return err
		})
		return out, pgErr(err)
	case *sqliteBackend:
		var out []InboundRef
		err := b.global(ctx, false, func(q querier) error {
			rs, err := q.Query(ctx, `SELECT i.binding_id, i.msg_id, i.user_id FROM channel_inbound i
				WHERE (i.status = 'pending' OR (i.status = 'running' AND i.claimed_until < $1))
				  AND NOT EXISTS (SELECT 1 FROM channel_inbound r WHERE r.binding_id = i.binding_id AND r.chat_id = i.chat_id
				      AND r.status = 'running' AND r.claimed_until >= $1)
				  AND NOT EXISTS (SELECT 1 FROM channel_inbound e WHERE e.binding_id = i.binding_id AND e.chat_id = i.chat_id
				      AND e.status IN ('pending', 'running') AND e.rowid < i.rowid)
				ORDER BY i.rowid LIMIT $2`, now, limit)
			if err != nil {
				return err
			}
			if out, err = scanAll(rs, scan); err != nil {
				return err
			}
			for _, c := range out {
				if _, err := q.Exec(ctx, `UPDATE channel_inbound SET status = 'running', claimed_by = $3, claimed_until = $4,
					attempts = attempts + 1 WHERE binding_id = $1 AND msg_id = $2`, c.BindingID, c.MsgID, node, until.UTC()); err != nil {
					return err
				}
			}
			return nil
		})
		return out, err
	}
	return nil, fmt.Errorf("store: no channel queue on %s", s.b.name())
}

const inboundColumns = `binding_id, msg_id, user_id, agent_id, chat_id, sender_id, sender_name, body, reply_to, sent_at,
	received_at, status, attempts, run_id, error`

// ChannelInbound returns one inbound message of the user's.
func (s *Store) ChannelInbound(ctx context.Context, userID, bindingID, msgID string) (*InboundMessage, error) {
	var m InboundMessage
	err := s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT `+inboundColumns+` FROM channel_inbound WHERE binding_id = $1 AND msg_id = $2 AND user_id = $3`,
			bindingID, msgID, userID).Scan(&m.BindingID, &m.MsgID, &m.UserID, &m.AgentID, &m.ChatID, &m.SenderID,
			&m.SenderName, &m.Body, &m.ReplyTo, &m.SentAt, &m.ReceivedAt, &m.Status, &m.Attempts, &m.RunID, &m.Error)
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// RenewChannelInbound extends node's claim on a message. false: the claim
// was lost (it expired and another node took the message).
func (s *Store) RenewChannelInbound(ctx context.Context, r InboundRef, node string, until time.Time) (bool, error) {
	var n int64
	err := s.write(ctx, r.UserID, func(q querier) error {
		var err error
		n, err = q.Exec(ctx, `UPDATE channel_inbound SET claimed_until = $5
			WHERE binding_id = $1 AND msg_id = $2 AND user_id = $3 AND claimed_by = $4 AND status = 'running'`,
			r.BindingID, r.MsgID, r.UserID, node, until.UTC())
		return err
	})
	return n == 1, err
}

// FinishChannelInbound records what became of a message node claimed:
// answered (with the run), ignored or failed (with why). ErrLeaseLost if
// node no longer holds the claim.
func (s *Store) FinishChannelInbound(ctx context.Context, r InboundRef, node, status, runID, errMsg string) error {
	now := s.now()
	var n int64
	err := s.write(ctx, r.UserID, func(q querier) error {
		var err error
		n, err = q.Exec(ctx, `UPDATE channel_inbound SET status = $5, run_id = $6, error = $7, finished_at = $8, claimed_until = NULL
			WHERE binding_id = $1 AND msg_id = $2 AND user_id = $3 AND claimed_by = $4 AND status = 'running'`,
			r.BindingID, r.MsgID, r.UserID, node, status, runID, clipText(errMsg, 500), now)
		return err
	})
	if err == nil && n == 0 {
		return ErrLeaseLost
	}
	return err
}

// ChannelInboundCounts counts a binding's messages by state.
func (s *Store) ChannelInboundCounts(ctx context.Context, userID, bindingID string) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT status, count(*) FROM channel_inbound WHERE binding_id = $1 AND user_id = $2 GROUP BY status`,
			bindingID, userID)
		if err != nil {
			return err
		}
		_, err = scanAll(rs, func(r rows) (struct{}, error) {
			var st string
			var n int64
			err := r.Scan(&st, &n)
			out[st] = n
			return struct{}{}, err
		})
		return err
	})
	return out, err
}

// RecentChannelInbound counts the messages a chat sent a binding that
// arrived in [from, to] (the flood guard: a stranger messaging a public bot
// spends its owner's money).
func (s *Store) RecentChannelInbound(ctx context.Context, userID, bindingID, chatID string, from, to time.Time) (int64, error) {
	var n int64
	err := s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FROM channel_inbound
			WHERE binding_id = $1 AND user_id = $2 AND chat_id = $3 AND received_at >= $4 AND received_at <= $5`,
			bindingID, userID, chatID, from.UTC(), to.UTC()).Scan(&n)
	})
	return n, err
}
