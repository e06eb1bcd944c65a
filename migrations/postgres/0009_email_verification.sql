-- Email verification, credential generations and earned referrals.
--
-- An address counts (for ADMIN_EMAILS, and for a referral bonus) only once its
-- owner proved they read mail sent to it. A change of address waits in
-- pending_email until the new address is verified. credential_gen is carried
-- in every JWT; bumping it (password change or reset, email change, sign out
-- everywhere) makes every JWT issued before it invalid.

ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
ALTER TABLE users ADD COLUMN pending_email text;
ALTER TABLE users ADD COLUMN credential_gen bigint NOT NULL DEFAULT 1;
-- Set when a referred account's referral has been decided (paid or refused),
-- so that it is decided once.
ALTER TABLE users ADD COLUMN referral_settled_at timestamptz;

CREATE TABLE email_verifications (
    token_hash bytea PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_verifications_user_idx ON email_verifications (user_id);

ALTER TABLE email_verifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY email_verifications_tenant ON email_verifications
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON email_verifications TO agentbot_app;

-- Addresses that have earned a referral bonus, as keyed digests (no address,
-- no user id is stored): a bonus is paid at most once per address. The
-- application may only add to it.
CREATE TABLE referral_claims (
    address_hash bytea PRIMARY KEY,
    created_at   timestamptz NOT NULL
);
GRANT INSERT ON referral_claims TO agentbot_app;

CREATE FUNCTION agentbot_lookup_email_verification(p_hash bytea)
RETURNS TABLE (user_id text, email text, expires_at timestamptz, used_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT v.user_id, v.email, v.expires_at, v.used_at FROM email_verifications v WHERE v.token_hash = p_hash
$$;
REVOKE ALL ON FUNCTION agentbot_lookup_email_verification(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_lookup_email_verification(bytea) TO agentbot_app;

-- The credential lookups now also say whether the address is verified and
-- which credential generation is current. A function's result type cannot be
-- changed in place, so they are dropped and made again.
DROP FUNCTION agentbot_lookup_session(bytea);
CREATE FUNCTION agentbot_lookup_session(p_hash bytea)
RETURNS TABLE (id text, user_id text, email text, role text, email_verified boolean, credential_gen bigint,
               expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.id, s.user_id, u.email, u.role, u.email_verified_at IS NOT NULL, u.credential_gen, s.expires_at
    FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = p_hash
$$;
REVOKE ALL ON FUNCTION agentbot_lookup_session(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_lookup_session(bytea) TO agentbot_app;

DROP FUNCTION agentbot_lookup_api_key(bytea);
CREATE FUNCTION agentbot_lookup_api_key(p_hash bytea)
RETURNS TABLE (id text, user_id text, email text, role text, email_verified boolean, credential_gen bigint,
               last_used_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT k.id, k.user_id, u.email, u.role, u.email_verified_at IS NOT NULL, u.credential_gen, k.last_used_at
    FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = p_hash
$$;
REVOKE ALL ON FUNCTION agentbot_lookup_api_key(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_lookup_api_key(bytea) TO agentbot_app;

-- Addresses are stored in one canonical form (lower-case ASCII) from now on;
-- fold the ASCII ones stored before. Others stay as they are and cannot be
-- verified until their owner sets a valid address.
UPDATE users SET email = lower(email) WHERE email ~ '^[!-~]+$' AND email <> lower(email);
