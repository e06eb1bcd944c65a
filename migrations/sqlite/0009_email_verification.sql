-- Email verification, credential generations and earned referrals (see the
-- PostgreSQL migration of the same number for the reasons).

ALTER TABLE users ADD COLUMN email_verified_at INTEGER;
ALTER TABLE users ADD COLUMN pending_email TEXT;
ALTER TABLE users ADD COLUMN credential_gen INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN referral_settled_at INTEGER;

CREATE TABLE email_verifications (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX email_verifications_user_idx ON email_verifications (user_id);

CREATE TABLE referral_claims (
    address_hash BLOB PRIMARY KEY,
    created_at   INTEGER NOT NULL
) STRICT;

-- Addresses are stored in one canonical form (lower-case ASCII) from now on;
-- SQLite's lower() folds ASCII letters only.
UPDATE users SET email = lower(email) WHERE email <> lower(email);
