// Package tokengate answers whether an address holds enough of an ERC-20
// token: balanceOf(address) by eth_call, compared with a minimum given in
// whole tokens. Any failure to get an answer means no access, never an
// error; answers are cached briefly per address in a bounded cache.
// README.md ("Wallets and sign-in with Ethereum") describes the rules.
package tokengate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/evm"
)

// DefaultContract is Agentbot's $RAVE token on Base, in its EIP-55 form
// (Agentbot's code writes it 0x6EE72eEDEfBa8937Ec8c36dEd9B8c1ef9ca7A3db,
// whose mixed case is not a valid checksum).
const DefaultContract = "0x6eE72EEdefba8937Ec8c36DEd9b8C1eF9ca7A3dB"

// Caller runs read-only contract calls (chain.Client).
type Caller interface {
	CallContract(ctx context.Context, m chain.Msg, block string) ([]byte, error)
}

// Gate checks balances of one token. Set the fields before the first Check.
// Safe for concurrent use.
type Gate struct {
	// Chain answers the calls; nil: nothing is checked and nobody has access.
	Chain    Caller
	Contract evm.Address
	// Min is the least balance that grants access, in whole tokens as a
	// decimal ("1", "0.5"); "1" when empty. ParseMin checks it.
	Min string
	// Decimals of the token; read once from its decimals() when negative.
	Decimals int
	// Symbol names the token in answers ("RAVE").
	Symbol string
	// TTL is how long an answer is reused (30 s when 0); a failure is kept
	// for a sixth of it, so a short outage does not stick.
	TTL time.Duration
	// MaxEntries bounds the cache (10,000 when 0).
	MaxEntries int
	// Timeout bounds the calls of one check (5 s when 0).
	Timeout time.Duration
	Now     func() time.Time
	Log     *slog.Logger

	mu       sync.Mutex
	decimals int  // known decimals, valid when haveDec
	haveDec  bool // decimals known (configured or read)
	cache    map[evm.Address]entry
}

// Result is the answer for one address.
type Result struct {
	HasAccess bool
	// Checked: the chain answered. False when no chain is configured or the
	// call failed; then HasAccess is false.
	Checked bool
	// Balance in base units; nil unless Checked.
	Balance *big.Int
	// MinBalance is Min in base units; nil while the decimals are unknown.
	MinBalance *big.Int
}

type entry struct {
	r   Result
	exp time.Time
}

// ParseMin checks a minimum in whole tokens: digits, optionally a point and
// more digits, positive.
func ParseMin(s string) error {
	_, _, err := splitMin(s)
	return err
}

func splitMin(s string) (whole, frac string, err error) {
	whole, frac, _ = strings.Cut(s, ".")
	if whole == "" || len(s) > 100 || strings.Trim(whole+frac, "0123456789") != "" ||
		strings.Trim(whole+frac, "0") == "" || (strings.Contains(s, ".") && frac == "") {
		return "", "", fmt.Errorf("tokengate: %q is not a positive decimal amount of tokens", s)
	}
	return whole, frac, nil
}

// baseUnits converts min (whole tokens) to base units, rounding up a
// fraction finer than the token's decimals.
func baseUnits(min string, decimals int) (*big.Int, error) {
	whole, frac, err := splitMin(min)
	if err != nil {
		return nil, err
	}
	roundUp := false
	if len(frac) > decimals {
		roundUp = strings.Trim(frac[decimals:], "0") != ""
		frac = frac[:decimals]
	}
	digits := whole + frac + strings.Repeat("0", decimals-len(frac))
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, errors.New("tokengate: bad amount")
	}
	if roundUp {
		n.Add(n, big.NewInt(1))
	}
	return n, nil
}

func (g *Gate) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *Gate) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

func (g *Gate) min() string {
	if g.Min == "" {
		return "1"
	}
	return g.Min
}

// Check answers for addr, from the cache when it has a fresh answer.
func (g *Gate) Check(ctx context.Context, addr evm.Address) Result {
	now := g.now()
	g.mu.Lock()
	if e, ok := g.cache[addr]; ok && now.Before(e.exp) {
		g.mu.Unlock()
		return e.r
	}
	g.mu.Unlock()

	r := g.check(ctx, addr)
	ttl := g.TTL
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	if !r.Checked {
		ttl /= 6
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cache == nil {
		g.cache = map[evm.Address]entry{}
	}
	max := g.MaxEntries
	if max <= 0 {
		max = 10_000
	}
	if _, ok := g.cache[addr]; !ok && len(g.cache) >= max {
		g.evict(now, max)
	}
	g.cache[addr] = entry{r: r, exp: now.Add(ttl)}
	return r
}

// evict drops expired answers, then arbitrary ones, until there is room.
func (g *Gate) evict(now time.Time, max int) {
	for a, e := range g.cache {
		if !now.Before(e.exp) {
			delete(g.cache, a)
		}
	}
	for a := range g.cache {
		if len(g.cache) < max {
			break
		}
		delete(g.cache, a)
	}
}

func (g *Gate) check(ctx context.Context, addr evm.Address) Result {
	if g.Chain == nil {
		return Result{}
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dec, err := g.tokenDecimals(ctx)
	if err != nil {
		g.log().WarnContext(ctx, "token gating: reading decimals() failed", "contract", g.Contract.Hex(), "err", err)
		return Result{}
	}
	minBal, err := baseUnits(g.min(), dec)
	if err != nil {
		g.log().ErrorContext(ctx, "token gating: bad minimum", "err", err)
		return Result{}
	}
	r := Result{MinBalance: minBal}
	data, err := evm.EncodeCall("balanceOf(address)", addr)
	if err != nil {
		return r
	}
	to := g.Contract
	out, err := g.Chain.CallContract(ctx, chain.Msg{To: &to, Data: data}, "")
	if err != nil || len(out) != 32 {
		g.log().WarnContext(ctx, "token gating: balanceOf failed; no access", "contract", g.Contract.Hex(), "err", err, "bytes", len(out))
		return r
	}
	r.Checked = true
	r.Balance = new(big.Int).SetBytes(out)
	r.HasAccess = r.Balance.Cmp(minBal) >= 0
	return r
}

// tokenDecimals returns the configured decimals, or reads decimals() once.
func (g *Gate) tokenDecimals(ctx context.Context) (int, error) {
	g.mu.Lock()
	if g.Decimals >= 0 {
		g.mu.Unlock()
		return g.Decimals, nil
	}
	if g.haveDec {
		d := g.decimals
		g.mu.Unlock()
		return d, nil
	}
	g.mu.Unlock()
	sel := evm.Selector("decimals()")
	to := g.Contract
	out, err := g.Chain.CallContract(ctx, chain.Msg{To: &to, Data: sel[:]}, "")
	if err != nil {
		return 0, err
	}
	n := new(big.Int).SetBytes(out)
	if len(out) != 32 || !n.IsInt64() || n.Int64() > 77 {
		return 0, fmt.Errorf("decimals() returned %d bytes, not a uint8", len(out))
	}
	g.mu.Lock()
	g.decimals, g.haveDec = int(n.Int64()), true
	g.mu.Unlock()
	return int(n.Int64()), nil
}
