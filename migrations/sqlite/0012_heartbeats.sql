-- Heartbeat schedules and the log of their slots (see the PostgreSQL
-- migration of the same number; the sweep that PostgreSQL runs as a function
-- is Go code here, in core/store/heartbeats.go).

CREATE TABLE heartbeats (
    agent_id          TEXT PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    frequency_seconds INTEGER NOT NULL CHECK (frequency_seconds > 0),
    enabled           INTEGER NOT NULL DEFAULT 1,
    prompt            TEXT NOT NULL DEFAULT '',
    next_run_at       INTEGER NOT NULL,
    last_run_at       INTEGER,
    last_outcome      TEXT NOT NULL DEFAULT ''
        CHECK (last_outcome IN ('', 'ok', 'delivered', 'skipped', 'missed', 'error')),
    missed_total      INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX heartbeats_user_idx ON heartbeats (user_id);
CREATE INDEX heartbeats_due_idx ON heartbeats (next_run_at) WHERE enabled;

CREATE TABLE heartbeat_runs (
    agent_id    TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    slot_at     INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('running', 'ok', 'delivered', 'skipped', 'missed', 'error')),
    missed      INTEGER NOT NULL DEFAULT 0,
    message     TEXT NOT NULL DEFAULT '',
    run_id      TEXT NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (agent_id, slot_at)
) STRICT;
CREATE INDEX heartbeat_runs_user_idx ON heartbeat_runs (user_id);
