package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

// An agent's verification is its owner's alone: set, replaced, read and
// removed by the owner; another user neither sees nor touches it.
func TestAgentVerificationIsTheOwnersAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		ag := mustAgent(t, s, a.ID, "verified")
		if _, err := s.AgentVerification(ctx, a.ID, ag.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("AgentVerification(none) = %v; want ErrNotFound", err)
		}
		at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
		v := store.AgentVerification{AgentID: ag.ID, Type: "eas", AttestationUID: "0x01", VerifierAddress: "0xabc",
			Metadata: json.RawMessage(`{"schema":"0x02"}`), VerifiedAt: at}
		if err := s.SetAgentVerification(ctx, b.ID, v); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b setting a's agent's verification = %v; want ErrNotFound", err)
		}
		if err := s.SetAgentVerification(ctx, a.ID, v); err != nil {
			t.Fatal(err)
		}
		v.Type, v.AttestationUID, v.Metadata = "ens", "ens-0xabc", json.RawMessage(`{"name":"a.eth"}`)
		if err := s.SetAgentVerification(ctx, a.ID, v); err != nil {
			t.Fatal(err)
		}
		got, err := s.AgentVerification(ctx, a.ID, ag.ID)
		var meta map[string]string
		if err != nil || got.Type != "ens" || got.AttestationUID != "ens-0xabc" || got.VerifierAddress != "0xabc" ||
			!got.VerifiedAt.Equal(at) || json.Unmarshal(got.Metadata, &meta) != nil || meta["name"] != "a.eth" {
			t.Fatalf("AgentVerification = %+v, %v; want the replacing ens verification", got, err)
		}
		if _, err := s.AgentVerification(ctx, b.ID, ag.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b reading a's agent's verification = %v; want ErrNotFound", err)
		}
		if ok, err := s.DeleteAgentVerification(ctx, b.ID, ag.ID); ok || err != nil {
			t.Errorf("b deleting a's agent's verification = %v, %v; want false", ok, err)
		}
		if ok, err := s.DeleteAgentVerification(ctx, a.ID, ag.ID); !ok || err != nil {
			t.Errorf("DeleteAgentVerification = %v, %v; want true", ok, err)
		}
		if _, err := s.AgentVerification(ctx, a.ID, ag.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AgentVerification after delete = %v; want ErrNotFound", err)
		}
	})
}

// A challenge is used once, however many requests race for it, only for its
// agent and owner, and not after it expires.
func TestVerifyChallengeOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		var now atomic.Pointer[time.Time]
		t0 := time.Now()
		now.Store(&t0)
		cfg.Now = func() time.Time { return *now.Load() }
		s := storetest.Open(t, cfg)
		a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
		ag, other := mustAgent(t, s, a.ID, "one"), mustAgent(t, s, a.ID, "two")
		h := digest("challenge-1")
		if err := s.CreateVerifyChallenge(ctx, b.ID, ag.ID, h, t0.Add(10*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("b making a challenge for a's agent = %v; want ErrNotFound", err)
		}
		if err := s.CreateVerifyChallenge(ctx, a.ID, ag.ID, h, t0.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ user, agent string }{{b.ID, ag.ID}, {a.ID, other.ID}} {
			if ok, err := s.VerifyChallengeUsable(ctx, tc.user, tc.agent, h); ok || err != nil {
				t.Errorf("VerifyChallengeUsable(%s, %s) = %v, %v; want false", tc.user, tc.agent, ok, err)
			}
			if ok, err := s.ConsumeVerifyChallenge(ctx, tc.user, tc.agent, h); ok || err != nil {
				t.Errorf("ConsumeVerifyChallenge(%s, %s) = %v, %v; want false", tc.user, tc.agent, ok, err)
			}
		}
		if ok, err := s.VerifyChallengeUsable(ctx, a.ID, ag.ID, h); !ok || err != nil {
			t.Fatalf("VerifyChallengeUsable = %v, %v; want true", ok, err)
		}
		var won atomic.Int64
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ConsumeVerifyChallenge(ctx, a.ID, ag.ID, h)
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
			t.Fatalf("%d of 10 concurrent uses won; want exactly 1", won.Load())
		}
		h2 := digest("challenge-2")
		if err := s.CreateVerifyChallenge(ctx, a.ID, ag.ID, h2, t0.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		later := t0.Add(11 * time.Minute)
		now.Store(&later)
		if ok, err := s.ConsumeVerifyChallenge(ctx, a.ID, ag.ID, h2); ok || err != nil {
			t.Errorf("ConsumeVerifyChallenge(expired) = %v, %v; want false", ok, err)
		}
	})
}

// Through row-level security alone, the serving role sees only the tenant's
// verifications and challenges and cannot write another tenant's.
func TestPostgresRLSGuardsAgentVerifications(t *testing.T) {
	pg := storetest.Postgres(t)
	s := storetest.Open(t, pg.Config())
	ctx := context.Background()
	a, b := mustUser(t, s, "a@example.com"), mustUser(t, s, "b@example.com")
	for _, u := range []*store.User{a, b} {
		ag := mustAgent(t, s, u.ID, "agent")
		if err := s.SetAgentVerification(ctx, u.ID, store.AgentVerification{AgentID: ag.ID, Type: "eas",
			AttestationUID: "0x01", VerifiedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateVerifyChallenge(ctx, u.ID, ag.ID, digest("c"+u.ID), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	bAgent, err := s.Agents(ctx, b.ID)
	if err != nil || len(bAgent) != 1 {
		t.Fatal(bAgent, err)
	}
	tx := pg.TenantTx(t, a.ID)
	for _, table := range []string{"agent_verifications", "agent_verify_challenges"} {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 1 {
			t.Errorf("as a, %s has %d rows visible (%v); want 1", table, n, err)
		}
	}
	for _, sql := range []string{
		`UPDATE agent_verifications SET type = 'ens' WHERE user_id = $1`,
		`DELETE FROM agent_verify_challenges WHERE user_id = $1`,
	} {
		if tag, err := tx.Exec(ctx, sql, b.ID); err != nil || tag.RowsAffected() != 0 {
			t.Errorf("as a, Exec(%q, b) = %v, %v; want nothing affected", sql, tag, err)
		}
	}
	_, err = tx.Exec(ctx, `INSERT INTO agent_verify_challenges (challenge_hash, agent_id, user_id, expires_at)
		VALUES ('\x01', $1, $2, now())`, bAgent[0].ID, b.ID)
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("as a, inserting b's challenge = %v; want a row-level security violation", err)
	}
}
