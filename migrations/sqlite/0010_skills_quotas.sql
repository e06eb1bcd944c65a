-- Indexes for the skills quotas: an author's versions (publish quota) and a
-- user's key-value store per skill, all agents together (KV quota).

CREATE INDEX skills_author_idx ON skills (author_id);
CREATE INDEX skill_kv_user_skill_idx ON skill_kv (user_id, skill);
