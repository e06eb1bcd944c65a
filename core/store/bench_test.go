package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentbot/gateway/core/store/storetest"
)

// BenchmarkTenantRead compares a tenant-scoped read on PostgreSQL (transaction,
// set_config, RLS-checked SELECT, commit) with the same SELECT unscoped: one
// statement on a pool of the owner role, which RLS does not bind.
func BenchmarkTenantRead(b *testing.B) {
	pg := storetest.Postgres(b)
	s := storetest.Open(b, pg.Config())
	ctx := context.Background()
	u, err := s.CreateUser(ctx, newUser("bench@example.com"))
	if err != nil {
		b.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.CreateAPIKey(ctx, u.ID, "k", digest(u.ID+string(rune('a'+i))), "sk_"); err != nil {
			b.Fatal(err)
		}
	}
	owner, err := pgxpool.New(ctx, pg.Owner)
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close()
	const q = `SELECT id, user_id, name, key_prefix, created_at, last_used_at FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id`
	b.Run("baseline", func(b *testing.B) {
		for b.Loop() {
			rows, err := owner.Query(ctx, q, u.ID)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if n != 5 {
				b.Fatalf("read %d rows; want 5", n)
			}
		}
	})
	b.Run("tenant-scoped", func(b *testing.B) {
		for b.Loop() {
			keys, err := s.APIKeys(ctx, u.ID)
			if err != nil || len(keys) != 5 {
				b.Fatalf("APIKeys = %d, %v", len(keys), err)
			}
		}
	})
}
