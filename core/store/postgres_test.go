package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

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
		for _, table := range []string{"users", "api_keys", "sessions", "password_resets", "credit_entries"} {
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
	}
	return a, b
}

func TestPostgresRowLevelSecurity(t *testing.T) {
	pg := storetest.Postgres(t)
	s := storetest.Open(t, pg.Config())
	a, b := seedTwoUsers(t, s)

	visible, cross := rlsProbe(t, pg.Serving, a.ID, b.ID)
	for table, n := range visible {
		want := 1
		if table == "password_resets" || table == "credit_entries" {
			want = 0
		}
		if n != want {
			t.Errorf("as the serving role, user a sees %d rows of %s; want %d", n, table, want)
		}
	}
	if cross == nil || !strings.Contains(cross.Error(), "row-level security") {
		t.Errorf("writing a row for another user = %v; want a row-level security violation", cross)
	}
	noTenant, _ := rlsProbe(t, pg.Serving, "", b.ID)
	if noTenant["users"] != 0 || noTenant["api_keys"] != 0 {
		t.Errorf("with no tenant set, the serving role sees %v; want nothing", noTenant)
	}
}

// The probe above would pass vacuously if the role it runs as escaped RLS. Run
// it as a superuser and as the table owner and watch it see everything.
func TestRLSProbeCatchesPrivilegedRoles(t *testing.T) {
	pg := storetest.Postgres(t)
	s := storetest.Open(t, pg.Config())
	a, b := seedTwoUsers(t, s)
	visible, _ := rlsProbe(t, pg.Owner, a.ID, b.ID)
	if visible["users"] != 2 || visible["api_keys"] != 2 {
		t.Errorf("as the owner/superuser the probe sees %v; want every row (2 users, 2 keys)", visible)
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
	if _, err := owner.Exec(ctx, "ALTER TABLE users OWNER TO "+role+"; ALTER TABLE api_keys OWNER TO "+role+
		"; ALTER TABLE sessions OWNER TO "+role+"; ALTER TABLE password_resets OWNER TO "+role+
		"; ALTER TABLE credit_entries OWNER TO "+role); err != nil {
		t.Fatal(err)
	}
	ownerURL := strings.Replace(pg.Serving, storetest.LoginRole, role, 1)
	visible, cross := rlsProbe(t, ownerURL, a.ID, b.ID)
	if visible["users"] != 2 || cross != nil {
		t.Errorf("as a non-superuser owner the probe sees %v (cross write %v); want every row and the write allowed", visible, cross)
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
