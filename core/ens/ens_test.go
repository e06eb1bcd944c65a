package ens_test

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/agentbot/gateway/core/chain/chaintest"
	"github.com/agentbot/gateway/core/ens"
	"github.com/agentbot/gateway/core/evm"
)

// EIP-137's own examples.
func TestNamehash(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"", "0000000000000000000000000000000000000000000000000000000000000000"},
		{"eth", "93cdeb708b7545dc668eb9280176169d1c33cfd8ed6f04690a0bcc88a93fc4ae"},
		{"foo.eth", "de9b09fd7c5f901e23a3f19fecc54828e9c848539801e86591bd9801b019f84f"},
	} {
		if got := ens.Namehash(tc.name); hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("Namehash(%q) = %x; want %s", tc.name, got, tc.want)
		}
	}
	if got := ens.Registry.Hex(); got != "0x00000000000C2E074eC69A0dFb2997BA6C7d2e1e" {
		t.Errorf("Registry = %s", got)
	}
}

// A toy registry and resolver on anvil: the primary name needs both the
// reverse record and the forward check.
func TestPrimaryNameOnChain(t *testing.T) {
	c := chaintest.Start(t)
	ctx := context.Background()
	admin, alice, bob := c.Accounts[0].Address, c.Accounts[1].Address, c.Accounts[2].Address
	e := c.DeployENS(admin)
	r := ens.Resolver{Client: c.Client, Registry: e.Registry}

	if _, err := r.PrimaryName(ctx, alice); !errors.Is(err, ens.ErrNoName) {
		t.Errorf("PrimaryName(no record) = %v; want ErrNoName", err)
	}
	e.SetName(admin, ens.ReverseNode(alice), "alice.eth")
	if _, err := r.PrimaryName(ctx, alice); !errors.Is(err, ens.ErrForwardMismatch) {
		t.Errorf("PrimaryName(no forward record) = %v; want ErrForwardMismatch", err)
	}
	e.SetAddr(admin, ens.Namehash("alice.eth"), bob)
	if _, err := r.PrimaryName(ctx, alice); !errors.Is(err, ens.ErrForwardMismatch) {
		t.Errorf("PrimaryName(forward to another) = %v; want ErrForwardMismatch", err)
	}
	e.SetAddr(admin, ens.Namehash("alice.eth"), alice)
	if name, err := r.PrimaryName(ctx, alice); err != nil || name != "alice.eth" {
		t.Errorf("PrimaryName = %q, %v; want alice.eth", name, err)
	}
	// Bob claims alice's name in his reverse record: the forward check
	// refuses it.
	e.SetName(admin, ens.ReverseNode(bob), "alice.eth")
	if _, err := r.PrimaryName(ctx, bob); !errors.Is(err, ens.ErrForwardMismatch) {
		t.Errorf("PrimaryName(claimed name) = %v; want ErrForwardMismatch", err)
	}
	e.SetName(admin, ens.ReverseNode(bob), "Bob.eth")
	if _, err := r.PrimaryName(ctx, bob); !errors.Is(err, ens.ErrUnsupportedName) {
		t.Errorf("PrimaryName(upper case) = %v; want ErrUnsupportedName", err)
	}
	// A registry address with no code answers nothing: no name.
	none := ens.Resolver{Client: c.Client, Registry: evm.Address{0x42}}
	if _, err := none.PrimaryName(ctx, alice); !errors.Is(err, ens.ErrNoName) {
		t.Errorf("PrimaryName(no registry) = %v; want ErrNoName", err)
	}
}
