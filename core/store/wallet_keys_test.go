package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

func TestWalletKeysAreTheOwnersAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		ag := mustAgent(t, s, a.ID, "payer")

		if _, err := s.WalletKey(ctx, a.ID, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("WalletKey before = %v; want ErrNotFound", err)
		}
		k, err := s.PutWalletKey(ctx, a.ID, "", "0x00000000000000000000000000000000000000a1", "local", []byte{1, 2, 3})
		if err != nil || k.Owner != a.ID || string(k.SealedKey) != "\x01\x02\x03" {
			t.Fatalf("PutWalletKey = %+v, %v", k, err)
		}
		// A second put (a concurrent creation) keeps the first key.
		k2, err := s.PutWalletKey(ctx, a.ID, "", "0x00000000000000000000000000000000000000a2", "local", []byte{9})
		if err != nil || k2.Address != k.Address || string(k2.SealedKey) != "\x01\x02\x03" {
			t.Errorf("second PutWalletKey = %+v, %v; want the first", k2, err)
		}
		ak, err := s.PutWalletKey(ctx, a.ID, ag.ID, "0x00000000000000000000000000000000000000a3", "local", []byte{4})
		if err != nil || ak.Owner != a.ID+"/"+ag.ID || ak.AgentID != ag.ID {
			t.Fatalf("agent PutWalletKey = %+v, %v", ak, err)
		}
		if got, err := s.WalletKey(ctx, a.ID, ag.ID); err != nil || got.Address != ak.Address {
			t.Errorf("agent WalletKey = %+v, %v", got, err)
		}
		// b sees none of it, even naming a's agent.
		if _, err := s.WalletKey(ctx, b.ID, ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b's WalletKey = %v; want ErrNotFound", err)
		}
		if _, err := s.WalletKey(ctx, b.ID, ag.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b's WalletKey of a's agent = %v; want ErrNotFound", err)
		}
		if _, _, err := s.ReserveTransfer(ctx, b.ID, ag.ID, "k", "0xto", 1, 100); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b reserving on a's agent = %v; want ErrNotFound", err)
		}
		// An address belongs to one wallet.
		if _, err := s.PutWalletKey(ctx, b.ID, "", k.Address, "local", []byte{5}); err == nil {
			t.Error("b taking a's address = nil error; want a conflict")
		}
		if _, err := s.WalletKey(ctx, "", ""); !errors.Is(err, store.ErrNoPrincipal) {
			t.Errorf("WalletKey without a principal = %v; want ErrNoPrincipal", err)
		}
	})
}

