-- The skills marketplace: published WebAssembly modules (stored once per
-- SHA-256), immutable versions with their manifests, and each user's skill
-- key-value state, scoped to (user, agent, skill).

CREATE TABLE skill_modules (
    sha256     text PRIMARY KEY,
    wasm       bytea NOT NULL,
    size       bigint NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE skills (
    name        text PRIMARY KEY,
    author_id   text REFERENCES users (id) ON DELETE SET NULL,
    author      text NOT NULL,
    latest      text NOT NULL,
    description text NOT NULL,
    category    text NOT NULL,
    icon        text NOT NULL DEFAULT '',
    featured    boolean NOT NULL DEFAULT false,
    downloads   bigint NOT NULL DEFAULT 0,
    rating_x100 integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX skills_category_idx ON skills (category);

CREATE TABLE skill_versions (
    name            text NOT NULL REFERENCES skills (name) ON DELETE CASCADE,
    version         text NOT NULL,
    sha256          text NOT NULL REFERENCES skill_modules (sha256),
    manifest        jsonb NOT NULL,
    price_micro_usd bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE skill_kv (
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_id   text NOT NULL,
    skill      text NOT NULL,
    key        text NOT NULL,
    value      bytea NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, agent_id, skill, key)
);

ALTER TABLE skill_kv ENABLE ROW LEVEL SECURITY;
CREATE POLICY skill_kv_tenant ON skill_kv
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

-- The catalogue is public: readable by everyone, written by the application
-- (authorship is checked in the store).
GRANT SELECT, INSERT, UPDATE ON skill_modules, skills, skill_versions TO agentbot_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON skill_kv TO agentbot_app;
