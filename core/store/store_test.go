package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

// The conformance suite: every test runs on SQLite and on PostgreSQL (as the
// unprivileged serving role).
func forEachBackend(t *testing.T, fn func(t *testing.T, cfg store.Config)) {
	for name, mk := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, mk(t))
		})
	}
}

func digest(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func mustUser(t *testing.T, s *store.Store, email string) *store.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), store.NewUser{Email: email, Name: email, PasswordHash: "h"})
	if err != nil {
		t.Fatalf("CreateUser(%q) = %v", email, err)
	}
	return u
}

func TestUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		u := mustUser(t, s, "Ada@Example.com")
		if u.Role != "user" || u.Plan != "" || string(u.Notifications) != "{}" {
			t.Errorf("new user = %+v; want role user, no plan, {} notifications", u)
		}
		if _, err := s.CreateUser(ctx, store.NewUser{Email: "ada@example.COM", Name: "x", PasswordHash: "h"}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateUser(duplicate, other case) = %v; want ErrConflict", err)
		}
		got, err := s.User(ctx, u.ID)
		if err != nil || got.Email != "Ada@Example.com" || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Errorf("User = %+v, %v; want the stored user", got, err)
		}
		c, err := s.CredentialByEmail(ctx, "ADA@example.com")
		if err != nil || c.UserID != u.ID || c.PasswordHash != "h" {
			t.Errorf("CredentialByEmail = %+v, %v", c, err)
		}
		if _, err := s.CredentialByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CredentialByEmail(unknown) = %v; want ErrNotFound", err)
		}
		name := "Ada L"
		up, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Name: &name, Notifications: []byte(`{"email":false}`)})
		if err != nil || up.Name != name || up.Email != u.Email {
			t.Fatalf("UpdateUser = %+v, %v", up, err)
		}
		other := mustUser(t, s, "bob@example.com")
		if _, err := s.UpdateUser(ctx, other.ID+"x", store.UserUpdate{Name: &name}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateUser(unknown) = %v; want ErrNotFound", err)
		}
		if _, err := s.User(ctx, ""); !errors.Is(err, store.ErrNoPrincipal) {
			t.Errorf("User(\"\") = %v; want ErrNoPrincipal", err)
		}
		if n, err := s.Credits(ctx, u.ID); err != nil || n != 0 {
			t.Errorf("Credits = %d, %v; want 0", n, err)
		}
	})
}

func TestConcurrentRegistrationsCreateOneUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		s := storetest.Open(t, cfg)
		var ok, conflict atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.CreateUser(context.Background(), store.NewUser{Email: []string{"race@example.com", "RACE@Example.com"}[i%2], Name: "r", PasswordHash: "h"})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, store.ErrConflict):
					conflict.Add(1)
				default:
					t.Errorf("CreateUser = %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || conflict.Load() != 19 {
			t.Errorf("concurrent registrations: %d created, %d conflicts; want 1 and 19", ok.Load(), conflict.Load())
		}
	})
}

