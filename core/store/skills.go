package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
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
	// Quota bounds the author's releases (zero: unlimited).
	Quota SkillQuota
}

// SkillQuota bounds what one author may publish; zero fields are unlimited.
type SkillQuota struct {
	// VersionsPerDay bounds the versions published in any 24 hours.
	VersionsPerDay int
	// StoredBytes bounds the size of the distinct modules behind the author's
	// versions (a module shared with another author counts for both).
	StoredBytes int64
}

// SkillQuotaError is a publish refused by the author's quota.
type SkillQuotaError struct {
	Daily          bool // the versions-per-day bound; otherwise stored bytes
	Current, Limit int64
	// RetryAfter, for the daily bound: when the oldest version of the window
	// leaves it.
	RetryAfter time.Duration
}

func (e *SkillQuotaError) Error() string {
	if e.Daily {
		return fmt.Sprintf("store: %d of %d skill versions published in the last 24 hours", e.Current, e.Limit)
	}
	return fmt.Sprintf("store: %d of %d bytes of skill modules stored", e.Current, e.Limit)
}

// CheckSkillRelease runs PublishSkill's checks without writing anything:
// ErrNotOwner, ErrConflict, or a *SkillQuotaError, so that a caller can refuse
// a release before paying for anything else (compiling its module). A release
// identical to a published one passes. PublishSkill checks again.
func (s *Store) CheckSkillRelease(ctx context.Context, authorID string, r SkillRelease) error {
	return s.b.global(ctx, true, func(q querier) error {
		_, _, err := s.checkRelease(ctx, q, authorID, r)
		return err
	})
}

// checkRelease applies the ownership, immutability and quota rules; same is
// true when the very release is already published.
func (s *Store) checkRelease(ctx context.Context, q querier, authorID string, r SkillRelease) (same, newName bool, err error) {
	var owner *string
	err = q.QueryRow(ctx, `SELECT author_id FROM skills WHERE name = $1`, r.Name).Scan(&owner)
	switch {
	case errors.Is(err, ErrNotFound):
		newName = true
	case err != nil:
		return false, newName, err
	case (owner == nil) != (authorID == "") || (owner != nil && *owner != authorID):
		return false, newName, ErrNotOwner
	}
	var existing string
	err = q.QueryRow(ctx, `SELECT sha256 FROM skill_versions WHERE name = $1 AND version = $2`, r.Name, r.Version).Scan(&existing)
	switch {
	case err == nil && existing == r.SHA256:
		return true, false, nil // the same release again: idempotent
	case err == nil:
		return false, newName, ErrConflict
	case !errors.Is(err, ErrNotFound):
		return false, newName, err
	}
	if authorID == "" {
		return false, newName, nil
	}
	if limit := r.Quota.VersionsPerDay; limit > 0 {
		since := s.now().Add(-24 * time.Hour)
		var n int64
		var oldest *time.Time
		if err := q.QueryRow(ctx, `SELECT count(*), min(v.created_at) FROM skill_versions v JOIN skills k ON k.name = v.name
			WHERE k.author_id = $1 AND v.created_at > $2`, authorID, since).Scan(&n, &oldest); err != nil {
			return false, newName, err
		}
		if n >= int64(limit) {
			e := &SkillQuotaError{Daily: true, Current: n, Limit: int64(limit), RetryAfter: time.Hour}
			if oldest != nil {
				e.RetryAfter = max(oldest.Sub(since), time.Second)
			}
			return false, newName, e
		}
	}
	if limit := r.Quota.StoredBytes; limit > 0 {
		var stored, has int64
		if err := q.QueryRow(ctx, `SELECT CAST(COALESCE(sum(m.size), 0) AS BIGINT), CAST(COALESCE(sum(CASE WHEN m.sha256 = $2 THEN 1 ELSE 0 END), 0) AS BIGINT)
			FROM skill_modules m WHERE m.sha256 IN (SELECT v.sha256 FROM skill_versions v JOIN skills k ON k.name = v.name
			WHERE k.author_id = $1)`, authorID, r.SHA256).Scan(&stored, &has); err != nil {
			return false, newName, err
		}
		if has == 0 && stored+int64(len(r.WASM)) > limit {
			return false, newName, &SkillQuotaError{Current: stored, Limit: limit}
		}
	}
	return false, newName, nil
}

