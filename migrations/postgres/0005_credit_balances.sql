-- A running balance per user, kept in the same transaction as every ledger
-- entry, so a reservation is one conditional UPDATE instead of a SUM over the
-- whole ledger. The ledger stays the source of truth (tests check they agree).

CREATE TABLE credit_balances (
    user_id text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    balance bigint NOT NULL
);
INSERT INTO credit_balances (user_id, balance)
    SELECT user_id, SUM(amount) FROM credit_entries GROUP BY user_id;

ALTER TABLE credit_balances ENABLE ROW LEVEL SECURITY;
CREATE POLICY credit_balances_tenant ON credit_balances
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
GRANT SELECT, INSERT, UPDATE ON credit_balances TO agentbot_app;
