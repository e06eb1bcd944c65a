package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/mpp"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/internal/app"
	"github.com/agentbot/gateway/payments"
)

// The public Anvil/Hardhat test account #1: a throwaway key for the clients.
const (
	payerKey  = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
	payerAddr = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
	payToAddr = "0x742d35cc6634c0532925a3b844bc9e7595f8fe00"
)

// startPaid runs the whole gateway with machine payments on (Base Sepolia
// USDC, local settlement) and a clock the test can move.
func startPaid(t *testing.T) (*env, *atomic.Int64) {
	t.Helper()
	skew := &atomic.Int64{}
	e := start(t, map[string]string{
		"PAY_TO_ADDRESS":          payToAddr,
		"MPP_SECRET_KEY":          strings.Repeat("e2e-secret-", 4),
		"AGENTBOT_GATEWAY_PRICES": "test-echo=0.05,test-config=0.01",
	}, func(m *app.Mounted) { // before the server serves: the node clients' requests read the clock
		step, ok := m.Gateway.Payer.(*payments.Step)
		if !ok || step.Machine == nil {
			t.Fatalf("gateway payer = %T; want machine payments on", m.Gateway.Payer)
		}
		step.Machine.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	return e, skew
}

func payNode(t *testing.T, dir string, args ...string) map[string]any {
	t.Helper()
	out, err := runNodeEnv(dir, []string{"MPPX_PRIVATE_KEY=" + payerKey}, "pay.mjs", args...)
	if err != nil {
		t.Fatalf("node pay.mjs %v: %v\n%s", args, err, out)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("pay.mjs %v printed %s: %v", args, out, err)
	}
	return got
}

func problemType(r *servertest.Response) string {
	s, _ := r.JSON["type"].(string)
	return strings.TrimPrefix(s, "https://paymentauth.org/problems/")
}

// The unmodified reference clients pay the running gateway: the mppx CLI and
// programmatic client over MPP, @x402/fetch over x402. A replayed credential,
// a credential bought for a cheaper route and an expired one are refused.
func TestMachinePaymentClients(t *testing.T) {
	dir, err := filepath.Abs("js")
	if err != nil {
		t.Fatal(err)
	}
	requireNode(t, dir, "mppx")
	requireNode(t, dir, "@x402/fetch")
	e, skew := startPaid(t)
	url := e.URL + "/api/v1/gateway"

	t.Run("mppx CLI", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(dir, "node_modules", ".bin", "mppx"), url, "-i",
			"-X", "POST", "-H", "X-Plugin-Id: test-echo", "-H", "Content-Type: application/json", "-d", `{"message":"from the mppx CLI"}`)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "NO_UPDATE_NOTIFIER=1", "MPPX_PRIVATE_KEY="+payerKey)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mppx CLI: %v\n%s", err, out)
		}
		s := strings.ToLower(string(out))
		if !strings.Contains(s, "200") || !strings.Contains(s, "payment-receipt") || !strings.Contains(s, "from the mppx cli") {
			t.Errorf("mppx CLI output lacks a 200, a receipt or the echo:\n%s", out)
		}
	})

	t.Run("mppx CLI beside an API key: paid on the account", func(t *testing.T) {
		c, uid := e.user(t, "cli-payer@example.com", "")
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(dir, "node_modules", ".bin", "mppx"), url, "-i",
			"-X", "POST", "-H", "X-Plugin-Id: test-echo", "-H", "Authorization: "+c.Header.Get("Authorization"),
			"-H", "Content-Type: application/json", "-d", `{"message":"on my account"}`)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "NO_UPDATE_NOTIFIER=1", "MPPX_PRIVATE_KEY="+payerKey)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(strings.ToLower(string(out)), "payment-receipt") {
			t.Fatalf("mppx CLI with an API key: %v\n%s", err, out)
		}
		ps, err := e.Store.Payments(context.Background(), uid, 10)
		if err != nil || len(ps) != 1 || ps[0].Protocol != "mpp" || !strings.EqualFold(ps[0].Payer, payerAddr) || ps[0].Target != "test-echo" {
			t.Errorf("the account's payments = %+v, %v; want the CLI's payment", ps, err)
		}
	})

	t.Run("mppx client", func(t *testing.T) {
		got := payNode(t, dir, "mpp-fetch", url, "test-echo")
		if got["status"] != 200.0 {
			t.Fatalf("mppx fetch = %v", got)
		}
		rc, err := mpp.DecodeReceipt(got["receipt"].(string))
		if err != nil || rc.Status != "success" || rc.Method != "evm" {
			t.Errorf("receipt = %+v, %v", rc, err)
		}
	})

	t.Run("replayed credential refused", func(t *testing.T) {
		cred := payNode(t, dir, "mpp-sign", url, "test-echo")["credential"].(string)
		c := e.Client(t)
		first := c.Do("POST", "/api/v1/gateway", map[string]any{"message": "once"}, "X-Plugin-Id", "test-echo", "Authorization", cred)
		if first.Status != 200 || first.Header.Get("Payment-Receipt") == "" {
			t.Fatalf("first use = %d %s", first.Status, first.Body)
		}
		again := c.Do("POST", "/api/v1/gateway", map[string]any{"message": "twice"}, "X-Plugin-Id", "test-echo", "Authorization", cred)
		if again.Status != 402 || problemType(again) != "verification-failed" || again.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("replay = %d %s; want 402 verification-failed with a fresh challenge", again.Status, again.Body)
		}
	})

	t.Run("credential for a cheaper route refused", func(t *testing.T) {
		cred := payNode(t, dir, "mpp-sign", url, "test-echo", "test-config")["credential"].(string)
		resp := e.Client(t).Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "test-echo", "Authorization", cred)
		if resp.Status != 402 || problemType(resp) != "invalid-challenge" {
			t.Errorf("cheap credential on the dear route = %d %s; want 402 invalid-challenge", resp.Status, resp.Body)
		}
	})

	t.Run("expired credential refused", func(t *testing.T) {
		cred := payNode(t, dir, "mpp-sign", url, "test-echo")["credential"].(string)
		skew.Store(int64(6 * time.Minute))
		defer skew.Store(0)
		resp := e.Client(t).Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "test-echo", "Authorization", cred)
		if resp.Status != 402 || problemType(resp) != "payment-expired" {
			t.Errorf("expired credential = %d %s; want 402 payment-expired", resp.Status, resp.Body)
		}
	})

	t.Run("x402 client", func(t *testing.T) {
		got := payNode(t, dir, "x402", url, "test-echo")
		pr, _ := got["paymentResponse"].(map[string]any)
		if got["status"] != 200.0 || pr["success"] != true || pr["network"] != "eip155:84532" || !strings.EqualFold(pr["payer"].(string), payerAddr) {
			t.Fatalf("x402 fetch = %v", got)
		}
		sig := got["signature"].(string)
		replay := e.Client(t).Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "test-echo", "PAYMENT-SIGNATURE", sig)
		if replay.Status != 402 || replay.Header.Get("PAYMENT-REQUIRED") == "" {
			t.Errorf("replayed x402 payment = %d %s; want 402 with PAYMENT-REQUIRED", replay.Status, replay.Body)
		}
		cheap := payNode(t, dir, "x402", url, "test-config")["signature"].(string)
		dear := e.Client(t).Do("POST", "/api/v1/gateway", map[string]any{}, "X-Plugin-Id", "test-echo", "PAYMENT-SIGNATURE", cheap)
		if dear.Status != 402 || problemType(dear) != "invalid-challenge" {
			t.Errorf("x402 payment for the cheap route on the dear one = %d %s; want 402", dear.Status, dear.Body)
		}
	})
}
