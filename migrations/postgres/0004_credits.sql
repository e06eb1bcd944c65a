-- Credits: referral codes, and the rules that keep the ledger exact. A call's
-- reservation is settled or refunded once: one entry per (user, kind, reference).

ALTER TABLE users ADD COLUMN referral_code text;
ALTER TABLE users ADD COLUMN referred_by text;
CREATE UNIQUE INDEX users_referral_code_key ON users (referral_code);

CREATE UNIQUE INDEX credit_entries_once ON credit_entries (user_id, kind, reference)
    WHERE kind IN ('reserve', 'settle', 'refund', 'referral');

-- Who owns a referral code, before the referee has a principal of their own.
CREATE FUNCTION agentbot_lookup_referral(p_code text)
RETURNS TABLE (id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id FROM users u WHERE u.referral_code = upper(p_code)
$$;
REVOKE ALL ON FUNCTION agentbot_lookup_referral(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_lookup_referral(text) TO agentbot_app;
