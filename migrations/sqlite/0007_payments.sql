-- Machine payments (MPP, x402). payment_claims makes each payment
-- authorization single-use; payments keeps every accepted payment with its
-- receipt; payment_replays holds answers kept for Idempotency-Key.

CREATE TABLE payment_claims (
    key        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX payment_claims_expiry_idx ON payment_claims (expires_at);

CREATE TABLE payments (
    id               TEXT PRIMARY KEY,
    user_id          TEXT REFERENCES users (id) ON DELETE SET NULL,
    protocol         TEXT NOT NULL CHECK (protocol IN ('mpp', 'x402')),
    method           TEXT NOT NULL,
    payer            TEXT NOT NULL,
    network          TEXT NOT NULL,
    asset            TEXT NOT NULL,
    amount           TEXT NOT NULL,
    amount_micro_usd INTEGER NOT NULL CHECK (amount_micro_usd >= 0),
    target           TEXT NOT NULL,
    challenge_id     TEXT NOT NULL,
    claim_key        TEXT NOT NULL UNIQUE,
    reference        TEXT NOT NULL,
    receipt          TEXT NOT NULL,
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX payments_user_idx ON payments (user_id, created_at DESC);

CREATE TABLE payment_replays (
    key          TEXT PRIMARY KEY,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL,
    header       TEXT NOT NULL,
    body         BLOB NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX payment_replays_expiry_idx ON payment_replays (expires_at);