// PublishSkill stores a new version of a skill. The module is stored once per
// digest; versions are immutable (a second publish of name@version is
// ErrConflict, unless it is the very same module, which is a no-op); a name
// belongs to its first author (others get ErrNotOwner); r.Quota bounds the
// author's releases (*SkillQuotaError). authorID "" is the platform itself
// (shipped skills), which no quota binds.
func (s *Store) PublishSkill(ctx context.Context, authorID, author string, r SkillRelease) (*Skill, error) {
	now := s.now()
	err := s.b.global(ctx, false, func(q querier) error {
		// One author's publishes take turns, so two at once cannot both fit
		// the last of a quota; so do a name's, so two authors cannot both
		// take a new name.
		if err := s.serialize(ctx, q, "skill-publish|"+authorID); err != nil {
			return err
		}
		if err := s.serialize(ctx, q, "skill-name|"+r.Name); err != nil {
			return err
		}
		same, newName, err := s.checkRelease(ctx, q, authorID, r)
		if err != nil || same {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO skill_modules (sha256, wasm, size, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (sha256) DO NOTHING`, r.SHA256, r.WASM, int64(len(r.WASM)), now); err != nil {
			return err
		}
		if newName {
			var aid *string
			if authorID != "" {
				aid = &authorID
			}
			if _, err := q.Exec(ctx, `INSERT INTO skills (name, author_id, author, latest, description, category, icon,
				featured, rating_x100, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
				r.Name, aid, author, r.Version, r.Description, r.Category, r.Icon, r.Featured, r.RatingX100, now); err != nil {
				return err
			}
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

// serialize makes the transactions that call it with the same key take
// turns until they end (PostgreSQL's transaction-scoped advisory lock;
// SQLite has a single writer already), so that a count-then-write check
// cannot be raced past.
func (s *Store) serialize(ctx context.Context, q querier, key string) error {
	if s.b.name() != "postgres" {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64()))
	return err
}

// skillColumns read a skill at the version v joined to s, named by version
// (s.latest, or v.version for a given one).
func skillColumns(version string) string {
	return `s.name, COALESCE(s.author_id, ''), s.author, ` + version + `, s.description, s.category, s.icon, s.featured,
	s.downloads, s.rating_x100, v.sha256, v.manifest, v.price_micro_usd, s.created_at, s.updated_at`
}

var latestColumns = skillColumns("s.latest")

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
		rs, err := q.Query(ctx, `SELECT `+latestColumns+` FROM skills s
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
		sk, err = scanSkill(q.QueryRow(ctx, `SELECT `+latestColumns+` FROM skills s
			JOIN skill_versions v ON v.name = s.name AND v.version = s.latest WHERE s.name = $1`, name))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &sk, nil
}

var versionColumns = skillColumns("v.version")

// SkillVersion returns a skill at one of its versions (ErrNotFound when the
// skill or the version is absent): Version, SHA256, Manifest and
// PriceMicroUSD are that version's; the catalogue fields (description,
// category, icon, downloads, …) are the skill's, as Skill returns them.
func (s *Store) SkillVersion(ctx context.Context, name, version string) (*Skill, error) {
	var sk Skill
	err := s.b.global(ctx, true, func(q querier) error {
		var err error
		sk, err = scanSkill(q.QueryRow(ctx, `SELECT `+versionColumns+` FROM skills s
			JOIN skill_versions v ON v.name = s.name WHERE s.name = $1 AND v.version = $2`, name, version))
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

// ErrKVFull: a write would take a user's key-value store for a skill past
// its quota.
var ErrKVFull = errors.New("store: skill key-value quota reached")

// SkillKVQuota bounds one user's key-value store for one skill, all agents
// together: keys, and bytes of keys and values. Zero fields take the
// defaults.
type SkillKVQuota struct {
	Keys  int
	Bytes int64
}

// Default key-value quota per user and skill.
const (
	DefaultSkillKVKeys  = 1000
	DefaultSkillKVBytes = 10 << 20
)

// SkillKVGet reads a key; ErrNotFound when missing.
func (s *Store) SkillKVGet(ctx context.Context, sc SkillScope, key string) ([]byte, error) {
	var v []byte
	err := s.readOne(ctx, sc.UserID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT value FROM skill_kv WHERE user_id = $1 AND agent_id = $2 AND skill = $3 AND key = $4`,
			sc.UserID, sc.AgentID, sc.Skill, key).Scan(&v)
	})
	return v, err
}

// SkillKVSet writes a key; ErrKVFull when the write would take the user's
// store for the skill past the quota (a write that shrinks it is allowed
// even over the quota, say after the operator lowered it).
func (s *Store) SkillKVSet(ctx context.Context, sc SkillScope, key string, value []byte, quota SkillKVQuota) error {
	if quota.Keys <= 0 {
		quota.Keys = DefaultSkillKVKeys
	}
	if quota.Bytes <= 0 {
		quota.Bytes = DefaultSkillKVBytes
	}
	return s.write(ctx, sc.UserID, func(q querier) error {
		if err := s.serialize(ctx, q, "skill-kv|"+sc.UserID+"|"+sc.Skill); err != nil {
			return err
		}
		var keys, bytes int64
		if err := q.QueryRow(ctx, `SELECT count(*), CAST(COALESCE(sum(octet_length(key) + octet_length(value)), 0) AS BIGINT)
			FROM skill_kv WHERE user_id = $1 AND skill = $2`, sc.UserID, sc.Skill).Scan(&keys, &bytes); err != nil {
			return err
		}
		var old int64
		err := q.QueryRow(ctx, `SELECT octet_length(key) + octet_length(value) FROM skill_kv
			WHERE user_id = $1 AND agent_id = $2 AND skill = $3 AND key = $4`, sc.UserID, sc.AgentID, sc.Skill, key).Scan(&old)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		after := bytes - old + int64(len(key)+len(value))
		if (!exists && keys >= int64(quota.Keys)) || (after > quota.Bytes && after > bytes) {
			return ErrKVFull
		}
		if exists {
			_, err = q.Exec(ctx, `UPDATE skill_kv SET value = $5, updated_at = $6
				WHERE user_id = $1 AND agent_id = $2 AND skill = $3 AND key = $4`, sc.UserID, sc.AgentID, sc.Skill, key, value, s.now())
			return err
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
	err := s.readOne(ctx, sc.UserID, func(q querier) error {
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
