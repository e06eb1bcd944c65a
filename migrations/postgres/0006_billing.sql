-- Billing through Stripe: each user's Stripe customer, the webhook events
-- already applied (each applies once, by event id, in the same transaction as
-- its effect), and the last applied state of each subscription with the time of
-- the event that carried it, so that events arriving out of order never roll a
-- subscription back.

ALTER TABLE users ADD COLUMN stripe_customer_id text;
CREATE UNIQUE INDEX users_stripe_customer_key ON users (stripe_customer_id);

CREATE TABLE stripe_events (
    id          text PRIMARY KEY,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type        text NOT NULL,
    created_at  timestamptz NOT NULL, -- the event's own creation time at Stripe
    received_at timestamptz NOT NULL
);
CREATE INDEX stripe_events_user_idx ON stripe_events (user_id, created_at);

CREATE TABLE stripe_subscriptions (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('plan', 'storage')),
    plan       text NOT NULL DEFAULT '',
    status     text NOT NULL,
    event_at   timestamptz NOT NULL, -- creation time of the event that set this state
    updated_at timestamptz NOT NULL
);
CREATE INDEX stripe_subscriptions_user_idx ON stripe_subscriptions (user_id);

-- A Checkout Session credits its purchase once, whichever events report it.
CREATE UNIQUE INDEX credit_entries_stripe_once ON credit_entries (user_id, kind, reference)
    WHERE kind = 'purchase' AND reference LIKE 'stripe:%';

ALTER TABLE stripe_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY stripe_events_tenant ON stripe_events
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

ALTER TABLE stripe_subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY stripe_subscriptions_tenant ON stripe_subscriptions
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

-- Webhooks arrive without a principal: find the user behind a Stripe customer.
CREATE FUNCTION agentbot_lookup_stripe_customer(p_customer text)
RETURNS TABLE (id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id FROM users u WHERE u.stripe_customer_id = p_customer
$$;
REVOKE ALL ON FUNCTION agentbot_lookup_stripe_customer(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_lookup_stripe_customer(text) TO agentbot_app;

-- The event log is append-only for the application.
GRANT SELECT, INSERT ON stripe_events TO agentbot_app;
GRANT SELECT, INSERT, UPDATE ON stripe_subscriptions TO agentbot_app;
