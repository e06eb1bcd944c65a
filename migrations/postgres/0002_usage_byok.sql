-- Usage per gateway call, and users' own upstream API keys (BYOK), encrypted
-- at rest with AGENTBOT_MASTER_KEY (AES-256-GCM; the row's user and provider
-- are bound as associated data).

CREATE TABLE usage_events (
    id               text PRIMARY KEY,
    user_id          text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target           text NOT NULL,
    status           integer NOT NULL,
    duration_ms      bigint NOT NULL,
    input_tokens     bigint NOT NULL DEFAULT 0,
    output_tokens    bigint NOT NULL DEFAULT 0,
    price_micro_usd  bigint NOT NULL DEFAULT 0,
    upstream_micro_usd bigint NOT NULL DEFAULT 0,
    payment_method   text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL
);
CREATE INDEX usage_events_user_idx ON usage_events (user_id, created_at);

CREATE TABLE byok_keys (
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   text NOT NULL,
    ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, provider)
);

ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY usage_events_tenant ON usage_events
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

ALTER TABLE byok_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY byok_keys_tenant ON byok_keys
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

-- Usage is append-only for the application.
GRANT SELECT, INSERT ON usage_events TO agentbot_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON byok_keys TO agentbot_app;
