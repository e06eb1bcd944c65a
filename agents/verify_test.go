package agents_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/agents"
	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/chain/chaintest"
	"github.com/agentbot/gateway/core/ens"
	"github.com/agentbot/gateway/core/evm"
	"github.com/agentbot/gateway/core/server/servertest"
)

// agentOf provisions an agent for a signed-in client with a plan.
func agentOf(t *testing.T, c *servertest.Client, name string) string {
	t.Helper()
	r := c.Do("POST", "/api/agents/provision", map[string]any{"name": name}).Expect(t, 201, "")
	a, _ := r.JSON["agent"].(map[string]any)
	id, _ := a["id"].(string)
	if id == "" {
		t.Fatalf("provision = %s", r.Body)
	}
	return id
}

// signChallenge gets a challenge for the agent and signs its message with key.
func signChallenge(t *testing.T, c *servertest.Client, agentID string, sign func([32]byte) []byte) (challenge, sig string) {
	t.Helper()
	r := c.Do("POST", "/api/agents/"+agentID+"/verify/challenge", nil).Expect(t, 200, "")
	msg := r.Str("message")
	if r.Str("challenge") == "" || msg == "" || r.Str("expiresAt") == "" {
		t.Fatalf("challenge = %s", r.Body)
	}
	return r.Str("challenge"), fmt.Sprintf("0x%x", sign(evm.TextHash([]byte(msg))))
}

// Without a chain: bad input is 400, another user's agent 404 on every
// verify route, an unverified agent reads as the seed's nulls, and a check
// that needs the chain is 503, never 500.
func TestVerifyInputAndIsolation(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		alice, _, _ := e.user(t, "alice@example.com", "solo")
		bob, _, _ := e.user(t, "bob@example.com", "solo")
		id := agentOf(t, alice, "Verified")
		bobs := agentOf(t, bob, "Other")
		base := "/api/agents/" + id + "/verify"

		e.Client(t).Do("GET", base, nil).Expect(t, 401, "AUTH_REQUIRED")
		for _, m := range []string{"GET", "POST", "DELETE"} {
			bob.Do(m, base, map[string]any{"verificationType": "eas"}).Expect(t, 404, "AGENT_NOT_FOUND")
		}
		bob.Do("POST", base+"/challenge", nil).Expect(t, 404, "AGENT_NOT_FOUND")

		r := alice.Do("GET", base, nil).Expect(t, 200, "")
		if r.JSON["verified"] != false || r.JSON["verificationType"] != nil || r.JSON["attestationUid"] != nil ||
			r.JSON["verifiedAt"] != nil {
			t.Errorf("GET unverified = %s", r.Body)
		}
		uid := "0x" + fmt.Sprintf("%064x", 7)
		for _, tc := range []struct {
			body any
			code string
		}{
			{`{"verificationType":`, "INVALID_JSON"},
			{map[string]any{"verificationType": "passport"}, "VERIFY_TYPE_INVALID"},
			{map[string]any{}, "VERIFY_TYPE_INVALID"},
			{map[string]any{"verificationType": "eas"}, "VALIDATION_ERROR"},
			{map[string]any{"verificationType": "eas", "attestationUid": "0x1234"}, "VALIDATION_ERROR"},
			{map[string]any{"verificationType": "eas", "attestationUid": uid, "walletAddress": "0xnope"}, "VALIDATION_ERROR"},
			{map[string]any{"verificationType": "ens", "walletAddress": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}, "VALIDATION_ERROR"},
			{map[string]any{"verificationType": "coinbase", "signature": "0x00"}, "VALIDATION_ERROR"},
			{map[string]any{"verificationType": "webauthn", "walletAddress": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
				"signature": "0x00", "challenge": "abc"}, "CHAIN_UNAVAILABLE"},
			{map[string]any{"verificationType": "eas", "attestationUid": uid}, "CHAIN_UNAVAILABLE"},
		} {
			want := 400
			if tc.code == "CHAIN_UNAVAILABLE" {
				want = 503
			}
			alice.Do("POST", base, tc.body).Expect(t, want, tc.code)
		}

		// Challenges: unknown, another agent's, and a malformed signature.
		dev := chaintest.DevAccounts()[1]
		ch, sig := signChallenge(t, alice, id, dev.Key.Sign)
		body := map[string]any{"verificationType": "coinbase", "walletAddress": dev.Address.Hex(), "signature": sig}
		body["challenge"] = "0123456789abcdef0123456789abcdef"
		alice.Do("POST", base, body).Expect(t, 400, "VERIFY_CHALLENGE_INVALID")
		body["challenge"] = ch
		bob.Do("POST", "/api/agents/"+bobs+"/verify", body).Expect(t, 400, "VERIFY_CHALLENGE_INVALID")
		body["signature"] = "0xzz"
		alice.Do("POST", base, body).Expect(t, 400, "VALIDATION_ERROR")
		// A good EOA signature needs no chain to prove the wallet; the
		// indexer does.
		body["signature"] = sig
		alice.Do("POST", base, body).Expect(t, 503, "CHAIN_UNAVAILABLE")

		r = alice.Do("DELETE", base, nil).Expect(t, 200, "")
		if r.JSON["success"] != true || r.JSON["removed"] != false {
			t.Errorf("DELETE unverified = %s", r.Body)
		}
	})
}

