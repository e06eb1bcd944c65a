-- Identity: users, sessions, API keys, password resets, and the credit ledger.
-- Every user-owned table has row-level security keyed on the transaction-local
-- setting app.user_id (CONTRACT §3). The serving role agentbot_app owns nothing,
-- is not a superuser and cannot bypass RLS; lookups that must run before a
-- principal is known go through the narrow SECURITY DEFINER functions below.

DO $$
BEGIN
    CREATE ROLE agentbot_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- the role is cluster-wide; another database (or a concurrent run) made it
END
$$;

CREATE TABLE users (
    id                  text PRIMARY KEY,
    email               text NOT NULL,
    name                text NOT NULL,
    password_hash       text NOT NULL,
    role                text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    plan                text NOT NULL DEFAULT '',
    subscription_status text NOT NULL DEFAULT '',
    notifications       jsonb NOT NULL DEFAULT '{}'::jsonb,
    two_factor_enabled  boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE sessions (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    key_prefix   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at DESC);

CREATE TABLE password_resets (
    token_hash bytea PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

CREATE TABLE credit_entries (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amount     bigint NOT NULL,
    kind       text NOT NULL,
    reference  text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX credit_entries_user_idx ON credit_entries (user_id, created_at);

-- Row-level security. It is ENABLEd, not FORCEd: the table owner runs the
-- SECURITY DEFINER lookups below, and core/store refuses to serve as the owner.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_tenant ON users
    USING (id = current_setting('app.user_id', true))
    WITH CHECK (id = current_setting('app.user_id', true));

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY sessions_tenant ON sessions
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_keys_tenant ON api_keys
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

ALTER TABLE password_resets ENABLE ROW LEVEL SECURITY;
CREATE POLICY password_resets_tenant ON password_resets
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

ALTER TABLE credit_entries ENABLE ROW LEVEL SECURITY;
CREATE POLICY credit_entries_tenant ON credit_entries
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

-- Pre-principal lookups. Each returns only what authentication needs for one
-- exact credential digest (or one email), never a listing.
CREATE FUNCTION agentbot_lookup_user_by_email(p_email text)
RETURNS TABLE (id text, email text, role text, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.email, u.role, u.password_hash FROM users u WHERE lower(u.email) = lower(p_email)
$$;

CREATE FUNCTION agentbot_lookup_session(p_hash bytea)
RETURNS TABLE (id text, user_id text, email text, role text, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.id, s.user_id, u.email, u.role, s.expires_at
    FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = p_hash
$$;

CREATE FUNCTION agentbot_lookup_api_key(p_hash bytea)
RETURNS TABLE (id text, user_id text, email text, role text, last_used_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT k.id, k.user_id, u.email, u.role, k.last_used_at
    FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = p_hash
$$;

CREATE FUNCTION agentbot_lookup_password_reset(p_hash bytea)
RETURNS TABLE (user_id text, expires_at timestamptz, used_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT r.user_id, r.expires_at, r.used_at FROM password_resets r WHERE r.token_hash = p_hash
$$;

REVOKE ALL ON FUNCTION agentbot_lookup_user_by_email(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION agentbot_lookup_session(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION agentbot_lookup_api_key(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION agentbot_lookup_password_reset(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_lookup_user_by_email(text) TO agentbot_app;
GRANT EXECUTE ON FUNCTION agentbot_lookup_session(bytea) TO agentbot_app;
GRANT EXECUTE ON FUNCTION agentbot_lookup_api_key(bytea) TO agentbot_app;
GRANT EXECUTE ON FUNCTION agentbot_lookup_password_reset(bytea) TO agentbot_app;

GRANT USAGE ON SCHEMA public TO agentbot_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, sessions, api_keys, password_resets TO agentbot_app;
-- The ledger is append-only for the application.
GRANT SELECT, INSERT ON credit_entries TO agentbot_app;
