package tokengate

import (
	"context"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/chain/chaintest"
	"github.com/agentbot/gateway/core/evm"
)

func TestBaseUnits(t *testing.T) {
	tests := []struct {
		min      string
		decimals int
		want     string
	}{
		{"1", 18, "1000000000000000000"},
		{"0.5", 18, "500000000000000000"},
		{"1000", 6, "1000000000"},
		{"1.5", 0, "2"},       // a fraction finer than the token rounds up
		{"0.0000001", 6, "1"}, // never down to zero
		{"2.50", 1, "25"},
	}
	for _, tt := range tests {
		got, err := baseUnits(tt.min, tt.decimals)
		if err != nil || got.String() != tt.want {
			t.Errorf("baseUnits(%q, %d) = %v, %v; want %s", tt.min, tt.decimals, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "0", "0.0", "-1", "1.", ".5", "1e18", "1,5", " 1", "0x10"} {
		if err := ParseMin(bad); err == nil {
			t.Errorf("ParseMin(%q) = nil; want an error", bad)
		}
	}
}

// counting answers balanceOf with balance and decimals() with 18, or fails.
type counting struct {
	balance *big.Int
	fail    bool
	calls   atomic.Int64
}

func (c *counting) CallContract(_ context.Context, m chain.Msg, _ string) ([]byte, error) {
	c.calls.Add(1)
	if c.fail {
		return nil, chain.ErrUnavailable
	}
	sel := evm.Selector("decimals()")
	if string(m.Data) == string(sel[:]) {
		return evm.EncodeArgs(uint64(18))
	}
	return evm.EncodeArgs(c.balance)
}

func TestCacheAndFailures(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	addr := chaintest.DevAccounts()[1].Address
	ctx := context.Background()

	c := &counting{balance: big.NewInt(2e18)}
	g := &Gate{Chain: c, Decimals: -1, Now: clock}
	if r := g.Check(ctx, addr); !r.HasAccess || !r.Checked || r.MinBalance.String() != "1000000000000000000" {
		t.Fatalf("Check(2 tokens) = %+v; want access", r)
	}
	calls := c.calls.Load() // decimals() and balanceOf
	c.balance = big.NewInt(0)
	if r := g.Check(ctx, addr); !r.HasAccess || c.calls.Load() != calls {
		t.Errorf("Check within the TTL = %+v after %d calls; want the cached answer and no call", r, c.calls.Load()-calls)
	}
	now = now.Add(31 * time.Second)
	if r := g.Check(ctx, addr); r.HasAccess || c.calls.Load() != calls+1 {
		t.Errorf("Check after the TTL = %+v; want a fresh answer (no access) with one call (decimals read once)", r)
	}

	// A failing chain: no access, never an error; the failure is kept briefly.
	down := &counting{fail: true}
	g = &Gate{Chain: down, Decimals: 18, Now: clock}
	if r := g.Check(ctx, addr); r.HasAccess || r.Checked {
		t.Errorf("Check(chain down) = %+v; want no access, unchecked", r)
	}
	down.fail = false
	down.balance = big.NewInt(5e18)
	now = now.Add(6 * time.Second)
	if r := g.Check(ctx, addr); !r.HasAccess {
		t.Errorf("Check 6 s after a failure = %+v; want a fresh answer", r)
	}
	// No chain configured: no access.
	if r := (&Gate{Decimals: -1}).Check(ctx, addr); r.HasAccess || r.Checked {
		t.Errorf("Check(no chain) = %+v; want no access", r)
	}
}

func TestCacheBounded(t *testing.T) {
	c := &counting{balance: big.NewInt(1)}
	g := &Gate{Chain: c, Decimals: 0, MaxEntries: 8}
	for i := range 100 {
		var a evm.Address
		a[0], a[1] = byte(i), 1
		g.Check(context.Background(), a)
	}
	if n := len(g.cache); n > 8 {
		t.Errorf("cache holds %d answers; want at most 8", n)
	}
}

// A real node: a token with 6 decimals on anvil, the minimum read against
// decimals() from the contract; an unreachable node means no access.
func TestOnChain(t *testing.T) {
	ch := chaintest.Start(t)
	owner, holder, poor := ch.Accounts[0].Address, ch.Accounts[1].Address, ch.Accounts[2].Address
	token := ch.DeployToken(owner, 6)
	ch.Mint(owner, token, holder, big.NewInt(2_500_000)) // 2.5 tokens
	ch.Mint(owner, token, poor, big.NewInt(999_999))     // just under 1
	g := &Gate{Chain: ch.Client, Contract: token, Min: "1", Decimals: -1}
	ctx := context.Background()
	if r := g.Check(ctx, holder); !r.HasAccess || r.Balance.Int64() != 2_500_000 || r.MinBalance.Int64() != 1_000_000 {
		t.Errorf("Check(holder of 2.5) = %+v; want access, balance 2500000, minimum 1000000", r)
	}
	if r := g.Check(ctx, poor); r.HasAccess || !r.Checked {
		t.Errorf("Check(holder of 0.999999) = %+v; want checked, no access", r)
	}
	// A contract that is not a token (an account without code answers 0x).
	g2 := &Gate{Chain: ch.Client, Contract: poor, Decimals: 18}
	if r := g2.Check(ctx, holder); r.HasAccess || r.Checked {
		t.Errorf("Check(contract without code) = %+v; want no access", r)
	}

	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	dead.Close()
	g3 := &Gate{Chain: &chain.Client{URL: dead.URL, Timeout: 2 * time.Second}, Contract: token, Decimals: -1}
	start := time.Now()
	if r := g3.Check(ctx, holder); r.HasAccess || r.Checked {
		t.Errorf("Check(node down) = %+v; want no access", r)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Check(node down) took %v; want it bounded by the timeout", d)
	}
}

// BenchmarkCheckCached is one answer from the cache.
func BenchmarkCheckCached(b *testing.B) {
	g := &Gate{Chain: &counting{balance: big.NewInt(1)}, Decimals: 0}
	addr := chaintest.DevAccounts()[1].Address
	ctx := context.Background()
	g.Check(ctx, addr)
	for b.Loop() {
		g.Check(ctx, addr)
	}
}
