-- A running balance per user, kept with every ledger entry.

CREATE TABLE credit_balances (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    balance INTEGER NOT NULL
) STRICT;
INSERT INTO credit_balances (user_id, balance)
    SELECT user_id, SUM(amount) FROM credit_entries GROUP BY user_id;
