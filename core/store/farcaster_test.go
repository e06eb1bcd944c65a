package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

// A Farcaster id signs in to one account: made with it, found by it, linked
// idempotently by its owner and refused to anyone else.
func TestFarcasterLinks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		if _, err := s.UserByFID(ctx, 977233); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UserByFID(unknown) error = %v; want ErrNotFound", err)
		}
		u, err := s.CreateFarcasterUser(ctx, store.NewUser{Email: "977233@farcaster.invalid", Name: "Farcaster:977233"}, 977233)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.UserByFID(ctx, 977233); err != nil || got != u.ID {
			t.Errorf("UserByFID = %q, %v; want %q", got, err, u.ID)
		}
		if h, _ := s.PasswordHash(ctx, u.ID); h != "" {
			t.Errorf("Farcaster account has password hash %q; want none", h)
		}
		// A second account for the same FID is a conflict and leaves nothing.
		if _, err := s.CreateFarcasterUser(ctx, store.NewUser{Email: "again@farcaster.invalid", Name: "x"}, 977233); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateFarcasterUser(bound FID) error = %v; want ErrConflict", err)
		}
		if _, err := s.CredentialByEmail(ctx, "again@farcaster.invalid"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the refused account exists: %v", err)
		}
		bob := mustUser(t, s, "bob@example.com")
		if err := s.LinkFID(ctx, u.ID, 977233); err != nil {
			t.Errorf("LinkFID(own FID) = %v; want nil", err)
		}
		if err := s.LinkFID(ctx, bob.ID, 977233); !errors.Is(err, store.ErrConflict) {
			t.Errorf("LinkFID(another's FID) = %v; want ErrConflict", err)
		}
		if err := s.LinkFID(ctx, bob.ID, 3); err != nil {
			t.Fatal(err)
		}
		if fids, err := s.FIDs(ctx, bob.ID); err != nil || len(fids) != 1 || fids[0] != 3 {
			t.Errorf("FIDs(bob) = %v, %v; want [3]", fids, err)
		}
		if got, _ := s.UserByFID(ctx, 3); got != bob.ID {
			t.Errorf("UserByFID(3) = %q; want bob %q", got, bob.ID)
		}
		for _, bad := range []int64{0, -1} {
			if err := s.LinkFID(ctx, bob.ID, bad); err == nil {
				t.Errorf("LinkFID(%d) = nil; want an error", bad)
			}
		}
	})
}

// On PostgreSQL user_farcaster is guarded by RLS: the serving role sees only
// the tenant's own links and cannot bind a FID to another account.
func TestPostgresRLSGuardsFarcaster(t *testing.T) {
	pg := storetest.Postgres(t)
	s := storetest.Open(t, pg.Config())
	ctx := context.Background()
	a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
	if err := s.LinkFID(ctx, a.ID, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkFID(ctx, b.ID, 20); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, pg.Serving)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	count := func(tenant string) (n int) {
		t.Helper()
		err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true)`, tenant); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT count(*) FROM user_farcaster`).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(a.ID); n != 1 {
		t.Errorf("as a, the serving role sees %d rows of user_farcaster; want 1", n)
	}
	if n := count(""); n != 0 {
		t.Errorf("with no tenant, the serving role sees %d rows of user_farcaster; want 0", n)
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true)`, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO user_farcaster (fid, user_id, created_at) VALUES (30, $1, now())`, b.ID)
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("binding a FID to another account = %v; want a row-level security violation", err)
	}
}
