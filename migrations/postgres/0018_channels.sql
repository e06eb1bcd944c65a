-- Channels: agents answering on Telegram, Discord and WhatsApp (docs/channels.md).
--
-- channel_bindings is one agent's connection on one channel: the credential
-- sealed with the master key, never stored in clear; the channel's own id of
-- the bot (one bot belongs to one agent); what the receiving node last saw
-- (state, last inbound, last completed poll or acked heartbeat, last error)
-- for the status endpoints; and the receiver's position (Telegram's update
-- offset, Discord's resume state), written only under the binding's lease.
CREATE TABLE channel_bindings (
    id              text PRIMARY KEY,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_id        text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('telegram', 'discord', 'whatsapp')),
    external_id     text NOT NULL CHECK (external_id <> ''),
    display_name    text NOT NULL DEFAULT '',
    credential      bytea NOT NULL,
    preview         text NOT NULL DEFAULT '',
    allow_from      text NOT NULL DEFAULT '',
    mode            text NOT NULL CHECK (mode IN ('polling', 'webhook', 'gateway')),
    poll_offset     bigint NOT NULL DEFAULT 0,
    resume          bytea,
    state           text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'connecting', 'connected', 'stalled', 'error', 'stopped')),
    last_inbound_at timestamptz,
    last_alive_at   timestamptz,
    last_error      text NOT NULL DEFAULT '',
    last_error_at   timestamptz,
    restarts        bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (kind, external_id)
);
CREATE INDEX channel_bindings_user_idx ON channel_bindings (user_id);
CREATE INDEX channel_bindings_agent_idx ON channel_bindings (agent_id);

-- Every inbound message, keyed by the channel's own id: a redelivery hits
-- the key and is dropped. The row is also the message's place in the queue:
-- pending until a node claims it (running, claimed_until renewed while the
-- agent works), then answered, ignored (a sender not allowed) or failed.
-- A claim that expires (its node died) is taken again by another node.
CREATE TABLE channel_inbound (
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    binding_id    text NOT NULL REFERENCES channel_bindings (id) ON DELETE CASCADE,
    msg_id        text NOT NULL,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_id      text NOT NULL,
    chat_id       text NOT NULL,
    sender_id     text NOT NULL DEFAULT '',
    sender_name   text NOT NULL DEFAULT '',
    body          text NOT NULL,
    reply_to      text NOT NULL DEFAULT '',
    sent_at       timestamptz,
    received_at   timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'answered', 'ignored', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    claimed_by    text NOT NULL DEFAULT '',
    claimed_until timestamptz,
    run_id        text NOT NULL DEFAULT '',
    error         text NOT NULL DEFAULT '',
    finished_at   timestamptz,
    PRIMARY KEY (binding_id, msg_id)
);
CREATE INDEX channel_inbound_user_idx ON channel_inbound (user_id);
CREATE INDEX channel_inbound_open_idx ON channel_inbound (binding_id, chat_id, seq) WHERE status IN ('pending', 'running');

ALTER TABLE channel_bindings ENABLE ROW LEVEL SECURITY;
CREATE POLICY channel_bindings_tenant ON channel_bindings
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
ALTER TABLE channel_inbound ENABLE ROW LEVEL SECURITY;
CREATE POLICY channel_inbound_tenant ON channel_inbound
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON channel_bindings, channel_inbound TO agentbot_app;

-- Who runs a binding's receiver: one node at a time. A node holds the lease
-- by renewing expires_at in short transactions; a node that stops renewing
-- loses it when it expires, and whoever takes it next bumps epoch. Writes of
-- the receiver's position carry (owner, epoch): a node that lost the lease
-- can no longer move the offset (fencing). No user owns a lease.
CREATE TABLE channel_leases (
    binding_id text PRIMARY KEY REFERENCES channel_bindings (id) ON DELETE CASCADE,
    owner      text NOT NULL,
    epoch      bigint NOT NULL,
    expires_at timestamptz NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON channel_leases TO agentbot_app;

-- The bindings a node may run receivers for: those of running agents that
-- receive through a session (not webhooks). Owners are returned, never
-- credentials; the node reads each binding as its owner.
CREATE FUNCTION agentbot_channel_receivers()
RETURNS TABLE (id text, user_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT b.id, b.user_id FROM channel_bindings b JOIN agents a ON a.id = b.agent_id
    WHERE a.status = 'running' AND b.mode IN ('polling', 'gateway')
$$;
REVOKE ALL ON FUNCTION agentbot_channel_receivers() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_channel_receivers() TO agentbot_app;

-- A webhook delivery names its binding before any principal is known.
CREATE FUNCTION agentbot_lookup_channel_binding(p_id text)
RETURNS TABLE (user_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT b.user_id FROM channel_bindings b WHERE b.id = p_id
$$;
REVOKE ALL ON FUNCTION agentbot_lookup_channel_binding(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_lookup_channel_binding(text) TO agentbot_app;

-- Claims inbound messages for a node: the oldest pending one of each chat
-- that has no live claim, and any whose claim expired (its node died). One
-- chat is answered one message at a time, in order.
CREATE FUNCTION agentbot_claim_channel_inbound(p_node text, p_now timestamptz, p_until timestamptz, p_limit integer)
RETURNS TABLE (binding_id text, msg_id text, user_id text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH open AS (
        SELECT i.binding_id, i.msg_id FROM channel_inbound i
        WHERE (i.status = 'pending' OR (i.status = 'running' AND i.claimed_until < p_now))
          AND NOT EXISTS (
              SELECT 1 FROM channel_inbound r
              WHERE r.binding_id = i.binding_id AND r.chat_id = i.chat_id AND r.status = 'running'
                AND r.claimed_until >= p_now)
          AND NOT EXISTS (
              SELECT 1 FROM channel_inbound e
              WHERE e.binding_id = i.binding_id AND e.chat_id = i.chat_id
                AND e.status IN ('pending', 'running') AND e.seq < i.seq)
        ORDER BY i.seq
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE channel_inbound c
    SET status = 'running', claimed_by = p_node, claimed_until = p_until, attempts = c.attempts + 1
    FROM open o
    WHERE c.binding_id = o.binding_id AND c.msg_id = o.msg_id
    RETURNING c.binding_id, c.msg_id, c.user_id
$$;
REVOKE ALL ON FUNCTION agentbot_claim_channel_inbound(text, timestamptz, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_claim_channel_inbound(text, timestamptz, timestamptz, integer) TO agentbot_app;
