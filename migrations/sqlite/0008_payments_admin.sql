-- Operators' view of machine payments: nothing to add on SQLite, where the
-- store reads the payments table directly (kept so that versions match).
SELECT 1;
