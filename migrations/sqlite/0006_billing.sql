-- Billing through Stripe: each user's Stripe customer, the webhook events
-- already applied, and the last applied state of each subscription.

ALTER TABLE users ADD COLUMN stripe_customer_id TEXT;
CREATE UNIQUE INDEX users_stripe_customer_key ON users (stripe_customer_id);

CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX stripe_events_user_idx ON stripe_events (user_id, created_at);

CREATE TABLE stripe_subscriptions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('plan', 'storage')),
    plan       TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,
    event_at   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX stripe_subscriptions_user_idx ON stripe_subscriptions (user_id);

CREATE UNIQUE INDEX credit_entries_stripe_once ON credit_entries (user_id, kind, reference)
    WHERE kind = 'purchase' AND reference LIKE 'stripe:%';
