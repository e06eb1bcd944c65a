-- Wallets the gateway holds and their USDC transfers (see the PostgreSQL
-- migration of the same number).
CREATE TABLE wallet_keys (
    owner      TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_id   TEXT NOT NULL DEFAULT '',
    address    TEXT NOT NULL UNIQUE CHECK (length(address) = 42 AND address GLOB '0x*' AND lower(address) = address),
    backend    TEXT NOT NULL CHECK (backend IN ('local', 'cdp')),
    sealed_key BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK (owner = CASE WHEN agent_id = '' THEN user_id ELSE user_id || '/' || agent_id END)
) STRICT;
CREATE INDEX wallet_keys_user_idx ON wallet_keys (user_id);

CREATE TABLE wallet_transfers (
    id              TEXT PRIMARY KEY,
    owner           TEXT NOT NULL REFERENCES wallet_keys (owner) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    to_address      TEXT NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    tx_hash         TEXT NOT NULL DEFAULT '',
    output          TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (owner, idempotency_key)
) STRICT;
CREATE INDEX wallet_transfers_spend_idx ON wallet_transfers (owner, created_at);
CREATE INDEX wallet_transfers_user_idx ON wallet_transfers (user_id);
