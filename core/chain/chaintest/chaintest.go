// Package chaintest runs a real local EVM for tests: Foundry's anvil, from the
// npm package @foundry-rs/anvil-linux-amd64 that internal/chain/js pins, on a
// free loopback port with Base's chain id, stopped by pid when the test ends.
// Without the binary the test is skipped, unless CI=true, where it fails (CI
// installs it: .ci/run). It also deploys the committed test contracts
// (contracts/: an ERC-20 and a CREATE2-deployed ERC-1271 wallet) and runs the
// node scripts beside the lockfile (viem).
package chaintest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/evm"
)

// ChainID is the chain id the local chain runs with: Base mainnet's.
const ChainID = 8453

// jsDir is where the npm packages the chain tests use are installed, relative
// to the repository's top directory.
const jsDir = "internal/chain/js"

// Chain is a running anvil.
type Chain struct {
	URL    string
	Client *chain.Client
	// Accounts are anvil's funded development accounts (10,000 ETH each),
	// unlocked on the node, with their well-known keys.
	Accounts []Account
	t        testing.TB
}

// Account is a development account and its key.
type Account struct {
	Address evm.Address
	Key     *evm.PrivateKey
}

// devKeys are the first keys of anvil's default mnemonic ("test test … junk").
var devKeys = []string{
	"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
	"0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
	"0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
	"0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
	"0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
}

// DevAccounts returns anvil's development accounts without a chain (for
// signing test vectors offline).
func DevAccounts() []Account {
	out := make([]Account, len(devKeys))
	for i, k := range devKeys {
		key, err := evm.ParsePrivateKey(k)
		if err != nil {
			panic(err)
		}
		out[i] = Account{Address: key.Address(), Key: key}
	}
	return out
}

// Root returns the repository's top directory: the nearest parent of the
// working directory (a test's package directory) holding go.mod and .git.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, jsDir, "package.json")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("chaintest: not inside the repository (no " + jsDir + "/package.json above)")
		}
		dir = parent
	}
}

// AnvilPath finds the anvil binary: $ANVIL, then the npm package under
// internal/chain/js, then PATH.
func AnvilPath() (string, error) {
	if p := os.Getenv("ANVIL"); p != "" {
		return p, nil
	}
	if root, err := Root(); err == nil {
		p := filepath.Join(root, jsDir, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("anvil"); err == nil {
		return p, nil
	}
	return "", errors.New("anvil not found: run `npm ci` in " + jsDir + " (or set ANVIL)")
}

// Missing skips t, or fails it when CI=true: the tests that need a tool CI
// installs must not pass by skipping there.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true, so this fails instead of skipping)", why)
	}
	t.Skip(why)
}

// Start runs anvil on a free loopback port with chain id 8453, waits until it
// answers, and stops it (by pid) when t ends.
func Start(t testing.TB) *Chain {
	t.Helper()
	bin, err := AnvilPath()
	if err != nil {
		Missing(t, err.Error())
	}
	var lastErr error
	for range 3 { // the free port may be taken between choosing and binding it
		c, err := start(t, bin)
		if err == nil {
			return c
		}
		lastErr = err
	}
	t.Fatalf("anvil did not start: %v", lastErr)
	return nil
}

func start(t testing.TB, bin string) (*Chain, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	c := &Chain{URL: url, Client: &chain.Client{URL: url, Timeout: 30 * time.Second}, Accounts: DevAccounts(), t: t}
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--chain-id", strconv.Itoa(ChainID), "--silent")
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
	}
	// Registered at once, so that the node is stopped however the test ends.
	t.Cleanup(stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var id string
		err := c.Client.Call(ctx, &id, "eth_chainId")
		cancel()
		if err == nil {
			if id != "0x"+strconv.FormatUint(ChainID, 16) {
				stop()
				return nil, fmt.Errorf("anvil answered chain id %s", id)
			}
			return c, nil
		}
		select {
		case err := <-exited:
			exited <- err
			return nil, fmt.Errorf("anvil exited (%v): %s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("anvil on port %d did not answer within 15s: %v", port, err)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// limitedBuffer keeps the first 64 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

// Send makes from (an unlocked development account) send a transaction
// (eth_sendTransaction; anvil mines it at once) and returns its receipt. A
// reverted transaction fails t.
func (c *Chain) Send(from evm.Address, to *evm.Address, data []byte, value *big.Int) *chain.Receipt {
	c.t.Helper()
	r, err := c.TrySend(from, to, data, value)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// TrySend is Send returning the failure (a revert is an error).
func (c *Chain) TrySend(from evm.Address, to *evm.Address, data []byte, value *big.Int) (*chain.Receipt, error) {
	ctx := context.Background()
	tx := chain.Msg{From: &from, To: to, Data: data, Value: value}.Params()
	var hash string
	if err := c.Client.Call(ctx, &hash, "eth_sendTransaction", tx); err != nil {
		return nil, fmt.Errorf("eth_sendTransaction: %w", err)
	}
	h, err := evm.ParseBytes32(hash)
	if err != nil {
		return nil, fmt.Errorf("eth_sendTransaction answered %q", hash)
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r, err := c.Client.WaitForReceipt(wait, h, 5*time.Millisecond)
	if err != nil {
		return nil, fmt.Errorf("receipt of %s: %w", hash, err)
	}
	if r.Status != 1 {
		return r, fmt.Errorf("transaction %s reverted", hash)
	}
	return r, nil
}

// Deploy deploys code with constructor args (ABI-encoded, evm.EncodeArgs)
// from a development account and returns the contract's address.
func (c *Chain) Deploy(from evm.Address, code []byte, args ...any) evm.Address {
	c.t.Helper()
	enc, err := evm.EncodeArgs(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	r := c.Send(from, nil, append(append([]byte(nil), code...), enc...), nil)
	if r.ContractAddress == nil {
		c.t.Fatal("deployment receipt has no contract address")
	}
	return *r.ContractAddress
}

// Call runs a read-only call of to (eth_call at the latest block).
func (c *Chain) Call(to evm.Address, signature string, args ...any) []byte {
	c.t.Helper()
	data, err := evm.EncodeCall(signature, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	out, err := c.Client.CallContract(context.Background(), chain.Msg{To: &to, Data: data}, chain.Latest)
	if err != nil {
		c.t.Fatalf("%s: %v", signature, err)
	}
	return out
}

// Transact sends a call of to's function from a development account.
func (c *Chain) Transact(from, to evm.Address, signature string, args ...any) *chain.Receipt {
	c.t.Helper()
	data, err := evm.EncodeCall(signature, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.Send(from, &to, data, nil)
}

// SetCode puts code at addr (anvil_setCode), e.g. a contract at its
// production address.
func (c *Chain) SetCode(addr evm.Address, code []byte) {
	c.t.Helper()
	if err := c.Client.Call(context.Background(), nil, "anvil_setCode", addr.Hex(), fmt.Sprintf("0x%x", code)); err != nil {
		c.t.Fatal(err)
	}
}
