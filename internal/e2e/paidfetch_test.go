package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/plugins/plugintest"
)

// seller runs js/seller.mjs, a paid API made with the mppx server (MPP
// evm/charge plus x402 in one 402, settlement stubbed and counted), and
// returns its URL. It is stopped by its pid when the test ends.
func seller(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command("node", "seller.mjs")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	select {
	case l := <-line:
		var v struct{ URL string }
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.URL == "" {
			t.Fatalf("seller printed %q", l)
		}
		return v.URL
	case <-time.After(60 * time.Second):
		t.Fatal("the seller did not start")
	}
	return ""
}

// sellerPayments are the payments the seller settled.
func sellerPayments(t *testing.T, url string) []map[string]any {
	t.Helper()
	resp, err := http.Get(url + "/__paid")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Payments []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Payments
}

// startPaidAgents is startAgents with the wallet plugin beside the AI one and
// paid_fetch allowed to reach loopback (the development switch).
func startPaidAgents(t *testing.T) *agentEnv {
	t.Helper()
	ms := newModelScript(t)
	aiPath, aiSum := plugintest.Build(t, aiPkg)
	walletPath, walletSum := plugintest.Build(t, walletPkg)
	aiCfg, _ := json.Marshal(map[string]any{"upstreams": map[string]any{
		"openai": map[string]any{"baseUrl": ms.URL + "/v1", "apiKey": "sk-openai"}}})
	walletCfg, _ := json.Marshal(map[string]any{"sealKey": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"})
	specs, _ := json.Marshal([]map[string]any{
		{"name": "ai", "path": aiPath, "sha256": aiSum, "config": json.RawMessage(aiCfg)},
		{"name": "wallet", "path": walletPath, "sha256": walletSum, "config": json.RawMessage(walletCfg)}})
	file := filepath.Join(t.TempDir(), "plugins.json")
	if err := os.WriteFile(file, specs, 0o600); err != nil {
		t.Fatal(err)
	}
	se, m := mountApp(t, map[string]string{"AGENTBOT_PLUGINS": file, "AGENTBOT_SKILL_HTTP_ALLOW_PRIVATE": "true",
		"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/agents=100000-M,/api/chat=100000-M,/api/v1/gateway=100000-M"})
	return &agentEnv{Env: se, model: ms, mounted: m}
}

// TestAgentPaidFetch: an agent's paid_fetch answers the mppx seller's 402 by
// paying once from the agent's own wallet, within its limits; over the
// model's maxPriceUsd, over the config's per-call cap and over the run's
// budget nothing is paid; an agent whose config does not enable it has no
// such tool.
func TestAgentPaidFetch(t *testing.T) {
	dir, err := filepath.Abs("js")
	if err != nil {
		t.Fatal(err)
	}
	requireNode(t, dir, "mppx")
	shop := seller(t, dir)
	e := startPaidAgents(t)
	c, _ := e.user(t, "buyer@example.com", "collective")
	provision := func(config map[string]any) string {
		return c.Do("POST", "/api/agents/provision", map[string]any{"name": "Buyer", "model": "gpt-4o-mini", "config": config}).
			Expect(t, 201, "").JSON["agent"].(map[string]any)["id"].(string)
	}
	// Each chat is its own scenario: the scripted model reads the first
	// user message it is shown, so the agents show it no history.
	paid := map[string]any{"hosts": []string{"127.0.0.1"}, "maxPerCallMicroUsd": 50_000}
	id := provision(map[string]any{"paidFetch": paid, "historyMessages": -1})
	fetch := func(t *testing.T, agent string, args map[string]any) *servertest.Response {
		b, _ := json.Marshal(args)
		return c.Do("POST", "/api/chat", map[string]any{"agentId": agent, "message": "paid fetch " + string(b)})
	}
	tool := func(t *testing.T, r *servertest.Response) map[string]any {
		t.Helper()
		reply := strings.TrimPrefix(r.Str("reply"), "Fetched: ")
		var v map[string]any
		if err := json.Unmarshal([]byte(reply), &v); err != nil {
			t.Fatalf("reply = %q; want the tool's JSON result", r.Str("reply"))
		}
		return v
	}
	wallet := result(t, gw(c, "wallet-address", map[string]any{"agentId": id}).Expect(t, 200, ""))["address"].(string)

	t.Run("paid exactly once", func(t *testing.T) {
		r := fetch(t, id, map[string]any{"url": shop + "/cheap", "method": "POST", "body": `{"q":1}`, "maxPriceUsd": "0.02"}).Expect(t, 200, "")
		res := tool(t, r)
		if res["status"] != float64(200) || !strings.Contains(res["body"].(string), `"q\":1`) && !strings.Contains(res["body"].(string), `{\"q\":1}`) {
			t.Errorf("result = %v; want the seller's 200 with the request body echoed", res)
		}
		p, _ := res["paid"].(map[string]any)
		receipt, _ := p["receipt"].(map[string]any)
		if p["protocol"] != "mpp" || p["amountMicroUsd"] != float64(10_000) || p["from"] != wallet || receipt["status"] != "success" {
			t.Errorf("paid = %v; want 10000 micro-USD over MPP from %s with a receipt", p, wallet)
		}
		pays := sellerPayments(t, shop)
		if len(pays) != 1 || pays[0]["from"] != wallet || pays[0]["value"] != "10000" || receipt["reference"] != pays[0]["reference"] {
			t.Fatalf("seller's payments = %v; want exactly one of 10000 from %s, the receipt's", pays, wallet)
		}
		// The run counted the payment against its budget.
		if cost, _ := r.JSON["outcome"].(map[string]any)["costMicroUSD"].(float64); cost < 10_000 {
			t.Errorf("outcome = %v; want the payment in the run's cost", r.JSON["outcome"])
		}
	})
	t.Run("x402", func(t *testing.T) {
		res := tool(t, fetch(t, id, map[string]any{"url": shop + "/x402/cheap", "maxPriceUsd": "0.01"}).Expect(t, 200, ""))
		p, _ := res["paid"].(map[string]any)
		receipt, _ := p["receipt"].(map[string]any)
		if res["status"] != float64(200) || p["protocol"] != "x402" || p["amountMicroUsd"] != float64(10_000) || receipt == nil {
			t.Errorf("result = %v; want a 200 paid over x402 with a receipt", res)
		}
		pays := sellerPayments(t, shop)
		if len(pays) != 2 || pays[1]["from"] != wallet || pays[1]["value"] != "10000" {
			t.Fatalf("seller's payments = %v; want a second one, of 10000 from %s", pays, wallet)
		}
	})
	t.Run("a second 402 is not paid", func(t *testing.T) {
		r := fetch(t, id, map[string]any{"url": shop + "/greedy", "maxPriceUsd": "0.05"}).Expect(t, 200, "")
		if !strings.Contains(r.Str("reply"), "not paying twice") {
			t.Errorf("reply = %q; want the second 402 refused", r.Str("reply"))
		}
		if pays := sellerPayments(t, shop); len(pays) != 3 {
			t.Fatalf("seller's payments = %d; want 3: the greedy route paid once", len(pays))
		}
		if cost, _ := r.JSON["outcome"].(map[string]any)["costMicroUSD"].(float64); cost < 10_000 {
			t.Errorf("outcome = %v; want the payment in the run's cost", r.JSON["outcome"])
		}
	})
	refused := func(t *testing.T, r *servertest.Response, want string) {
		t.Helper()
		if reply := r.Str("reply"); !strings.Contains(reply, want) {
			t.Errorf("reply = %q; want %q", reply, want)
		}
		if pays := sellerPayments(t, shop); len(pays) != 3 {
			t.Errorf("seller's payments = %d; want still 3", len(pays))
		}
	}
	t.Run("over maxPriceUsd", func(t *testing.T) {
		refused(t, fetch(t, id, map[string]any{"url": shop + "/cheap", "maxPriceUsd": "0.005"}).Expect(t, 200, ""), "not paid: the price is 10000 micro-USD")
	})
	t.Run("over the per-call cap", func(t *testing.T) {
		refused(t, fetch(t, id, map[string]any{"url": shop + "/dear", "maxPriceUsd": "5"}).Expect(t, 200, ""), "not paid: the price is 2000000 micro-USD")
	})
	t.Run("host not allowed", func(t *testing.T) {
		refused(t, fetch(t, id, map[string]any{"url": strings.Replace(shop, "127.0.0.1", "localhost", 1) + "/cheap", "maxPriceUsd": "0.02"}).
			Expect(t, 200, ""), "not allowed")
	})
	t.Run("over the run's budget", func(t *testing.T) {
		// One model call ($0.01) fits in $0.04; the tool's reservation of
		// its cap ($0.05) does not, so it never runs.
		poor := provision(map[string]any{"paidFetch": paid, "runBudgetMicroUsd": 40_000, "historyMessages": -1})
		fetch(t, poor, map[string]any{"url": shop + "/cheap", "maxPriceUsd": "0.02"}).Expect(t, 422, "BUDGET_EXCEEDED")
		if pays := sellerPayments(t, shop); len(pays) != 3 {
			t.Errorf("seller's payments = %d; want still 3", len(pays))
		}
	})
	t.Run("free answers pass through", func(t *testing.T) {
		res := tool(t, fetch(t, id, map[string]any{"url": shop + "/free", "maxPriceUsd": "0"}).Expect(t, 200, ""))
		if res["status"] != float64(200) || res["paid"] != nil {
			t.Errorf("result = %v; want a 200 and no payment", res)
		}
	})
	t.Run("off by default", func(t *testing.T) {
		plain := provision(map[string]any{"historyMessages": -1})
		r := fetch(t, plain, map[string]any{"url": shop + "/cheap", "maxPriceUsd": "0.02"}).Expect(t, 200, "")
		if !strings.Contains(r.Str("reply"), `unknown tool "paid_fetch"`) {
			t.Errorf("reply = %q; want paid_fetch unknown", r.Str("reply"))
		}
		if pays := sellerPayments(t, shop); len(pays) != 3 {
			t.Errorf("seller's payments = %d; want still 3", len(pays))
		}
	})
	t.Run("config validated", func(t *testing.T) {
		for _, bad := range []map[string]any{
			{"hosts": []string{}, "maxPerCallMicroUsd": 1},
			{"hosts": []string{"*.example.com"}, "maxPerCallMicroUsd": 1},
			{"hosts": []string{"Example.com"}, "maxPerCallMicroUsd": 1},
			{"hosts": []string{"example.com"}, "maxPerCallMicroUsd": 0},
			{"hosts": []string{"example.com"}, "maxPerCallMicroUsd": 1, "hostz": 1},
		} {
			c.Do("POST", "/api/agents/provision", map[string]any{"name": "Bad", "config": map[string]any{"paidFetch": bad}}).Expect(t, 400, "VALIDATION_ERROR")
		}
	})
}
