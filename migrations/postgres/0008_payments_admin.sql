-- Operators' view of machine payments, including anonymous ones (which no
-- tenant can read). The app calls it only for admins.
CREATE FUNCTION agentbot_list_payments(p_limit integer)
RETURNS SETOF payments
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT * FROM payments ORDER BY created_at DESC, id LIMIT p_limit
$$;
REVOKE ALL ON FUNCTION agentbot_list_payments(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_list_payments(integer) TO agentbot_app;
