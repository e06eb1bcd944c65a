package eas_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/chain/chaintest"
	"github.com/agentbot/gateway/core/eas"
	"github.com/agentbot/gateway/core/evm"
)

// The real EAS contracts on anvil: an attestation reads back as made, and
// Check refuses it revoked, expired, for someone else, or outside the
// allow-lists.
func TestGetAndCheckOnChain(t *testing.T) {
	c := chaintest.Start(t)
	ctx := context.Background()
	deployer, attester, holder := c.Accounts[0].Address, c.Accounts[1].Address, c.Accounts[2].Address
	e := c.DeployEAS(deployer)
	schema := e.RegisterSchema(deployer, "bool isVerified", true)
	now := time.Unix(int64(c.Timestamp()), 0)
	exp := uint64(now.Add(time.Hour).Unix())
	uid := e.Attest(attester, schema, holder, exp, true, []byte{1})

	a, err := eas.Get(ctx, c.Client, e.Address, uid)
	if err != nil {
		t.Fatal(err)
	}
	if a.UID != uid || a.Schema != schema || a.Recipient != holder || a.Attester != attester ||
		a.ExpirationTime != exp || a.RevocationTime != 0 || !a.Revocable || len(a.Data) != 1 || a.Data[0] != 1 {
		t.Fatalf("Get = %+v", a)
	}
	ok := eas.Policy{Schemas: [][32]byte{schema}, Attesters: []evm.Address{attester}, Recipient: &holder, Now: now}
	if err := a.Check(ok); err != nil {
		t.Errorf("Check(valid) = %v", err)
	}
	other := c.Accounts[3].Address
	for _, tc := range []struct {
		name string
		p    eas.Policy
		want eas.Reason
	}{
		{"expired", eas.Policy{Now: now.Add(2 * time.Hour)}, eas.Expired},
		{"at expiry", eas.Policy{Now: time.Unix(int64(exp), 0)}, eas.Expired},
		{"recipient", eas.Policy{Recipient: &other, Now: now}, eas.WrongRecipient},
		{"schema", eas.Policy{Schemas: [][32]byte{{1}}, Now: now}, eas.SchemaNotAllowed},
		{"attester", eas.Policy{Attesters: []evm.Address{other}, Now: now}, eas.AttesterNotAllowed},
	} {
		var ce *eas.CheckError
		if err := a.Check(tc.p); !errors.As(err, &ce) || ce.Reason != tc.want {
			t.Errorf("Check(%s) = %v; want %q", tc.name, err, tc.want)
		}
	}

	missing, err := eas.Get(ctx, c.Client, e.Address, [32]byte{9})
	if err != nil {
		t.Fatal(err)
	}
	var ce *eas.CheckError
	if err := missing.Check(eas.Policy{Now: now}); !errors.As(err, &ce) || ce.Reason != eas.NotFound {
		t.Errorf("Check(unknown uid) = %v; want not found", err)
	}

	e.Revoke(attester, schema, uid)
	a, err = eas.Get(ctx, c.Client, e.Address, uid)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Check(ok); !errors.As(err, &ce) || ce.Reason != eas.Revoked {
		t.Errorf("Check(revoked) = %v; want revoked", err)
	}

	idx := c.DeployIndexer(deployer)
	if got, err := eas.IndexedUID(ctx, c.Client, idx, holder, schema); err != nil || got != ([32]byte{}) {
		t.Errorf("IndexedUID(none) = %x, %v; want zero", got, err)
	}
	c.Transact(deployer, idx, "setAttestationUid(address,bytes32,bytes32)", holder, schema, uid)
	if got, err := eas.IndexedUID(ctx, c.Client, idx, holder, schema); err != nil || got != uid {
		t.Errorf("IndexedUID = %x, %v; want %x", got, err, uid)
	}
	// No contract at the address: an answer that does not decode is the chain's
	// (the operator's) problem, never an attestation.
	if _, err := eas.Get(ctx, c.Client, c.Accounts[4].Address, uid); !errors.Is(err, eas.ErrMalformed) {
		t.Errorf("Get(not EAS) = %v; want ErrMalformed", err)
	}
}
