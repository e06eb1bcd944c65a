-- Farcaster Quick Auth sign-in. user_farcaster binds a Farcaster id (FID) to
-- the one account it signs in to, as user_wallets does for an address.

CREATE TABLE user_farcaster (
    fid        INTEGER PRIMARY KEY CHECK (fid > 0),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX user_farcaster_user_idx ON user_farcaster (user_id);
