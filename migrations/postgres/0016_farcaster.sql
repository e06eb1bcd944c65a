-- Farcaster Quick Auth sign-in. user_farcaster binds a Farcaster id (FID) to
-- the one account it signs in to, as user_wallets does for an address.

CREATE TABLE user_farcaster (
    fid        bigint PRIMARY KEY CHECK (fid > 0),
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL
);
CREATE INDEX user_farcaster_user_idx ON user_farcaster (user_id);

ALTER TABLE user_farcaster ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_farcaster_tenant ON user_farcaster
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
GRANT SELECT, INSERT, DELETE ON user_farcaster TO agentbot_app;

-- Pre-principal lookup for a Farcaster sign-in: the account a FID belongs to.
CREATE FUNCTION agentbot_lookup_farcaster(p_fid bigint)
RETURNS TABLE (user_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT f.user_id FROM user_farcaster f WHERE f.fid = p_fid
$$;
REVOKE ALL ON FUNCTION agentbot_lookup_farcaster(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_lookup_farcaster(bigint) TO agentbot_app;
