-- Agent verification (/api/agents/:id/verify). agent_verifications holds the
-- evidence of an agent's one current verification (type, attestation uid or
-- name, the wallet that proved it, the chain's answer as JSON metadata);
-- agent_verify_challenges the SHA-256 digests of the server challenges a
-- wallet signs, each usable once by its agent's owner until it expires.

CREATE TABLE agent_verifications (
    agent_id         TEXT PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type             TEXT NOT NULL CHECK (type IN ('eas', 'coinbase', 'ens', 'webauthn')),
    attestation_uid  TEXT NOT NULL,
    verifier_address TEXT NOT NULL DEFAULT '',
    metadata         TEXT NOT NULL DEFAULT '{}',
    verified_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX agent_verifications_user_idx ON agent_verifications (user_id);

CREATE TABLE agent_verify_challenges (
    challenge_hash BLOB PRIMARY KEY,
    agent_id       TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX agent_verify_challenges_user_idx ON agent_verify_challenges (user_id);
CREATE INDEX agent_verify_challenges_expiry_idx ON agent_verify_challenges (expires_at);
