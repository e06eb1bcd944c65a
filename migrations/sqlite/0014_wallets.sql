-- Sign-in with Ethereum (EIP-4361). siwe_nonces holds the nonces handed out
-- by GET /api/auth/nonce, as SHA-256 digests, until used (each once) or
-- expired. user_wallets binds an Ethereum address (lower-case 0x hex) to the
-- one account it signs in to.

CREATE TABLE siwe_nonces (
    nonce_hash BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX siwe_nonces_expiry_idx ON siwe_nonces (expires_at);

CREATE TABLE user_wallets (
    address    TEXT PRIMARY KEY CHECK (length(address) = 42 AND address GLOB '0x*' AND lower(address) = address),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    chain_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX user_wallets_user_idx ON user_wallets (user_id);
