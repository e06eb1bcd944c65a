-- Agent verification (/api/agents/:id/verify). agent_verifications holds the
-- evidence of an agent's one current verification: its type (eas, coinbase,
-- ens, webauthn), the attestation uid or name it rests on, the wallet that
-- proved it, and what the chain answered (metadata, JSON). A new verification
-- replaces the old; DELETE removes it. agent_verify_challenges holds the
-- server challenges a wallet signs for the ens, coinbase and webauthn types,
-- as SHA-256 digests, each usable once by its agent's owner until it expires.

CREATE TABLE agent_verifications (
    agent_id         text PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    user_id          text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type             text NOT NULL CHECK (type IN ('eas', 'coinbase', 'ens', 'webauthn')),
    attestation_uid  text NOT NULL,
    verifier_address text NOT NULL DEFAULT '',
    metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
    verified_at      timestamptz NOT NULL
);
CREATE INDEX agent_verifications_user_idx ON agent_verifications (user_id);

CREATE TABLE agent_verify_challenges (
    challenge_hash bytea PRIMARY KEY,
    agent_id       text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at     timestamptz NOT NULL
);
CREATE INDEX agent_verify_challenges_user_idx ON agent_verify_challenges (user_id);
CREATE INDEX agent_verify_challenges_expiry_idx ON agent_verify_challenges (expires_at);

ALTER TABLE agent_verifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY agent_verifications_tenant ON agent_verifications
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
ALTER TABLE agent_verify_challenges ENABLE ROW LEVEL SECURITY;
CREATE POLICY agent_verify_challenges_tenant ON agent_verify_challenges
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON agent_verifications, agent_verify_challenges TO agentbot_app;
