-- Platform figures for operators (GET /api/metrics): counts and sums across
-- every tenant, which the serving role cannot read row by row. The function
-- returns aggregates only, never a row of anyone's data, and the app calls
-- it only for admins. Each result row is (figure, dim, n, total):
--   users        ''                   all users            users created since p_since
--   agents       status               agents in that state 0
--   runs         status               runs started since   their tool calls
--   run_ms       p50|p95|max|sum      the run duration ms  finished runs counted
--   messages     role                 messages since       0
--   messages_at  day|week|month       messages since p_day / p_week / p_month
--   usage        payment method       usage events since   price charged (micro-USD)
--   usage_sum    tokens|cost          input tokens | events answered >= 400
--                                     output tokens | upstream cost (micro-USD)
--   payments     protocol:method      payments since       amount (micro-USD)
-- Durations are whole milliseconds (both ends truncated to the millisecond,
-- as SQLite stores them); percentiles are nearest-rank: the value at rank
-- ceil(p * n) of the n durations in ascending order.
CREATE FUNCTION agentbot_platform_metrics(p_since timestamptz, p_day timestamptz, p_week timestamptz, p_month timestamptz)
RETURNS TABLE (figure text, dim text, n bigint, total bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH d AS (
        SELECT CAST(floor(extract(epoch FROM r.finished_at) * 1000) - floor(extract(epoch FROM r.started_at) * 1000) AS bigint) AS ms
        FROM agent_runs r WHERE r.started_at >= p_since AND r.finished_at IS NOT NULL
    ), ranked AS (
        SELECT d.ms, row_number() OVER (ORDER BY d.ms) AS rn, count(*) OVER () AS cnt FROM d
    )
    SELECT 'users', '', count(*), count(*) FILTER (WHERE u.created_at >= p_since) FROM users u
    UNION ALL
    SELECT 'agents', a.status, count(*), 0 FROM agents a GROUP BY a.status
    UNION ALL
    SELECT 'runs', r.status, count(*), CAST(COALESCE(sum(r.tool_calls), 0) AS bigint)
        FROM agent_runs r WHERE r.started_at >= p_since GROUP BY r.status
    UNION ALL
    SELECT 'run_ms', 'p50', ranked.ms, ranked.cnt FROM ranked WHERE ranked.rn = (ranked.cnt + 1) / 2
    UNION ALL
    SELECT 'run_ms', 'p95', ranked.ms, ranked.cnt FROM ranked WHERE ranked.rn = (95 * ranked.cnt + 99) / 100
    UNION ALL
    SELECT 'run_ms', 'max', ranked.ms, ranked.cnt FROM ranked WHERE ranked.rn = ranked.cnt
    UNION ALL
    SELECT 'run_ms', 'sum', CAST(COALESCE(sum(d.ms), 0) AS bigint), count(*) FROM d
    UNION ALL
    SELECT 'messages', m.role, count(*), 0 FROM agent_messages m WHERE m.created_at >= p_since GROUP BY m.role
    UNION ALL
    SELECT 'messages_at', 'day', count(*), 0 FROM agent_messages m WHERE m.created_at >= p_day
    UNION ALL
    SELECT 'messages_at', 'week', count(*), 0 FROM agent_messages m WHERE m.created_at >= p_week
    UNION ALL
    SELECT 'messages_at', 'month', count(*), 0 FROM agent_messages m WHERE m.created_at >= p_month
    UNION ALL
    SELECT 'usage', e.payment_method, count(*), CAST(COALESCE(sum(e.price_micro_usd), 0) AS bigint)
        FROM usage_events e WHERE e.created_at >= p_since GROUP BY e.payment_method
    UNION ALL
    SELECT 'usage_sum', 'tokens', CAST(COALESCE(sum(e.input_tokens), 0) AS bigint), CAST(COALESCE(sum(e.output_tokens), 0) AS bigint)
        FROM usage_events e WHERE e.created_at >= p_since
    UNION ALL
    SELECT 'usage_sum', 'cost', count(*) FILTER (WHERE e.status >= 400), CAST(COALESCE(sum(e.upstream_micro_usd), 0) AS bigint)
        FROM usage_events e WHERE e.created_at >= p_since
    UNION ALL
    SELECT 'payments', p.protocol || ':' || p.method, count(*), CAST(COALESCE(sum(p.amount_micro_usd), 0) AS bigint)
        FROM payments p WHERE p.created_at >= p_since GROUP BY p.protocol, p.method
$$;
REVOKE ALL ON FUNCTION agentbot_platform_metrics(timestamptz, timestamptz, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_platform_metrics(timestamptz, timestamptz, timestamptz, timestamptz) TO agentbot_app;
