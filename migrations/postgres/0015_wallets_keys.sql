-- Wallets the gateway holds (the wallet plugin's "local" backend). owner is
-- the user id, or "<user id>/<agent id>" for an agent's wallet; it is also
-- what the plugin binds each sealed key to. sealed_key is the key as the
-- plugin sealed it (AES-256-GCM under a key only the plugin is handed): the
-- database never holds a usable key. agent_id has no foreign key on purpose:
-- deleting an agent must not destroy the key of a wallet that may hold funds.
CREATE TABLE wallet_keys (
    owner      text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_id   text NOT NULL DEFAULT '',
    address    text NOT NULL UNIQUE CHECK (address ~ '^0x[0-9a-f]{40}$'),
    backend    text NOT NULL CHECK (backend IN ('local', 'cdp')),
    sealed_key bytea NOT NULL,
    created_at timestamptz NOT NULL,
    CHECK (owner = CASE WHEN agent_id = '' THEN user_id ELSE user_id || '/' || agent_id END)
);
CREATE INDEX wallet_keys_user_idx ON wallet_keys (user_id);

ALTER TABLE wallet_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY wallet_keys_tenant ON wallet_keys
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
GRANT SELECT, INSERT, UPDATE ON wallet_keys TO agentbot_app;

-- USDC transfers, one row per idempotency key of an owner: 'pending' from the
-- moment the spend cap let it through until the plugin answers, then 'sent'
-- (with the transaction's hash) or 'failed' (nothing was sent; the amount no
-- longer counts against the cap). Amounts are USDC base units (6 decimals).
CREATE TABLE wallet_transfers (
    id              text PRIMARY KEY,
    owner           text NOT NULL REFERENCES wallet_keys (owner) ON DELETE CASCADE,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idempotency_key text NOT NULL,
    to_address      text NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    status          text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    tx_hash         text NOT NULL DEFAULT '',
    output          text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (owner, idempotency_key)
);
CREATE INDEX wallet_transfers_spend_idx ON wallet_transfers (owner, created_at);
CREATE INDEX wallet_transfers_user_idx ON wallet_transfers (user_id);

ALTER TABLE wallet_transfers ENABLE ROW LEVEL SECURITY;
CREATE POLICY wallet_transfers_tenant ON wallet_transfers
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
GRANT SELECT, INSERT, UPDATE ON wallet_transfers TO agentbot_app;