func TestReserveTransferCapAndIdempotency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)}
		s := openAt(t, cfg, c)
		a := mustUser(t, s, "a@example.com")
		if _, _, err := s.ReserveTransfer(ctx, a.ID, "", "k0", "0xto", 1, 100); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reserve without a wallet = %v; want ErrNotFound", err)
		}
		if _, err := s.PutWalletKey(ctx, a.ID, "", "0x00000000000000000000000000000000000000a1", "local", []byte{1}); err != nil {
			t.Fatal(err)
		}
		t1, fresh, err := s.ReserveTransfer(ctx, a.ID, "", "k1", "0xto", 60, 100)
		if err != nil || !fresh || t1.Status != store.TransferPending {
			t.Fatalf("reserve 60 = %+v, %v, %v; want a fresh pending transfer", t1, fresh, err)
		}
		// The same key again returns it, not a second one.
		again, fresh, err := s.ReserveTransfer(ctx, a.ID, "", "k1", "0xto", 60, 100)
		if err != nil || fresh || again.ID != t1.ID {
			t.Errorf("reserve k1 again = %+v, %v, %v; want the first, not fresh", again, fresh, err)
		}
		if _, _, err := s.ReserveTransfer(ctx, a.ID, "", "k1", "0xto", 61, 100); !errors.Is(err, store.ErrTransferMismatch) {
			t.Errorf("k1 with another amount = %v; want ErrTransferMismatch", err)
		}
		// 60 pending + 41 > 100.
		var capErr *store.SpendCapError
		if _, _, err := s.ReserveTransfer(ctx, a.ID, "", "k2", "0xto", 41, 100); !errors.As(err, &capErr) || capErr.Spent != 60 {
			t.Errorf("reserve 41 = %v; want a SpendCapError with 60 spent", err)
		}
		// A failed transfer gives its amount back; a sent one keeps it.
		if err := s.FinishTransfer(ctx, a.ID, t1.ID, store.TransferFailed, "", ""); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishTransfer(ctx, a.ID, t1.ID, store.TransferSent, "0xh", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("finishing a finished transfer = %v; want ErrNotFound", err)
		}
		t2, _, err := s.ReserveTransfer(ctx, a.ID, "", "k2", "0xto", 100, 100)
		if err != nil {
			t.Fatalf("reserve 100 after the failure = %v", err)
		}
		if err := s.FinishTransfer(ctx, a.ID, t2.ID, store.TransferSent, "0xh", `{"txHash":"0xh"}`); err != nil {
			t.Fatal(err)
		}
		if got, _, err := s.ReserveTransfer(ctx, a.ID, "", "k2", "0xto", 100, 100); err != nil || got.Status != store.TransferSent || got.TxHash != "0xh" || got.Output == "" {
			t.Errorf("replayed k2 = %+v, %v; want sent with its hash and output", got, err)
		}
		if _, _, err := s.ReserveTransfer(ctx, a.ID, "", "k3", "0xto", 1, 100); !errors.As(err, &capErr) {
			t.Errorf("reserve past the cap = %v; want a SpendCapError", err)
		}
		// The cap is per UTC day.
		c.add(time.Hour)
		if _, fresh, err := s.ReserveTransfer(ctx, a.ID, "", "k3", "0xto", 100, 100); err != nil || !fresh {
			t.Errorf("reserve the next day = %v, %v; want it let through", fresh, err)
		}
	})
}

// TestReserveTransferConcurrent: however many reservations race, the cap
// holds.
func TestReserveTransferConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		a := mustUser(t, s, "a@example.com")
		if _, err := s.PutWalletKey(ctx, a.ID, "", "0x00000000000000000000000000000000000000a1", "local", []byte{1}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := s.ReserveTransfer(ctx, a.ID, "", string(rune('a'+i)), "0xto", 30, 100)
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if !errors.As(err, new(*store.SpendCapError)) {
					t.Errorf("reserve = %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 3 {
			t.Errorf("%d reservations of 30 went through under a cap of 100; want 3", ok)
		}
	})
}

// On PostgreSQL the wallet tables are guarded by RLS: as one tenant, with no
// WHERE clause, another's wallets and transfers are invisible and cannot be
// written.
func TestPostgresRLSGuardsWalletTables(t *testing.T) {
	pg := storetest.Postgres(t)
	s := storetest.Open(t, pg.Config())
	ctx := context.Background()
	a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
	for i, u := range []*store.User{a, b} {
		addr := "0x00000000000000000000000000000000000000a" + string(rune('1'+i))
		if _, err := s.PutWalletKey(ctx, u.ID, "", addr, "local", []byte{1}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ReserveTransfer(ctx, u.ID, "", "k", "0xto", 1, 10); err != nil {
			t.Fatal(err)
		}
	}
	tx := pg.TenantTx(t, a.ID)
	for _, table := range []string{"wallet_keys", "wallet_transfers"} {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 1 {
			t.Errorf("as a, SELECT count(*) FROM %s (no WHERE) = %d, %v; want only a's 1 row", table, n, err)
		}
	}
	tag, err := tx.Exec(ctx, `UPDATE wallet_keys SET sealed_key = '\x00' WHERE user_id = $1`, b.ID)
	if err != nil || tag.RowsAffected() != 0 {
		t.Errorf("as a, overwriting b's sealed key = %v, %v; want 0 rows", tag, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO wallet_keys (owner, user_id, agent_id, address, backend, sealed_key, created_at)
		VALUES ($1, $2, 'agt_x', '0x00000000000000000000000000000000000000b9', 'local', '\x00', now())`, b.ID+"/agt_x", b.ID)
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("as a, inserting a wallet for b = %v; want a row-level security violation", err)
	}
}
