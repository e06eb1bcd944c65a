-- Credits: referral codes, and one settle/refund per reservation.

ALTER TABLE users ADD COLUMN referral_code TEXT;
ALTER TABLE users ADD COLUMN referred_by TEXT;
CREATE UNIQUE INDEX users_referral_code_key ON users (referral_code);

CREATE UNIQUE INDEX credit_entries_once ON credit_entries (user_id, kind, reference)
    WHERE kind IN ('reserve', 'settle', 'refund', 'referral');
