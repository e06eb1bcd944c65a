-- Channels (see the PostgreSQL migration of the same number; its functions
-- are Go code here, in core/store/channels.go).

CREATE TABLE channel_bindings (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_id        TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('telegram', 'discord', 'whatsapp')),
    external_id     TEXT NOT NULL CHECK (external_id <> ''),
    display_name    TEXT NOT NULL DEFAULT '',
    credential      BLOB NOT NULL,
    preview         TEXT NOT NULL DEFAULT '',
    allow_from      TEXT NOT NULL DEFAULT '',
    mode            TEXT NOT NULL CHECK (mode IN ('polling', 'webhook', 'gateway')),
    poll_offset     INTEGER NOT NULL DEFAULT 0,
    resume          BLOB,
    state           TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'connecting', 'connected', 'stalled', 'error', 'stopped')),
    last_inbound_at INTEGER,
    last_alive_at   INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    last_error_at   INTEGER,
    restarts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (kind, external_id)
) STRICT;
CREATE INDEX channel_bindings_user_idx ON channel_bindings (user_id);
CREATE INDEX channel_bindings_agent_idx ON channel_bindings (agent_id);

CREATE TABLE channel_inbound (
    binding_id    TEXT NOT NULL REFERENCES channel_bindings (id) ON DELETE CASCADE,
    msg_id        TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_id      TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    sender_id     TEXT NOT NULL DEFAULT '',
    sender_name   TEXT NOT NULL DEFAULT '',
    body          TEXT NOT NULL,
    reply_to      TEXT NOT NULL DEFAULT '',
    sent_at       INTEGER,
    received_at   INTEGER NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'answered', 'ignored', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_by    TEXT NOT NULL DEFAULT '',
    claimed_until INTEGER,
    run_id        TEXT NOT NULL DEFAULT '',
    error         TEXT NOT NULL DEFAULT '',
    finished_at   INTEGER,
    PRIMARY KEY (binding_id, msg_id)
) STRICT;
CREATE INDEX channel_inbound_user_idx ON channel_inbound (user_id);
CREATE INDEX channel_inbound_open_idx ON channel_inbound (binding_id, chat_id) WHERE status IN ('pending', 'running');

CREATE TABLE channel_leases (
    binding_id TEXT PRIMARY KEY REFERENCES channel_bindings (id) ON DELETE CASCADE,
    owner      TEXT NOT NULL,
    epoch      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
