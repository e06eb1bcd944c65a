package store_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

// tenantTables are the user-owned tables, every one under row-level security.
var tenantTables = []string{"users", "api_keys", "sessions", "password_resets", "credit_entries", "usage_events", "byok_keys", "skill_kv", "credit_balances", "email_verifications"}

// rlsProbe counts, as userID, the rows of every user-owned table with no WHERE
// clause at all, and tries to write a row for another user. Only row-level
// security can make it see just userID's rows and refuse the write.
func rlsProbe(t *testing.T, url, userID, otherID string) (visible map[string]int, crossWrite error) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	visible = map[string]int{}
	err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true)`, userID); err != nil {
			return err
		}
		for _, table := range tenantTables {
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				return err
			}
			visible[table] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The cross-tenant write is always rolled back: it must fail, or leave nothing.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true)`, userID); err != nil {
		t.Fatal(err)
	}
	_, crossWrite = tx.Exec(ctx, `INSERT INTO api_keys (id, user_id, name, key_hash, key_prefix, created_at)
		VALUES ('key_probe', $1, 'x', '\x00', 'sk_', now())`, otherID)
	return visible, crossWrite
}

func seedTwoUsers(t *testing.T, s *store.Store) (a, b *store.User) {
	ctx := context.Background()
	a, b = mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
	for _, u := range []*store.User{a, b} {
		if _, err := s.CreateAPIKey(ctx, u.ID, "k", digest(u.ID), "sk_"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSession(ctx, u.ID, digest("s"+u.ID), s.Now().Add(3600e9)); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordUsage(ctx, u.ID, store.UsageEvent{Target: "t", Status: 200}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetBYOKKey(ctx, u.ID, "openai", []byte("sealed-"+u.ID)); err != nil {
			t.Fatal(err)
		}
		if err := s.SkillKVSet(ctx, store.SkillScope{UserID: u.ID, AgentID: "agt", Skill: "s"}, "k", []byte("v"), store.SkillKVQuota{}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddCredits(ctx, u.ID, 100, "purchase", "seed"); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateEmailVerification(ctx, u.ID, u.Email, digest("v"+u.ID), s.Now().Add(3600e9)); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

func TestPostgresRowLevelSecurity(t *testing.T) {
	pg := storetest.Postgres(t)
	s := storetest.Open(t, pg.Config())
	a, b := seedTwoUsers(t, s)

	visible, cross := rlsProbe(t, pg.Serving, a.ID, b.ID)
	for _, table := range tenantTables {
		want := 1
		if table == "password_resets" {
			want = 0
		}
		if n, ok := visible[table]; !ok || n != want {
			t.Errorf("as the serving role, user a sees %d rows of %s; want %d", n, table, want)
		}
	}
	if cross == nil || !strings.Contains(cross.Error(), "row-level security") {
		t.Errorf("writing a row for another user = %v; want a row-level security violation", cross)
	}
	noTenant, _ := rlsProbe(t, pg.Serving, "", b.ID)
	for _, table := range tenantTables {
		if n := noTenant[table]; n != 0 {
			t.Errorf("with no tenant set, the serving role sees %d rows of %s; want 0", n, table)
		}
	}
}

// The new tables refuse, through RLS alone, to let one tenant write or remove
// another's rows: inserts fail the policy check, updates and deletes see nothing.
func TestPostgresRLSGuardsUsageAndBYOK(t *testing.T) {
	pg := storetest.Postgres(t)
	s := storetest.Open(t, pg.Config())
	a, b := seedTwoUsers(t, s)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.Serving)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	tests := []struct {
		sql      string
		wantErr  bool  // a row-level security violation
		wantRows int64 // rows affected when no error
	}{
		{`INSERT INTO usage_events (id, user_id, target, status, duration_ms, created_at) VALUES ('use_probe', $1, 't', 200, 0, now())`, true, 0},
		{`INSERT INTO byok_keys (user_id, provider, ciphertext, created_at) VALUES ($1, 'probe', '\x00', now())`, true, 0},
		{`INSERT INTO byok_keys (user_id, provider, ciphertext, created_at) VALUES ($1, 'openai', '\x00', now())
			ON CONFLICT (user_id, provider) DO UPDATE SET ciphertext = excluded.ciphertext`, true, 0},
		{`UPDATE byok_keys SET ciphertext = '\x00' WHERE user_id = $1`, false, 0},
		{`DELETE FROM byok_keys WHERE user_id = $1`, false, 0},
		{`UPDATE byok_keys SET user_id = $1`, true, 0}, // moving a's own key to b
	}
	for _, tc := range tests {
		func() {
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx) //nolint:errcheck
			if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true)`, a.ID); err != nil {
				t.Fatal(err)
			}
			tag, err := tx.Exec(ctx, tc.sql, b.ID)
			switch {
			case tc.wantErr && (err == nil || !strings.Contains(err.Error(), "row-level security")):
				t.Errorf("as a, Exec(%q, b) = %v, %v; want a row-level security violation", tc.sql, tag, err)
			case !tc.wantErr && (err != nil || tag.RowsAffected() != tc.wantRows):
				t.Errorf("as a, Exec(%q, b) = %v, %v; want %d rows affected", tc.sql, tag, err, tc.wantRows)
			}
		}()
	}
	ci, err := s.CallerInfo(ctx, b.ID)
	if err != nil || string(ci.BYOK["openai"]) != "sealed-"+b.ID || len(ci.BYOK) != 1 {
		t.Errorf("CallerInfo(%q).BYOK = %q, %v; want b's one key untouched", b.ID, ci.BYOK, err)
	}
}

// The probe above would pass vacuously if the role it runs as escaped RLS. Run
// it as a superuser and as the table owner and watch it see everything.
func TestRLSProbeCatchesPrivilegedRoles(t *testing.T) {
	pg := storetest.Postgres(t)
	s := storetest.Open(t, pg.Config())
	a, b := seedTwoUsers(t, s)
	// Every seeded row: two of each, and no password resets.
	everything := map[string]int{"users": 2, "api_keys": 2, "sessions": 2, "password_resets": 0, "credit_entries": 2,
		"usage_events": 2, "byok_keys": 2, "skill_kv": 2, "credit_balances": 2, "email_verifications": 2}
	visible, _ := rlsProbe(t, pg.Owner, a.ID, b.ID)
	if !maps.Equal(visible, everything) {
		t.Errorf("as the owner/superuser the probe sees %v; want every row %v", visible, everything)
	}

	// A non-superuser table owner escapes too (RLS is ENABLEd, not FORCEd).
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, pg.Owner)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	role := "agentbot_t_owner_" + pg.Name[len("agentbot_t_"):]
	if _, err := owner.Exec(ctx, "CREATE ROLE "+role+" LOGIN NOSUPERUSER"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), storetest.AdminURL())
		if err == nil {
			c.Exec(context.Background(), "DROP OWNED BY "+role) //nolint:errcheck
			c.Exec(context.Background(), "DROP ROLE "+role)     //nolint:errcheck
			c.Close(context.Background())
		}
	})
	for _, table := range tenantTables {
		if _, err := owner.Exec(ctx, "ALTER TABLE "+table+" OWNER TO "+role); err != nil {
			t.Fatal(err)
		}
	}
	ownerURL := strings.Replace(pg.Serving, storetest.LoginRole, role, 1)
	visible, cross := rlsProbe(t, ownerURL, a.ID, b.ID)
	if !maps.Equal(visible, everything) || cross != nil {
		t.Errorf("as a non-superuser owner the probe sees %v (cross write %v); want every row %v and the write allowed", visible, cross, everything)
	}
}

// Opening the store with a privileged URL must not serve with those privileges.
func TestPostgresPrivilegedURLServesAsAppRole(t *testing.T) {
	pg := storetest.Postgres(t)
	s := storetest.Open(t, store.Config{DatabaseURL: pg.Owner})
	a, b := seedTwoUsers(t, s)
	if _, err := s.APIKey(context.Background(), b.ID, "key_none"); err == nil {
		t.Fatal("expected not found")
	}
	keys, err := s.APIKeys(context.Background(), a.ID)
	if err != nil || len(keys) != 1 {
		t.Errorf("APIKeys(a) through a superuser URL = %v, %v; want a's one key", keys, err)
	}
	var role string
	if err := s.RawQueryRowForTest(context.Background(), "SELECT current_user").Scan(&role); err != nil || role != store.AppRole {
		t.Errorf("serving role = %q, %v; want %q", role, err, store.AppRole)
	}
}

// A login that is merely a member of the tables' owner inherits the owner's
// exemption from row-level security: the store must not serve as it.
func TestPostgresMemberOfOwnerServesAsAppRole(t *testing.T) {
	pg := storetest.Postgres(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, storetest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	suffix := pg.Name[len("agentbot_t_"):]
	owner, member := "agentbot_t_own_"+suffix, "agentbot_t_mem_"+suffix
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), storetest.AdminURL())
		if err == nil {
			for _, r := range []string{member, owner} {
				c.Exec(context.Background(), "DROP OWNED BY "+r) //nolint:errcheck
				c.Exec(context.Background(), "DROP ROLE "+r)     //nolint:errcheck
			}
			c.Close(context.Background())
		}
	})
	for _, q := range []string{
		"CREATE ROLE " + owner + " NOLOGIN NOSUPERUSER",
		"CREATE ROLE " + member + " LOGIN NOSUPERUSER IN ROLE " + owner + ", " + store.AppRole,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	oc, err := pgx.Connect(ctx, pg.Owner)
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close(ctx)
	for _, table := range tenantTables {
		if _, err := oc.Exec(ctx, "ALTER TABLE "+table+" OWNER TO "+owner); err != nil {
			t.Fatal(err)
		}
	}
	memberURL := strings.Replace(pg.Serving, storetest.LoginRole, member, 1)
	// The member does escape RLS when used directly ...
	s0 := storetest.Open(t, pg.Config())
	a, b := seedTwoUsers(t, s0)
	if visible, _ := rlsProbe(t, memberURL, a.ID, b.ID); visible["api_keys"] != 2 {
		t.Fatalf("as a member of the owner the probe sees %v; the premise (members inherit the exemption) fails", visible)
	}
	// ... so the store pins it to the application role.
	s := storetest.Open(t, store.Config{DatabaseURL: memberURL})
	var role string
	if err := s.RawQueryRowForTest(ctx, "SELECT current_user").Scan(&role); err != nil || role != store.AppRole {
		t.Errorf("serving role for a member of the owner = %q, %v; want %q", role, err, store.AppRole)
	}
}

func TestPostgresMigrateTwice(t *testing.T) {
	pg := storetest.Postgres(t)
	s := storetest.Open(t, pg.Config())
	mustUser(t, s, "keep@example.com")
	if err := store.Migrate(context.Background(), store.Config{DatabaseURL: pg.Owner}); err != nil {
		t.Fatalf("second Migrate = %v", err)
	}
	if _, err := s.CredentialByEmail(context.Background(), "keep@example.com"); err != nil {
		t.Errorf("data lost after re-running migrations: %v", err)
	}
}

// readOne's pipelined batch: the tenant and read-only settings hold for its
// statement and end with it (a one-connection pool shows nothing carried to
// the next use).
func TestReadOneIsScopedAndLeavesNothing(t *testing.T) {
	pg := storetest.Postgres(t)
	cfg := pg.Config()
	cfg.DatabaseURL += "?pool_max_conns=1"
	s := storetest.Open(t, cfg)
	ctx := context.Background()
	a, err := s.CreateUser(ctx, newUser("a@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateUser(ctx, newUser("b@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAPIKey(ctx, a.ID, "k", digest("ka"), "sk_"); err != nil {
		t.Fatal(err)
	}
	for range 3 { // the same connection each time
		keys, err := store.ReadOneAPIKeys(s, ctx, a.ID)
		if err != nil || len(keys) != 1 {
			t.Fatalf("a's keys = %d, %v; want 1", len(keys), err)
		}
		if keys, _ := store.ReadOneAPIKeys(s, ctx, b.ID); len(keys) != 0 {
			t.Fatalf("b sees %d of a's keys", len(keys))
		}
		if got := store.ReadOneSetting(s, ctx, a.ID); got != a.ID+" on" {
			t.Fatalf("inside = %q; want the tenant and read-only", got)
		}
		if got := store.UnscopedSetting(s, ctx); got != " off" {
			t.Fatalf("the next use of the connection sees %q; want no tenant, read-write", got)
		}
	}
	if err := store.ReadOneWrite(s, ctx, a.ID); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("a write through readOne = %v; want refused as read-only", err)
	}
	if err := store.ReadOneTwice(s, ctx, a.ID); err == nil {
		t.Error("a second statement through readOne succeeded")
	}
}
