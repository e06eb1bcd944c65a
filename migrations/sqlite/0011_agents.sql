-- Agents, their installed skills, memory, runs and transcript (see the
-- PostgreSQL migration of the same number; here every query carries the
-- user_id predicate instead of row-level security).

CREATE TABLE agents (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    model            TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('provisioning', 'running', 'stopped', 'error')),
    status_reason    TEXT NOT NULL DEFAULT '',
    config           TEXT NOT NULL DEFAULT '{}',
    runtime_version  TEXT NOT NULL DEFAULT '',
    restarts         INTEGER NOT NULL DEFAULT 0,
    token_hash       BLOB UNIQUE,
    token_sealed     BLOB,
    token_created_at INTEGER,
    started_at       INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX agents_user_idx ON agents (user_id, created_at DESC);

CREATE TABLE agent_skills (
    agent_id     TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    skill        TEXT NOT NULL REFERENCES skills (name) ON DELETE CASCADE,
    version      TEXT NOT NULL,
    installed_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, skill)
) STRICT;
CREATE INDEX agent_skills_user_idx ON agent_skills (user_id);

CREATE TABLE agent_memory (
    agent_id   TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, key)
) STRICT;
CREATE INDEX agent_memory_user_idx ON agent_memory (user_id);

CREATE TABLE agent_runs (
    id             TEXT PRIMARY KEY,
    agent_id       TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    trigger        TEXT NOT NULL,
    topic          TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('running', 'ok', 'error')),
    error_code     TEXT NOT NULL DEFAULT '',
    error_message  TEXT NOT NULL DEFAULT '',
    round_trips    INTEGER NOT NULL DEFAULT 0,
    tool_calls     INTEGER NOT NULL DEFAULT 0,
    input_tokens   INTEGER NOT NULL DEFAULT 0,
    output_tokens  INTEGER NOT NULL DEFAULT 0,
    cost_micro_usd INTEGER NOT NULL DEFAULT 0,
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER
) STRICT;
CREATE INDEX agent_runs_agent_idx ON agent_runs (agent_id, started_at DESC);
CREATE INDEX agent_runs_user_idx ON agent_runs (user_id, started_at);

CREATE TABLE agent_messages (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    agent_id     TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    run_id       TEXT NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    content      TEXT NOT NULL,
    tool_calls   TEXT,
    tool_call_id TEXT NOT NULL DEFAULT '',
    tool_name    TEXT NOT NULL DEFAULT '',
    is_error     INTEGER NOT NULL DEFAULT 0,
    topic        TEXT NOT NULL DEFAULT '',
    platform     TEXT NOT NULL DEFAULT 'api',
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX agent_messages_agent_idx ON agent_messages (agent_id, seq);
CREATE INDEX agent_messages_user_idx ON agent_messages (user_id, seq);

ALTER TABLE usage_events ADD COLUMN agent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE usage_events ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
CREATE INDEX usage_events_agent_idx ON usage_events (agent_id, created_at) WHERE agent_id <> '';
