-- Machine payments (MPP, x402). payment_claims makes each payment
-- authorization single-use across gateway nodes; payments keeps every accepted
-- payment with its receipt (the payer's account, when they have one, sees its
-- own); payment_replays holds answers kept for Idempotency-Key.

CREATE TABLE payment_claims (
    key        text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX payment_claims_expiry_idx ON payment_claims (expires_at);

CREATE TABLE payments (
    id               text PRIMARY KEY,
    user_id          text REFERENCES users (id) ON DELETE SET NULL,
    protocol         text NOT NULL CHECK (protocol IN ('mpp', 'x402')),
    method           text NOT NULL,
    payer            text NOT NULL,
    network          text NOT NULL,
    asset            text NOT NULL,
    amount           text NOT NULL,
    amount_micro_usd bigint NOT NULL CHECK (amount_micro_usd >= 0),
    target           text NOT NULL,
    challenge_id     text NOT NULL,
    claim_key        text NOT NULL UNIQUE,
    reference        text NOT NULL,
    receipt          text NOT NULL,
    created_at       timestamptz NOT NULL
);
CREATE INDEX payments_user_idx ON payments (user_id, created_at DESC);

ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
-- An anonymous payment (user_id NULL) is written outside any tenant and read by nobody through the app role.
CREATE POLICY payments_tenant ON payments
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id IS NULL OR user_id = current_setting('app.user_id', true));

CREATE TABLE payment_replays (
    key          text PRIMARY KEY,
    request_hash bytea NOT NULL,
    status       integer NOT NULL,
    header       text NOT NULL,
    body         bytea NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX payment_replays_expiry_idx ON payment_replays (expires_at);

GRANT SELECT, INSERT, DELETE ON payment_claims TO agentbot_app;
GRANT SELECT, INSERT ON payments TO agentbot_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON payment_replays TO agentbot_app;