func TestAPIKeysAreIsolated(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		ka, err := s.CreateAPIKey(ctx, a.ID, "ci", digest("sk_a"), "sk_aaaaaaa")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateAPIKey(ctx, b.ID, "b1", digest("sk_b"), "sk_bbbbbbb"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateAPIKey(ctx, b.ID, "dup", digest("sk_b"), "sk_bbbbbbb"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateAPIKey(duplicate digest) = %v; want ErrConflict", err)
		}
		if _, err := s.APIKey(ctx, b.ID, ka.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("APIKey(other user's key) = %v; want ErrNotFound", err)
		}
		if err := s.DeleteAPIKey(ctx, b.ID, ka.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteAPIKey(other user's key) = %v; want ErrNotFound", err)
		}
		if err := s.TouchAPIKey(ctx, b.ID, ka.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		keys, err := s.APIKeys(ctx, b.ID)
		if err != nil || len(keys) != 1 || keys[0].Name != "b1" {
			t.Errorf("APIKeys(b) = %+v, %v; want only b's key", keys, err)
		}
		got, err := s.APIKey(ctx, a.ID, ka.ID)
		if err != nil || got.LastUsed != nil || got.Prefix != "sk_aaaaaaa" {
			t.Errorf("APIKey(a) = %+v, %v; want a's key, untouched by b", got, err)
		}
		owner, err := s.APIKeyByHash(ctx, digest("sk_a"))
		if err != nil || owner.UserID != a.ID || owner.KeyID != ka.ID || owner.Email != "a@example.com" {
			t.Errorf("APIKeyByHash = %+v, %v", owner, err)
		}
		at := time.Now().UTC().Truncate(time.Millisecond)
		if err := s.TouchAPIKey(ctx, a.ID, ka.ID, at); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.APIKey(ctx, a.ID, ka.ID); got.LastUsed == nil || !got.LastUsed.Equal(at) {
			t.Errorf("LastUsed = %v; want %v", got.LastUsed, at)
		}
		if err := s.DeleteAPIKey(ctx, a.ID, ka.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.APIKeyByHash(ctx, digest("sk_a")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("APIKeyByHash(deleted) = %v; want ErrNotFound", err)
		}
	})
}

func TestSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		now := time.Now()
		cfg.Now = func() time.Time { return now }
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		sa, err := s.CreateSession(ctx, a.ID, digest("tok-a"), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.SessionByHash(ctx, digest("tok-a"))
		if err != nil || got.UserID != a.ID || got.ID != sa.ID || got.Email != a.Email {
			t.Fatalf("SessionByHash = %+v, %v", got, err)
		}
		if err := s.DeleteSession(ctx, b.ID, sa.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionByHash(ctx, digest("tok-a")); err != nil {
			t.Errorf("session deleted by another user: %v", err)
		}
		now = now.Add(2 * time.Hour)
		if _, err := s.SessionByHash(ctx, digest("tok-a")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SessionByHash(expired) = %v; want ErrNotFound", err)
		}
		if err := s.ExtendSession(ctx, a.ID, sa.ID, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionByHash(ctx, digest("tok-a")); err != nil {
			t.Errorf("SessionByHash(extended) = %v", err)
		}
		if err := s.SetPassword(ctx, a.ID, "new", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionByHash(ctx, digest("tok-a")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session after password change = %v; want revoked", err)
		}
	})
}

func TestPasswordResetWorksOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		now := time.Now()
		cfg.Now = func() time.Time { return now }
		s := storetest.Open(t, cfg)
		a := mustUser(t, s, "a@example.com")
		if err := s.CreatePasswordReset(ctx, a.ID, digest("r1"), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.CreatePasswordReset(ctx, a.ID, digest("r2"), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.ResetPassword(ctx, digest("r1"), "p1")
				if err == nil {
					ok.Add(1)
				} else if !errors.Is(err, store.ErrTokenInvalid) {
					t.Errorf("ResetPassword = %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Errorf("concurrent uses of one token: %d succeeded; want 1", ok.Load())
		}
		if h, _ := s.PasswordHash(ctx, a.ID); h != "p1" {
			t.Errorf("password hash = %q; want p1", h)
		}
		if _, err := s.ResetPassword(ctx, digest("unknown"), "x"); !errors.Is(err, store.ErrTokenInvalid) {
			t.Errorf("ResetPassword(unknown) = %v; want ErrTokenInvalid", err)
		}
		now = now.Add(time.Hour)
		if _, err := s.ResetPassword(ctx, digest("r2"), "p2"); !errors.Is(err, store.ErrTokenInvalid) {
			t.Errorf("ResetPassword(expired) = %v; want ErrTokenInvalid", err)
		}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		s := storetest.Open(t, cfg)
		mustUser(t, s, "keep@example.com")
		mcfg := cfg
		if cfg.DatabaseURL != "" {
			// Migrations run as the owner; the serving role may not create tables.
			t.Skip("covered by TestPostgresMigrateTwice")
		}
		if err := store.Migrate(context.Background(), mcfg); err != nil {
			t.Fatalf("second Migrate = %v", err)
		}
		if _, err := s.CredentialByEmail(context.Background(), "keep@example.com"); err != nil {
			t.Errorf("data lost after re-running migrations: %v", err)
		}
	})
}

func newUser(email string) store.NewUser {
	return store.NewUser{Email: email, Name: email, PasswordHash: "h"}
}
