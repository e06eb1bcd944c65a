-- Usage per gateway call, and users' own upstream API keys (BYOK), encrypted.

CREATE TABLE usage_events (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target             TEXT NOT NULL,
    status             INTEGER NOT NULL,
    duration_ms        INTEGER NOT NULL,
    input_tokens       INTEGER NOT NULL DEFAULT 0,
    output_tokens      INTEGER NOT NULL DEFAULT 0,
    price_micro_usd    INTEGER NOT NULL DEFAULT 0,
    upstream_micro_usd INTEGER NOT NULL DEFAULT 0,
    payment_method     TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX usage_events_user_idx ON usage_events (user_id, created_at);

CREATE TABLE byok_keys (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, provider)
) STRICT;
