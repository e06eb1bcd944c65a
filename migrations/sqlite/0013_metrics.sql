-- Platform figures for operators: nothing to add on SQLite, where the store
-- aggregates the tables directly (the PostgreSQL migration of the same
-- number adds the function that crosses tenants; kept so that versions match).
SELECT 1;