// onChain is a local chain with EAS, a Coinbase-style indexer, a toy ENS and
// a smart-wallet factory, and the Verification that points at them.
type onChain struct {
	c                          *chaintest.Chain
	eas                        *chaintest.EAS
	ens                        *chaintest.ENS
	factory                    *chaintest.Factory
	schema, otherSchema, cbSch [32]byte
	deployer, attester         chaintest.Account
	v                          agents.Verification
}

func startOnChain(t *testing.T) *onChain {
	c := chaintest.Start(t)
	o := &onChain{c: c, deployer: c.Accounts[0], attester: c.Accounts[1]}
	d := o.deployer.Address
	o.eas = c.DeployEAS(d)
	o.schema = o.eas.RegisterSchema(d, "bool agentVerified", true)
	o.otherSchema = o.eas.RegisterSchema(d, "string note", true)
	o.cbSch = o.eas.RegisterSchema(d, "bool verifiedAccount", true)
	o.ens = c.DeployENS(d)
	o.factory = c.DeployFactory(d)
	idx := c.DeployIndexer(d)
	o.v = agents.Verification{Chain: c.Client, ENSChain: c.Client, EAS: o.eas.Address,
		Schemas: [][32]byte{o.schema, o.cbSch}, Attesters: []evm.Address{o.attester.Address},
		CoinbaseIndexer: idx, CoinbaseAttester: o.attester.Address, CoinbaseSchema: o.cbSch, ENSRegistry: o.ens.Registry}
	return o
}

