-- Heartbeats: a per-agent schedule (frequency in seconds, the next slot due)
-- and a log of what became of each slot. The schedule lives here, not in the
-- job queue's memory: a sweeper enqueues a job per due slot in the same
-- transaction that advances next_run_at, so a restart or a new leader loses
-- nothing and runs nothing twice. River's own tables are created by River's
-- migrations, run by the store right after these (core/store/migrate.go).

CREATE TABLE heartbeats (
    agent_id          text PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    user_id           text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    frequency_seconds integer NOT NULL CHECK (frequency_seconds > 0),
    enabled           boolean NOT NULL DEFAULT true,
    prompt            text NOT NULL DEFAULT '',
    next_run_at       timestamptz NOT NULL,
    last_run_at       timestamptz,
    last_outcome      text NOT NULL DEFAULT ''
        CHECK (last_outcome IN ('', 'ok', 'delivered', 'skipped', 'missed', 'error')),
    missed_total      bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX heartbeats_user_idx ON heartbeats (user_id);
CREATE INDEX heartbeats_due_idx ON heartbeats (next_run_at) WHERE enabled;

-- One row per slot: 'running' while its job works (the row is the claim that
-- makes a retried or duplicated job run the agent at most once), then the
-- outcome. A 'missed' row stands for `missed` slots that passed while no
-- scheduler ran; they were coalesced into the run of the latest slot.
CREATE TABLE heartbeat_runs (
    agent_id    text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    slot_at     timestamptz NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('running', 'ok', 'delivered', 'skipped', 'missed', 'error')),
    missed      bigint NOT NULL DEFAULT 0,
    message     text NOT NULL DEFAULT '',
    run_id      text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (agent_id, slot_at)
);
CREATE INDEX heartbeat_runs_user_idx ON heartbeat_runs (user_id);

ALTER TABLE heartbeats ENABLE ROW LEVEL SECURITY;
CREATE POLICY heartbeats_tenant ON heartbeats
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));
ALTER TABLE heartbeat_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY heartbeat_runs_tenant ON heartbeat_runs
    USING (user_id = current_setting('app.user_id', true))
    WITH CHECK (user_id = current_setting('app.user_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON heartbeats, heartbeat_runs TO agentbot_app;

-- The sweeper works for no user: it claims every due schedule (SKIP LOCKED,
-- so concurrent sweepers on other nodes take other rows), advances each to
-- its next future slot, logs the slots missed while no scheduler ran, and
-- returns the one slot to run per agent. The caller enqueues the jobs in the
-- same transaction. k is the number of whole periods past the due slot: the
-- slots skipped over.
CREATE FUNCTION agentbot_sweep_heartbeats(p_now timestamptz, p_limit integer)
RETURNS TABLE (agent_id text, user_id text, slot_at timestamptz, missed bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH due AS (
        SELECT h.agent_id, h.user_id, h.next_run_at, h.frequency_seconds,
               floor(extract(epoch FROM (p_now - h.next_run_at)) / h.frequency_seconds)::bigint AS k
        FROM heartbeats h
        WHERE h.enabled AND h.next_run_at <= p_now
        ORDER BY h.next_run_at, h.agent_id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), advanced AS (
        UPDATE heartbeats h
        SET next_run_at = d.next_run_at + make_interval(secs => ((d.k + 1) * d.frequency_seconds)::double precision),
            missed_total = h.missed_total + d.k,
            last_outcome = CASE WHEN d.k > 0 THEN 'missed' ELSE h.last_outcome END
        FROM due d
        WHERE h.agent_id = d.agent_id
        RETURNING h.agent_id
    ), logged AS (
        INSERT INTO heartbeat_runs (agent_id, user_id, slot_at, outcome, missed, message, started_at, finished_at)
        SELECT d.agent_id, d.user_id, d.next_run_at, 'missed', d.k,
               d.k || ' slot(s) passed while no scheduler ran; coalesced into one run', p_now, p_now
        FROM due d
        WHERE d.k > 0
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT d.agent_id, d.user_id,
           d.next_run_at + make_interval(secs => (d.k * d.frequency_seconds)::double precision), d.k
    FROM due d
$$;
REVOKE ALL ON FUNCTION agentbot_sweep_heartbeats(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentbot_sweep_heartbeats(timestamptz, integer) TO agentbot_app;
