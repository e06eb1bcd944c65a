-- Sign-in with Ethereum (EIP-4361). siwe_nonces holds the nonces handed out
-- by GET /api/auth/nonce, as SHA-256 digests, until used (each once) or
-- expired; they belong to no user yet, and every gateway node sees them.
-- user_wallets binds an Ethereum address (lower-case 0x hex) to the one
-- account it signs in to.

CREATE TABLE siwe_nonces (
    nonce_hash bytea PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX siwe_nonces_expiry_idx ON siwe_nonces (expires_at);
GRANT SELECT, INSERT, DELETE ON siwe_nonces TO agentbot_app;

CREATE TABLE user_wallets (
    address    text PRIMARY KEY CHECK (address ~ '^0x[0-9a-f]{40}$'),
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    chain_id   bigint NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX user_wallets_user_idx ON user_wallets (user_id);

ALTER TABLE user_wallets ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_wallets_tenant ON user_wallets
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
GRANT SELECT, INSERT, DELETE ON user_wallets TO agentbot_app;

-- Pre-principal lookup for a wallet sign-in: the account an address belongs to.
CREATE FUNCTION agentbot_lookup_wallet(p_address text)
RETURNS TABLE (user_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT w.user_id FROM user_wallets w WHERE w.address = p_address
$$;
REVOKE ALL ON FUNCTION agentbot_lookup_wallet(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_lookup_wallet(text) TO agentbot_app;

-- Pre-principal lookup of an account made by a wallet sign-in before wallets
-- were recorded (its address is <lower-case address>@wallet.base.org): only a
-- passwordless account qualifies, so a password account that took such an
-- address can never be reached with a wallet signature.
CREATE FUNCTION agentbot_lookup_wallet_account(p_email text)
RETURNS TABLE (id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id FROM users u WHERE lower(u.email) = lower(p_email) AND u.password_hash = ''
$$;
REVOKE ALL ON FUNCTION agentbot_lookup_wallet_account(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_lookup_wallet_account(text) TO agentbot_app;
