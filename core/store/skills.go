package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotOwner: a skill name belongs to another author.
var ErrNotOwner = errors.New("store: the skill belongs to another author")

// Skill is a marketplace entry with its latest version.
type Skill struct {
	Name          string
	AuthorID      string
	Author        string
	Version       string
	Description   string
	Category      string
	Icon          string
	Featured      bool
	Downloads     int64
	RatingX100    int64
	SHA256        string
	Manifest      json.RawMessage
	PriceMicroUSD int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// SkillRelease is a version to publish.
type SkillRelease struct {
	Name, Version, Description, Category, Icon string
	Manifest                                   json.RawMessage
	PriceMicroUSD                              int64
	SHA256                                     string
	WASM                                       []byte
	Featured                                   bool
	RatingX100                                 int64
}

// PublishSkill stores a new version of a skill. The module is stored once per
// digest; versions are immutable (a second publish of name@version is
// ErrConflict, unless it is the very same module, which is a no-op); a name
// belongs to its first author (others get ErrNotOwner). authorID "" is the
// platform itself (shipped skills).
func (s *Store) PublishSkill(ctx context.Context, authorID, author string, r SkillRelease) (*Skill, error) {
	now := s.now()
	err := s.b.global(ctx, false, func(q querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO skill_modules (sha256, wasm, size, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (sha256) DO NOTHING`, r.SHA256, r.WASM, int64(len(r.WASM)), now); err != nil {
			return err
		}
		var owner *string
		err := q.QueryRow(ctx, `SELECT author_id FROM skills WHERE name = $1`, r.Name).Scan(&owner)
		switch {
		case errors.Is(err, ErrNotFound):
			var aid *string
			if authorID != "" {
				aid = &authorID
			}
			if _, err := q.Exec(ctx, `INSERT INTO skills (name, author_id, author, latest, description, category, icon,
				featured, rating_x100, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
				r.Name, aid, author, r.Version, r.Description, r.Category, r.Icon, r.Featured, r.RatingX100, now); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if (owner == nil) != (authorID == "") || (owner != nil && *owner != authorID) {
				return ErrNotOwner
			}
		}
		var existing string
		err = q.QueryRow(ctx, `SELECT sha256 FROM skill_versions WHERE name = $1 AND version = $2`, r.Name, r.Version).Scan(&existing)
		if err == nil {
			if existing == r.SHA256 {
				return nil // the same release again: idempotent
			}
			return ErrConflict
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO skill_versions (name, version, sha256, manifest, price_micro_usd, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.Name, r.Version, r.SHA256, string(r.Manifest), r.PriceMicroUSD, now); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE skills SET latest = $2, description = $3, category = $4, icon = $5, updated_at = $6
			WHERE name = $1`, r.Name, r.Version, r.Description, r.Category, r.Icon, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Skill(ctx, r.Name)
}

const skillColumns = `s.name, COALESCE(s.author_id, ''), s.author, s.latest, s.description, s.category, s.icon, s.featured,
	s.downloads, s.rating_x100, v.sha256, v.manifest, v.price_micro_usd, s.created_at, s.updated_at`

func scanSkill(r row) (Skill, error) {
	var (
		sk       Skill
		manifest string
	)
	err := r.Scan(&sk.Name, &sk.AuthorID, &sk.Author, &sk.Version, &sk.Description, &sk.Category, &sk.Icon, &sk.Featured,
		&sk.Downloads, &sk.RatingX100, &sk.SHA256, &manifest, &sk.PriceMicroUSD, &sk.CreatedAt, &sk.UpdatedAt)
	sk.Manifest = json.RawMessage(manifest)
	return sk, err
}

// SkillFilter narrows Skills.
type SkillFilter struct {
	Category string // "" or "all": any
	Featured bool
}

// Skills lists the catalogue at each skill's latest version: featured first,
// then by downloads, then by name.
func (s *Store) Skills(ctx context.Context, f SkillFilter) ([]Skill, error) {
	var out []Skill
	cat := f.Category
	if cat == "all" {
		cat = ""
	}
	err := s.b.global(ctx, true, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT `+skillColumns+` FROM skills s
			JOIN skill_versions v ON v.name = s.name AND v.version = s.latest
			WHERE ($1 = '' OR s.category = $1) AND ($2 = false OR s.featured = true)
			ORDER BY s.featured DESC, s.downloads DESC, s.name`, cat, f.Featured)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (Skill, error) { return scanSkill(r) })
		return err
	})
	return out, err
}

