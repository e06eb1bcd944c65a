package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotInstalled: the skill is not installed on the agent (or the agent is
// not the user's).
var ErrNotInstalled = errors.New("store: the skill is not installed on the agent")

// InstalledSkill is a skill installed on an agent, pinned to a version.
type InstalledSkill struct {
	Skill       string
	Version     string
	Latest      string // the marketplace's latest version, for upgrades
	InstalledAt time.Time
}

// SkillLimitError refuses an install over the owner's plan allowance.
type SkillLimitError struct{ Current, Limit int64 }

func (e *SkillLimitError) Error() string {
	return fmt.Sprintf("store: %d of %d skills installed on the agent", e.Current, e.Limit)
}

// InstallSkill installs a skill on one of the user's agents at version (the
// skill's latest when empty), unless the agent already has limit skills
// (limit < 0: unlimited; *SkillLimitError). Installing an installed skill
// changes nothing and reports installed false; a new install counts a
// download. An unknown skill, version or agent is ErrNotFound.
func (s *Store) InstallSkill(ctx context.Context, userID, agentID, skill, version string, limit int64) (is *InstalledSkill, installed bool, err error) {
	now := s.now()
	err = s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE agents SET updated_at = updated_at WHERE id = $1 AND user_id = $2`, agentID, userID)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		var latest string
		if err := q.QueryRow(ctx, `SELECT latest FROM skills WHERE name = $1`, skill).Scan(&latest); err != nil {
			return err
		}
		if version == "" {
			version = latest
		} else if err := q.QueryRow(ctx, `SELECT version FROM skill_versions WHERE name = $1 AND version = $2`, skill, version).Scan(new(string)); err != nil {
			return err
		}
		cur := InstalledSkill{Skill: skill, Latest: latest}
		err = q.QueryRow(ctx, `SELECT version, installed_at FROM agent_skills WHERE agent_id = $1 AND user_id = $2 AND skill = $3`,
			agentID, userID, skill).Scan(&cur.Version, &cur.InstalledAt)
		if err == nil {
			is = &cur
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		if limit >= 0 {
			var count int64
			if err := q.QueryRow(ctx, `SELECT count(*) FROM agent_skills WHERE agent_id = $1 AND user_id = $2`, agentID, userID).Scan(&count); err != nil {
				return err
			}
			if count >= limit {
				return &SkillLimitError{Current: count, Limit: limit}
			}
		}
		if _, err := q.Exec(ctx, `INSERT INTO agent_skills (agent_id, user_id, skill, version, installed_at) VALUES ($1, $2, $3, $4, $5)`,
			agentID, userID, skill, version, now); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `UPDATE skills SET downloads = downloads + 1 WHERE name = $1`, skill); err != nil {
			return err
		}
		is, installed = &InstalledSkill{Skill: skill, Version: version, Latest: latest, InstalledAt: now}, true
		return nil
	})
	return is, installed, err
}

// UpgradeSkill moves an installed skill to version (the latest when empty):
// ErrNotFound for an unknown skill or version, ErrNotInstalled when the
// agent does not have it.
func (s *Store) UpgradeSkill(ctx context.Context, userID, agentID, skill, version string) (*InstalledSkill, error) {
	var is *InstalledSkill
	err := s.write(ctx, userID, func(q querier) error {
		var latest string
		if err := q.QueryRow(ctx, `SELECT latest FROM skills WHERE name = $1`, skill).Scan(&latest); err != nil {
			return err
		}
		if version == "" {
			version = latest
		} else if err := q.QueryRow(ctx, `SELECT version FROM skill_versions WHERE name = $1 AND version = $2`, skill, version).Scan(new(string)); err != nil {
			return err
		}
		var at time.Time
		if err := q.QueryRow(ctx, `UPDATE agent_skills SET version = $4 WHERE agent_id = $1 AND user_id = $2 AND skill = $3
			RETURNING installed_at`, agentID, userID, skill, version).Scan(&at); errors.Is(err, ErrNotFound) {
			return ErrNotInstalled
		} else if err != nil {
			return err
		}
		is = &InstalledSkill{Skill: skill, Version: version, Latest: latest, InstalledAt: at}
		return nil
	})
	return is, err
}

// UninstallSkill removes a skill from an agent; ErrNotInstalled when it is
// not installed there.
func (s *Store) UninstallSkill(ctx context.Context, userID, agentID, skill string) error {
	return s.write(ctx, userID, func(q querier) error {
		n, err := q.Exec(ctx, `DELETE FROM agent_skills WHERE agent_id = $1 AND user_id = $2 AND skill = $3`, agentID, userID, skill)
		if err == nil && n == 0 {
			return ErrNotInstalled
		}
		return err
	})
}

// AgentSkills lists the skills installed on an agent, by name.
func (s *Store) AgentSkills(ctx context.Context, userID, agentID string) ([]InstalledSkill, error) {
	var out []InstalledSkill
	err := s.readOne(ctx, userID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT i.skill, i.version, k.latest, i.installed_at FROM agent_skills i
			JOIN skills k ON k.name = i.skill WHERE i.agent_id = $1 AND i.user_id = $2 ORDER BY i.skill`, agentID, userID)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (InstalledSkill, error) {
			var is InstalledSkill
			return is, r.Scan(&is.Skill, &is.Version, &is.Latest, &is.InstalledAt)
		})
		return err
	})
	return out, err
}
