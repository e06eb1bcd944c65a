// Package storetest provides fresh databases for tests: a SQLite file in a
// temporary directory, or a new PostgreSQL database served through a login role
// that is neither superuser nor table owner, so that row-level security is
// really in force.
//
// PostgreSQL is found at AGENTBOT_TEST_PG_URL (default
// postgres://postgres@127.0.0.1:5432/postgres), a role allowed to create
// databases and roles. When it is unreachable the test is skipped, or fails when
// CI=true.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentbot/gateway/core/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// LoginRole is the login role tests serve as; a member of store.AppRole.
const LoginRole = "agentbot_test_login"

// AdminURL is the privileged PostgreSQL URL tests create databases with.
func AdminURL() string {
	if u := os.Getenv("AGENTBOT_TEST_PG_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres"
}

// RequireService skips (or, under CI=true, fails) the test when a backing
// service is unavailable.
func RequireService(t testing.TB, name string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true but unavailable: %v", name, err)
	}
	t.Skipf("%s unavailable (set CI=true to make this a failure): %v", name, err)
}

// SQLite returns the configuration of a fresh SQLite store.
func SQLite(t testing.TB) store.Config {
	return store.Config{DataDir: t.TempDir(), Migrate: true, Log: quiet}
}

// PG describes a fresh PostgreSQL database.
type PG struct {
	// Serving is the URL of the unprivileged login role.
	Serving string
	// Owner is the URL of the privileged role that ran the migrations.
	Owner string
	Name  string
}

// Config returns a store configuration that serves as the unprivileged role.
func (p PG) Config() store.Config { return store.Config{DatabaseURL: p.Serving, Log: quiet} }

// TenantTx is a transaction of the unprivileged serving role with the
// tenant set to userID, as the store's own reads run, for tests that probe
// row-level security directly. It is rolled back when the test ends.
func (p PG) TenantTx(t testing.TB, userID string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, p.Serving)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true)`, userID); err != nil {
		t.Fatal(err)
	}
	return tx
}

var roleOnce sync.Mutex

// Postgres creates a new migrated database, dropped when the test ends.
func Postgres(t testing.TB) PG {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminURL())
	RequireService(t, "PostgreSQL at "+AdminURL(), err)
	defer admin.Close(context.Background())

	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "agentbot_t_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	owner := withDB(t, AdminURL(), name, "")
	if err := store.Migrate(ctx, store.Config{DatabaseURL: owner, Log: quiet}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	roleOnce.Lock()
	_, err = admin.Exec(ctx, fmt.Sprintf(`DO $$ BEGIN
		CREATE ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE %s;
	EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`, LoginRole, store.AppRole))
	roleOnce.Unlock()
	if err != nil {
		t.Fatalf("create login role: %v", err)
	}
	return PG{Serving: withDB(t, AdminURL(), name, LoginRole), Owner: owner, Name: name}
}

// withDB returns base with its database (and, if set, user) replaced.
func withDB(t testing.TB, base, db, user string) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("AGENTBOT_TEST_PG_URL: %v", err)
	}
	u.Path = "/" + db
	if user != "" {
		u.User = url.User(user)
	}
	return u.String()
}

// Open opens a store on cfg and closes it when the test ends.
func Open(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Backends returns a constructor per backend, for suites that run on both.
func Backends() map[string]func(t testing.TB) store.Config {
	return map[string]func(t testing.TB) store.Config{
		"sqlite":   SQLite,
		"postgres": func(t testing.TB) store.Config { return Postgres(t).Config() },
	}
}