// The four types against real contracts on anvil, on both stores.
func TestVerifyOnChain(t *testing.T) {
	o := startOnChain(t)
	c := o.c
	holder, stranger, owner := c.Accounts[2], c.Accounts[3], c.Accounts[4]
	ts := c.Timestamp()
	valid := o.eas.Attest(o.attester.Address, o.schema, holder.Address, 0, true, []byte{1})
	expiring := o.eas.Attest(o.attester.Address, o.schema, holder.Address, ts+3600, true, []byte{1})
	revoked := o.eas.Attest(o.attester.Address, o.schema, holder.Address, 0, true, []byte{1})
	o.eas.Revoke(o.attester.Address, o.schema, revoked)
	wrongSchema := o.eas.Attest(o.attester.Address, o.otherSchema, holder.Address, 0, true, []byte{1})
	wrongAttester := o.eas.Attest(stranger.Address, o.schema, holder.Address, 0, true, []byte{1})
	idx := o.v.CoinbaseIndexer
	cb := o.eas.Attest(o.attester.Address, o.cbSch, holder.Address, 0, true, []byte{1})
	c.Transact(o.deployer.Address, idx, "setAttestationUid(address,bytes32,bytes32)", holder.Address, o.cbSch, cb)
	o.ens.SetName(o.deployer.Address, ens.ReverseNode(holder.Address), "holder.eth")
	o.ens.SetAddr(o.deployer.Address, ens.Namehash("holder.eth"), holder.Address)
	o.ens.SetName(o.deployer.Address, ens.ReverseNode(stranger.Address), "holder.eth") // a claim the forward check refuses
	undeployed := o.factory.WalletAddress(owner.Address, 1)
	deployed := o.factory.DeployWallet(o.deployer.Address, owner.Address, 2)

	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var skew atomic.Int64
			e := newEnvWith(t, backend, nil, func(s *agents.Service) {
				s.Verify = o.v
				s.Now = func() time.Time { return time.Unix(int64(c.Timestamp()), 0).Add(time.Duration(skew.Load())) }
			})
			alice, aliceID, _ := e.user(t, "alice@example.com", "solo")
			id := agentOf(t, alice, "Verified")
			base := "/api/agents/" + id + "/verify"
			post := func(body map[string]any, status int, code string) *servertest.Response {
				t.Helper()
				return alice.Do("POST", base, body).Expect(t, status, code)
			}
			signed := func(typ string, acct chaintest.Account, extra map[string]any) map[string]any {
				t.Helper()
				ch, sig := signChallenge(t, alice, id, acct.Key.Sign)
				b := map[string]any{"verificationType": typ, "walletAddress": acct.Address.Hex(), "signature": sig, "challenge": ch}
				for k, v := range extra {
					b[k] = v
				}
				return b
			}
			hexUID := func(u [32]byte) string { return fmt.Sprintf("0x%x", u) }

			// eas
			r := post(map[string]any{"verificationType": "eas", "attestationUid": hexUID(valid)}, 200, "")
			if r.JSON["verified"] != true || r.Str("attestationUid") != hexUID(valid) {
				t.Errorf("eas = %s", r.Body)
			}
			g := alice.Do("GET", base, nil).Expect(t, 200, "")
			meta, _ := g.JSON["metadata"].(map[string]any)
			if g.JSON["verified"] != true || g.Str("verificationType") != "eas" || g.Str("attestationUid") != hexUID(valid) ||
				g.Str("verifierAddress") != fmt.Sprintf("0x%x", o.attester.Address[:]) || meta["recipient"] != holder.Address.Hex() {
				t.Errorf("GET after eas = %s", g.Body)
			}
			for _, tc := range []struct {
				uid  [32]byte
				code string
			}{
				{revoked, "VERIFY_ATTESTATION_REVOKED"},
				{wrongSchema, "VERIFY_SCHEMA_NOT_ALLOWED"},
				{wrongAttester, "VERIFY_ATTESTER_NOT_ALLOWED"},
				{[32]byte{0xab}, "VERIFY_ATTESTATION_NOT_FOUND"},
			} {
				post(map[string]any{"verificationType": "eas", "attestationUid": hexUID(tc.uid)}, 422, tc.code)
			}
			post(map[string]any{"verificationType": "eas", "attestationUid": hexUID(expiring)}, 200, "")
			skew.Store(int64(2 * time.Hour))
			post(map[string]any{"verificationType": "eas", "attestationUid": hexUID(expiring)}, 422, "VERIFY_ATTESTATION_EXPIRED")
			skew.Store(0)
			// With a wallet: it must be the caller's, and the recipient.
			post(map[string]any{"verificationType": "eas", "attestationUid": hexUID(valid), "walletAddress": holder.Address.Hex()},
				422, "VERIFY_WALLET_UNPROVEN")
			post(signed("eas", stranger, map[string]any{"attestationUid": hexUID(valid)}), 422, "VERIFY_RECIPIENT_MISMATCH")
			post(signed("eas", holder, map[string]any{"attestationUid": hexUID(valid)}), 200, "")
			if err := e.Store.LinkWallet(context.Background(), aliceID, fmt.Sprintf("0x%x", holder.Address[:]), 8453); err != nil {
				t.Fatal(err)
			}
			post(map[string]any{"verificationType": "eas", "attestationUid": hexUID(valid), "walletAddress": holder.Address.Hex()}, 200, "")

			// coinbase
			r = post(signed("coinbase", holder, nil), 200, "")
			if r.Str("attestationUid") != hexUID(cb) {
				t.Errorf("coinbase = %s; want uid %x", r.Body, cb)
			}
			post(signed("coinbase", stranger, nil), 422, "VERIFY_ATTESTATION_NOT_FOUND")

			// ens, and the challenge rules
			b := signed("ens", holder, nil)
			r = post(b, 200, "")
			meta, _ = r.JSON["metadata"].(map[string]any)
			if r.Str("attestationUid") != fmt.Sprintf("ens-0x%x", holder.Address[:]) || meta["name"] != "holder.eth" {
				t.Errorf("ens = %s", r.Body)
			}
			post(b, 400, "VERIFY_CHALLENGE_INVALID") // used
			b = signed("ens", holder, nil)
			b["walletAddress"] = stranger.Address.Hex() // holder's signature, stranger's address
			post(b, 422, "VERIFY_SIGNATURE_INVALID")
			post(signed("ens", stranger, nil), 422, "VERIFY_ENS_MISMATCH")
			post(signed("ens", owner, nil), 422, "VERIFY_ENS_NO_NAME")

			// webauthn: a passkey's signature arrives through a smart wallet.
			ch, _ := signChallenge(t, alice, id, owner.Key.Sign)
			wrapped := o.factory.SignUndeployed(owner, 1, challengeDigest(id, ch))
			r = post(map[string]any{"verificationType": "webauthn", "walletAddress": undeployed.Hex(),
				"signature": fmt.Sprintf("0x%x", wrapped), "challenge": ch}, 200, "")
			meta, _ = r.JSON["metadata"].(map[string]any)
			if meta["deployed"] != false || r.Str("verifierAddress") != fmt.Sprintf("0x%x", undeployed[:]) {
				t.Errorf("webauthn (undeployed) = %s", r.Body)
			}
			ch, _ = signChallenge(t, alice, id, owner.Key.Sign)
			r = post(map[string]any{"verificationType": "webauthn", "walletAddress": deployed.Hex(),
				"signature": fmt.Sprintf("0x%x", owner.Key.Sign(challengeDigest(id, ch))), "challenge": ch}, 200, "")
			if meta, _ := r.JSON["metadata"].(map[string]any); meta["deployed"] != true {
				t.Errorf("webauthn (deployed) = %s", r.Body)
			}
			post(signed("webauthn", holder, nil), 422, "VERIFY_NOT_SMART_WALLET")

			// Evidence: the last success is what GET reports; DELETE removes it.
			g = alice.Do("GET", base, nil).Expect(t, 200, "")
			if g.Str("verificationType") != "webauthn" {
				t.Errorf("GET = %s; want the webauthn verification", g.Body)
			}
			if r := alice.Do("DELETE", base, nil).Expect(t, 200, ""); r.JSON["removed"] != true {
				t.Errorf("DELETE = %s", r.Body)
			}
			if g := alice.Do("GET", base, nil).Expect(t, 200, ""); g.JSON["verified"] != false {
				t.Errorf("GET after DELETE = %s", g.Body)
			}
		})
	}
}