// Skill returns a skill at its latest version.
func (s *Store) Skill(ctx context.Context, name string) (*Skill, error) {
	var sk Skill
	err := s.b.global(ctx, true, func(q querier) error {
		var err error
		sk, err = scanSkill(q.QueryRow(ctx, `SELECT `+skillColumns+` FROM skills s
			JOIN skill_versions v ON v.name = s.name AND v.version = s.latest WHERE s.name = $1`, name))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &sk, nil
}

// SkillModule returns a stored module by digest.
func (s *Store) SkillModule(ctx context.Context, sha256 string) ([]byte, error) {
	var b []byte
	err := s.b.global(ctx, true, func(q querier) error {
		return q.QueryRow(ctx, `SELECT wasm FROM skill_modules WHERE sha256 = $1`, sha256).Scan(&b)
	})
	return b, err
}

// CountSkillUse adds one to a skill's downloads.
func (s *Store) CountSkillUse(ctx context.Context, name string) error {
	return s.b.global(ctx, false, func(q querier) error {
		_, err := q.Exec(ctx, `UPDATE skills SET downloads = downloads + 1 WHERE name = $1`, name)
		return err
	})
}

// SkillScope is whose key-value state a skill call sees.
type SkillScope struct {
	UserID, AgentID, Skill string
}

// ErrKVFull: the scope holds the maximum number of keys.
var ErrKVFull = errors.New("store: skill key-value store is full")

// MaxSkillKVKeys bounds the keys per scope.
const MaxSkillKVKeys = 1000

// SkillKVGet reads a key; ErrNotFound when missing.
func (s *Store) SkillKVGet(ctx context.Context, sc SkillScope, key string) ([]byte, error) {
	var v []byte
	err := s.read(ctx, sc.UserID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT value FROM skill_kv WHERE user_id = $1 AND agent_id = $2 AND skill = $3 AND key = $4`,
			sc.UserID, sc.AgentID, sc.Skill, key).Scan(&v)
	})
	return v, err
}

// SkillKVSet writes a key (ErrKVFull past MaxSkillKVKeys keys).
func (s *Store) SkillKVSet(ctx context.Context, sc SkillScope, key string, value []byte) error {
	return s.write(ctx, sc.UserID, func(q querier) error {
		n, err := q.Exec(ctx, `UPDATE skill_kv SET value = $5, updated_at = $6
			WHERE user_id = $1 AND agent_id = $2 AND skill = $3 AND key = $4`, sc.UserID, sc.AgentID, sc.Skill, key, value, s.now())
		if err != nil || n == 1 {
			return err
		}
		var count int
		if err := q.QueryRow(ctx, `SELECT count(*) FROM skill_kv WHERE user_id = $1 AND agent_id = $2 AND skill = $3`,
			sc.UserID, sc.AgentID, sc.Skill).Scan(&count); err != nil {
			return err
		}
		if count >= MaxSkillKVKeys {
			return ErrKVFull
		}
		_, err = q.Exec(ctx, `INSERT INTO skill_kv (user_id, agent_id, skill, key, value, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			sc.UserID, sc.AgentID, sc.Skill, key, value, s.now())
		return err
	})
}

// SkillKVDelete removes a key (no error when missing).
func (s *Store) SkillKVDelete(ctx context.Context, sc SkillScope, key string) error {
	return s.write(ctx, sc.UserID, func(q querier) error {
		_, err := q.Exec(ctx, `DELETE FROM skill_kv WHERE user_id = $1 AND agent_id = $2 AND skill = $3 AND key = $4`,
			sc.UserID, sc.AgentID, sc.Skill, key)
		return err
	})
}

// SkillKVList lists the keys with a prefix, sorted.
func (s *Store) SkillKVList(ctx context.Context, sc SkillScope, prefix string) ([]string, error) {
	var out []string
	err := s.read(ctx, sc.UserID, func(q querier) error {
		rs, err := q.Query(ctx, `SELECT key FROM skill_kv WHERE user_id = $1 AND agent_id = $2 AND skill = $3
			AND substr(key, 1, length($4)) = $4 ORDER BY key`, sc.UserID, sc.AgentID, sc.Skill, prefix)
		if err != nil {
			return err
		}
		out, err = scanAll(rs, func(r rows) (string, error) { var k string; return k, r.Scan(&k) })
		return err
	})
	if out == nil {
		out = []string{}
	}
	return out, err
}
