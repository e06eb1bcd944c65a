package e2e

import (
	"context"
	"strings"
	"testing"
)

// The per-plan request caps hold on every way into a model, with the real AI
// plugin: a caller without a plan (paying with credits) gets the cheapest
// plan's caps on the gateway's ids and the OpenAI-compatible surface, a
// subscriber their plan's, also on POST /api/ai/chat. A request naming no
// max_tokens reaches the upstream with the cap; one over it is refused
// before the upstream and not charged.
func TestRequestCapsEndToEnd(t *testing.T) {
	e := start(t, nil)
	ctx := context.Background()
	credits, uid := e.user(t, "credits@example.com", "")
	const funds = 1_000_000
	if err := e.Store.AddCredits(ctx, uid, funds, "purchase", "pack"); err != nil {
		t.Fatal(err)
	}
	msgs := func(text string) []any { return []any{map[string]any{"role": "user", "content": text}} }
	upstreamMaxTokens := func() []any {
		e.up.mu.Lock()
		defer e.up.mu.Unlock()
		return append([]any(nil), e.up.maxTokens...)
	}

	// No max_tokens: the cheapest plan's cap (1024) goes upstream.
	credits.Do("POST", "/api/v1/chat/completions", map[string]any{"model": "gpt-4o-mini", "messages": msgs("hi")}).Expect(t, 200, "")
	credits.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent", "prompt": "hi"}).Expect(t, 200, "")
	if got := upstreamMaxTokens(); len(got) != 2 || got[0] != float64(1024) || got[1] != float64(1024) {
		t.Errorf("upstream max_tokens = %v; want the cap 1024 twice", got)
	}

	// Over the caps: refused, nothing reaches the upstream.
	r := credits.Do("POST", "/api/v1/chat/completions", map[string]any{"model": "gpt-4o-mini", "messages": msgs("hi"), "max_tokens": 5000})
	if oe, _ := r.JSON["error"].(map[string]any); r.Status != 400 || oe["code"] != "max_tokens_exceeded" ||
		!strings.Contains(oe["message"].(string), "1024") {
		t.Errorf("chat completions over max_tokens = %d %s; want 400 max_tokens_exceeded naming 1024", r.Status, r.Body)
	}
	r = credits.Do("POST", "/api/v1/chat/completions", map[string]any{"messages": msgs("hi"), "max_completion_tokens": 1025})
	if oe, _ := r.JSON["error"].(map[string]any); r.Status != 400 || oe["code"] != "max_tokens_exceeded" {
		t.Errorf("chat completions over max_completion_tokens = %d %s; want 400 max_tokens_exceeded", r.Status, r.Body)
	}
	r = credits.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "generate-text", "prompt": strings.Repeat("a", 16<<10+1)}).
		Expect(t, 400, "PROMPT_TOO_LARGE")
	if r.JSON["limit"] != float64(16<<10) {
		t.Errorf("PROMPT_TOO_LARGE = %s; want the limit 16384", r.Body)
	}
	credits.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent", "prompt": "hi", "max_tokens": 1025}).
		Expect(t, 400, "MAX_TOKENS_EXCEEDED")
	s := `{"model":"gpt-4o-mini","stream":true,"max_tokens":99999,"messages":[{"role":"user","content":"hi"}]}`
	if r := credits.Do("POST", "/api/v1/chat/completions", s); r.Status != 400 {
		t.Errorf("streamed chat completions over the cap = %d %s; want 400 before any stream", r.Status, r.Body)
	}
	if n := len(upstreamMaxTokens()); n != 2 {
		t.Errorf("the upstream received %d requests; want only the 2 within the caps", n)
	}
	// Two calls charged (generate-text $0.01, agent $0.05); the refusals refunded.
	if _, err := waitUsage(t, e, uid, 7); err != nil {
		t.Fatal(err)
	}
	if bal, err := e.Store.Credits(ctx, uid); err != nil || bal != funds-60_000 {
		t.Errorf("balance = %d, %v; want %d (refused calls are not charged)", bal, err, funds-60_000)
	}

	// A subscriber gets their plan's caps, on the plugin's own route too.
	label, _ := e.user(t, "label@example.com", "label")
	label.Do("POST", "/api/v1/gateway", map[string]any{"prompt": "hi", "max_tokens": 4096}).Expect(t, 200, "")
	label.Do("POST", "/api/v1/gateway", map[string]any{"prompt": "hi", "max_tokens": 4097}).Expect(t, 400, "MAX_TOKENS_EXCEEDED")
	label.Do("POST", "/api/ai/chat", map[string]any{"messages": msgs("hi"), "max_tokens": 4096}).Expect(t, 200, "")
	r = label.Do("POST", "/api/ai/chat", map[string]any{"messages": msgs("hi"), "max_tokens": 4097}).Expect(t, 400, "MAX_TOKENS_EXCEEDED")
	if r.JSON["limit"] != float64(4096) {
		t.Errorf("POST /api/ai/chat over the cap = %s; want limit 4096", r.Body)
	}
	label.Do("POST", "/api/ai/chat", map[string]any{"messages": msgs(strings.Repeat("a", 64<<10+1))}).Expect(t, 400, "PROMPT_TOO_LARGE")
}
