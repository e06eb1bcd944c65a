package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

// A sign-in nonce is used once, however many requests race for it, and not
// after it expires; checking it does not use it.
func TestSIWENonceOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		now := time.Now()
		cfg.Now = func() time.Time { return now }
		s := storetest.Open(t, cfg)
		n := digest("nonce-1")
		if err := s.CreateSIWENonce(ctx, n, now.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if ok, err := s.SIWENonceUsable(ctx, n); !ok || err != nil {
				t.Fatalf("SIWENonceUsable = %v, %v; want true", ok, err)
			}
		}
		var won atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ConsumeSIWENonce(ctx, n)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d of 20 concurrent uses won; want exactly 1", won.Load())
		}
		if ok, _ := s.SIWENonceUsable(ctx, n); ok {
			t.Error("a used nonce is still usable")
		}
		if ok, _ := s.ConsumeSIWENonce(ctx, digest("never issued")); ok {
			t.Error("an unknown nonce was used")
		}
		old := digest("nonce-2")
		if err := s.CreateSIWENonce(ctx, old, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
		if ok, _ := s.SIWENonceUsable(ctx, old); ok {
			t.Error("an expired nonce is usable")
		}
		if ok, _ := s.ConsumeSIWENonce(ctx, old); ok {
			t.Error("an expired nonce was used")
		}
	})
}

func TestWallets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		const addr = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
		if _, err := s.UserByWallet(ctx, addr); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UserByWallet(unknown) error = %v; want ErrNotFound", err)
		}
		u, err := s.CreateWalletUser(ctx, store.NewUser{Email: addr + "@wallet.base.org", Name: "Wallet:0x7099...79c8"}, addr, 8453)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.UserByWallet(ctx, addr); err != nil || got != u.ID {
			t.Errorf("UserByWallet = %q, %v; want %q", got, err, u.ID)
		}
		if u.EmailVerified || u.Role != "user" {
			t.Errorf("wallet account: verified %v, role %q; want unverified user", u.EmailVerified, u.Role)
		}
		if h, _ := s.PasswordHash(ctx, u.ID); h != "" {
			t.Errorf("wallet account has password hash %q; want none", h)
		}
		// The address is bound once: a second account for it is a conflict,
		// and nothing of it is left behind.
		if _, err := s.CreateWalletUser(ctx, store.NewUser{Email: "other@wallet.base.org", Name: "x"}, addr, 8453); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateWalletUser(bound address) error = %v; want ErrConflict", err)
		}
		if _, err := s.CredentialByEmail(ctx, "other@wallet.base.org"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the refused account exists: %v", err)
		}
		// Linking: idempotent for the owner, a conflict for anyone else.
		bob := mustUser(t, s, "bob@example.com")
		if err := s.LinkWallet(ctx, u.ID, addr, 8453); err != nil {
			t.Errorf("LinkWallet(own address) = %v; want nil", err)
		}
		if err := s.LinkWallet(ctx, bob.ID, addr, 8453); !errors.Is(err, store.ErrConflict) {
			t.Errorf("LinkWallet(another's address) = %v; want ErrConflict", err)
		}
		const second = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
		if err := s.LinkWallet(ctx, bob.ID, second, 84532); err != nil {
			t.Fatal(err)
		}
		ws, err := s.Wallets(ctx, bob.ID)
		if err != nil || len(ws) != 1 || ws[0].Address != second || ws[0].ChainID != 84532 {
			t.Errorf("Wallets(bob) = %+v, %v; want only %s on 84532", ws, err, second)
		}
		if ws, _ := s.Wallets(ctx, u.ID); len(ws) != 1 || ws[0].Address != addr {
			t.Errorf("Wallets(wallet account) = %+v; want only %s", ws, addr)
		}
		// Only lower-case 0x hex is stored.
		if err := s.LinkWallet(ctx, bob.ID, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", 1); err == nil {
			t.Error("LinkWallet(mixed case) = nil; want an error")
		}
		// An account made by a wallet sign-in before wallets were bound is
		// found by its address, and only if it has no password.
		legacy, err := s.CreateUser(ctx, store.NewUser{Email: "0x90f79bf6eb2c4f870365e785982e1f101e93b906@wallet.base.org", Name: "w"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.PasswordlessUserByEmail(ctx, "0x90F79bf6eb2c4f870365e785982e1f101e93b906@wallet.base.org"); err != nil || got != legacy.ID {
			t.Errorf("PasswordlessUserByEmail = %q, %v; want %q", got, err, legacy.ID)
		}
		if _, err := s.PasswordlessUserByEmail(ctx, "bob@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("PasswordlessUserByEmail(password account) error = %v; want ErrNotFound", err)
		}
	})
}