// challengeDigest is the EIP-191 digest of the message the server made for
// challenge ch of agent id (rebuilt as the server does).
func challengeDigest(id, ch string) [32]byte {
	return evm.TextHash([]byte("agents.test asks you to prove this wallet for agent " + id + ".\n\nChallenge: " + ch))
}

// A chain that cannot be reached is 503 CHAIN_UNAVAILABLE for every type
// that needs it.
func TestVerifyChainDown(t *testing.T) {
	dead := &chain.Client{URL: "http://127.0.0.1:1", Timeout: 2 * time.Second}
	e := newEnvWith(t, "sqlite", nil, func(s *agents.Service) {
		s.Verify = agents.Verification{Chain: dead, ENSChain: dead}
	})
	alice, _, _ := e.user(t, "alice@example.com", "solo")
	id := agentOf(t, alice, "Down")
	base := "/api/agents/" + id + "/verify"
	alice.Do("POST", base, map[string]any{"verificationType": "eas", "attestationUid": fmt.Sprintf("0x%064x", 1)}).
		Expect(t, 503, "CHAIN_UNAVAILABLE")
	dev := chaintest.DevAccounts()[1]
	for _, typ := range []string{"coinbase", "ens", "webauthn"} {
		ch, sig := signChallenge(t, alice, id, dev.Key.Sign)
		alice.Do("POST", base, map[string]any{"verificationType": typ, "walletAddress": dev.Address.Hex(),
			"signature": sig, "challenge": ch}).Expect(t, 503, "CHAIN_UNAVAILABLE")
	}
}
