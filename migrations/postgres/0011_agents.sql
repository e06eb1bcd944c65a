-- Agents: each is a row with a model, a validated config, an instance state
-- (provisioning → running ⇄ stopped, any → error), a per-instance token
-- (SHA-256 digest for lookup, the token itself sealed with
-- AGENTBOT_MASTER_KEY so that its owner can read it again), installed skills
-- pinned to a version, a key-value memory, and the transcript of its runs.
-- Everything is the owner's alone under row-level security.

CREATE TABLE agents (
    id               text PRIMARY KEY,
    user_id          text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             text NOT NULL,
    model            text NOT NULL,
    status           text NOT NULL CHECK (status IN ('provisioning', 'running', 'stopped', 'error')),
    status_reason    text NOT NULL DEFAULT '',
    config           jsonb NOT NULL DEFAULT '{}'::jsonb,
    runtime_version  text NOT NULL DEFAULT '',
    restarts         bigint NOT NULL DEFAULT 0,
    token_hash       bytea UNIQUE,
    token_sealed     bytea,
    token_created_at timestamptz,
    started_at       timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX agents_user_idx ON agents (user_id, created_at DESC);

CREATE TABLE agent_skills (
    agent_id     text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    skill        text NOT NULL REFERENCES skills (name) ON DELETE CASCADE,
    version      text NOT NULL,
    installed_at timestamptz NOT NULL,
    PRIMARY KEY (agent_id, skill)
);
CREATE INDEX agent_skills_user_idx ON agent_skills (user_id);

CREATE TABLE agent_memory (
    agent_id   text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        text NOT NULL,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (agent_id, key)
);
CREATE INDEX agent_memory_user_idx ON agent_memory (user_id);

-- One run of the agent loop: a chat turn, a heartbeat, a WebSocket message.
CREATE TABLE agent_runs (
    id             text PRIMARY KEY,
    agent_id       text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    trigger        text NOT NULL,
    topic          text NOT NULL DEFAULT '',
    status         text NOT NULL CHECK (status IN ('running', 'ok', 'error')),
    error_code     text NOT NULL DEFAULT '',
    error_message  text NOT NULL DEFAULT '',
    round_trips    integer NOT NULL DEFAULT 0,
    tool_calls     integer NOT NULL DEFAULT 0,
    input_tokens   bigint NOT NULL DEFAULT 0,
    output_tokens  bigint NOT NULL DEFAULT 0,
    cost_micro_usd bigint NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz
);
CREATE INDEX agent_runs_agent_idx ON agent_runs (agent_id, started_at DESC);
CREATE INDEX agent_runs_user_idx ON agent_runs (user_id, started_at);

-- The transcript. seq orders messages across runs; an assistant message and
-- the results of its tool calls are written in one transaction.
CREATE TABLE agent_messages (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text NOT NULL UNIQUE,
    agent_id     text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    run_id       text NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    content      text NOT NULL,
    tool_calls   jsonb,
    tool_call_id text NOT NULL DEFAULT '',
    tool_name    text NOT NULL DEFAULT '',
    is_error     boolean NOT NULL DEFAULT false,
    topic        text NOT NULL DEFAULT '',
    platform     text NOT NULL DEFAULT 'api',
    created_at   timestamptz NOT NULL
);
CREATE INDEX agent_messages_agent_idx ON agent_messages (agent_id, seq);
CREATE INDEX agent_messages_user_idx ON agent_messages (user_id, seq);

-- Usage is attributed to the agent (and run) that spent it.
ALTER TABLE usage_events ADD COLUMN agent_id text NOT NULL DEFAULT '';
ALTER TABLE usage_events ADD COLUMN run_id text NOT NULL DEFAULT '';
CREATE INDEX usage_events_agent_idx ON usage_events (agent_id, created_at) WHERE agent_id <> '';

ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
CREATE POLICY agents_tenant ON agents
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
ALTER TABLE agent_skills ENABLE ROW LEVEL SECURITY;
CREATE POLICY agent_skills_tenant ON agent_skills
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
ALTER TABLE agent_memory ENABLE ROW LEVEL SECURITY;
CREATE POLICY agent_memory_tenant ON agent_memory
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
ALTER TABLE agent_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY agent_runs_tenant ON agent_runs
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
ALTER TABLE agent_messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY agent_messages_tenant ON agent_messages
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON agents, agent_skills, agent_memory TO agentbot_app;
GRANT SELECT, INSERT, UPDATE ON agent_runs TO agentbot_app;
GRANT SELECT, INSERT, DELETE ON agent_messages TO agentbot_app;

-- The instance token opens the agent's live channel before any principal is
-- known: digest → agent, owner and state.
CREATE FUNCTION agentbot_lookup_instance_token(p_hash bytea)
RETURNS TABLE (agent_id text, user_id text, status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT a.id, a.user_id, a.status FROM agents a WHERE a.token_hash = p_hash
$$;
REVOKE ALL ON FUNCTION agentbot_lookup_instance_token(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_lookup_instance_token(bytea) TO agentbot_app;
