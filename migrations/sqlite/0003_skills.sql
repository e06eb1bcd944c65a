-- The skills marketplace and each user's skill key-value state.

CREATE TABLE skill_modules (
    sha256     TEXT PRIMARY KEY,
    wasm       BLOB NOT NULL,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE skills (
    name        TEXT PRIMARY KEY,
    author_id   TEXT REFERENCES users (id) ON DELETE SET NULL,
    author      TEXT NOT NULL,
    latest      TEXT NOT NULL,
    description TEXT NOT NULL,
    category    TEXT NOT NULL,
    icon        TEXT NOT NULL DEFAULT '',
    featured    INTEGER NOT NULL DEFAULT 0,
    downloads   INTEGER NOT NULL DEFAULT 0,
    rating_x100 INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX skills_category_idx ON skills (category);

CREATE TABLE skill_versions (
    name            TEXT NOT NULL REFERENCES skills (name) ON DELETE CASCADE,
    version         TEXT NOT NULL,
    sha256          TEXT NOT NULL REFERENCES skill_modules (sha256),
    manifest        TEXT NOT NULL,
    price_micro_usd INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (name, version)
) STRICT;

CREATE TABLE skill_kv (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_id   TEXT NOT NULL,
    skill      TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, agent_id, skill, key)
) STRICT;
