package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/sdk/provider"
)

func TestUsageRecorded(t *testing.T) {
	e := newEnv(t, tickingClock)
	c, uid := e.user(t, "paid@example.com", "solo")
	unpaid, unpaidID := e.user(t, "unpaid@example.com", "")
	other, otherID := e.user(t, "other@example.com", "solo")

	type call struct {
		b      behavior
		body   map[string]any
		stream bool
		status int
	}
	calls := []call{
		{b: behavior{output: json.RawMessage(`{}`), usage: provider.Usage{InputTokens: 11, OutputTokens: 7, CostMicroUSD: 123}},
			body: map[string]any{"plugin": "agent"}, status: 200},
		{b: behavior{err: provider.ErrUnavailable}, body: map[string]any{"plugin": "agent"}, status: 502},
		{b: behavior{perr: provider.Errorf(403, "MODEL_NOT_ALLOWED", "no")},
			body: map[string]any{"plugin": "agent"}, status: 403},
		{b: behavior{err: context.DeadlineExceeded}, body: map[string]any{"plugin": "agent"}, status: 504},
		{b: behavior{stream: chunks(
			&provider.Chunk{Data: json.RawMessage(`{"delta":"a"}`), Usage: &provider.Usage{InputTokens: 5}},
			&provider.Chunk{Data: json.RawMessage(`{"delta":"b"}`), Usage: &provider.Usage{OutputTokens: 3, CostMicroUSD: 40}})},
			body: map[string]any{"plugin": "generate-text", "stream": true}, stream: true, status: 200},
		{b: behavior{stream: chunks(
			&provider.Chunk{Data: json.RawMessage(`{"delta":"a"}`), Usage: &provider.Usage{InputTokens: 2, OutputTokens: 1}},
			&provider.Chunk{Error: provider.Errorf(500, "UPSTREAM_ERROR", "boom")})},
			body: map[string]any{"plugin": "generate-text", "stream": true}, stream: true, status: 500},
		{b: behavior{output: json.RawMessage(`1`)}, body: map[string]any{"plugin": "free-thing"}, status: 200},
		{b: behavior{output: json.RawMessage(`{"broken":`), usage: provider.Usage{InputTokens: 6}},
			body: map[string]any{"plugin": "agent"}, status: 502},
	}
	for i, cl := range calls {
		id := cl.body["plugin"].(string)
		e.d.set(id, cl.b)
		if cl.stream {
			s := e.open(t, c, "POST", "/api/v1/gateway", cl.body)
			for ev := range s.events { // the whole stream: usage is recorded before it ends
				_ = ev
			}
			if s.Resp.StatusCode != 200 {
				t.Fatalf("call %d: status %d", i, s.Resp.StatusCode)
			}
			continue
		}
		c.Do("POST", "/api/v1/gateway", cl.body).Expect(t, cl.status, "")
	}
	// Calls rejected before dispatch are not usage.
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "nope"}).Expect(t, 404, "UNKNOWN_PLUGIN")
	c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": 1}).Expect(t, 400, "INVALID_FIELD_TYPE")
	unpaid.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 402, "PAYMENT_REQUIRED")
	// Another caller's usage is theirs.
	e.d.set("agent", behavior{output: json.RawMessage(`{}`)})
	other.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}).Expect(t, 200, "")

	got := e.usage(t, uid)
	want := []store.UsageEvent{
		{Target: "agent", Status: 200, InputTokens: 11, OutputTokens: 7, PriceMicroUSD: 50_000, UpstreamMicroUSD: 123, PaymentMethod: "stripe"},
		{Target: "agent", Status: 502, PaymentMethod: "stripe"},
		{Target: "agent", Status: 403, PaymentMethod: "stripe"},
		{Target: "agent", Status: 504, PaymentMethod: "stripe"},
		{Target: "generate-text", Status: 200, InputTokens: 5, OutputTokens: 3, PriceMicroUSD: 10_000, UpstreamMicroUSD: 40, PaymentMethod: "stripe"},
		// A stream that failed after output reached the client is charged.
		{Target: "generate-text", Status: 500, InputTokens: 2, OutputTokens: 1, PriceMicroUSD: 10_000, PaymentMethod: "stripe"},
		{Target: "free-thing", Status: 200, PaymentMethod: "free"},
		{Target: "agent", Status: 502, InputTokens: 6, PaymentMethod: "stripe"}, // malformed output is not charged
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events: %+v; want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.UserID != uid || g.ID == "" || g.CreatedAt.IsZero() || g.Duration < 0 {
			t.Errorf("event %d = %+v; want it to belong to the caller, with an id and a time", i, g)
		}
		g.ID, g.UserID, g.CreatedAt, g.Duration = "", "", time.Time{}, 0
		if g != w {
			t.Errorf("event %d = %+v; want %+v", i, g, w)
		}
	}
	if ev, err := e.Store.Usage(context.Background(), unpaidID, time.Time{}); err != nil || len(ev) != 0 {
		t.Errorf("unpaid usage = %+v, %v; want none", ev, err)
	}
	if ev, err := e.Store.Usage(context.Background(), otherID, time.Time{}); err != nil || len(ev) != 1 || ev[0].Status != 200 {
		t.Errorf("other usage = %+v, %v; want their one call", ev, err)
	}
}

func TestChatUsageOnMalformedOutput(t *testing.T) {
	e := newEnv(t, tickingClock)
	c, uid := e.user(t, "paid@example.com", "solo")
	msgs := map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hi"}}}
	e.d.set("generate-text", behavior{output: json.RawMessage(`["not","an","object"]`)})
	oaError(t, c.Do("POST", "/api/v1/chat/completions", msgs), 502, "api_error", "plugin_error")
	e.d.set("generate-text", behavior{output: json.RawMessage(`{"message":`)})
	oaError(t, c.Do("POST", "/api/v1/chat/completions", msgs), 502, "api_error", "plugin_error")
	events := e.usage(t, uid)
	if len(events) != 2 {
		t.Fatalf("usage = %+v; want two events", events)
	}
	for _, ev := range events {
		if ev.Status != 502 || ev.PriceMicroUSD != 0 {
			t.Errorf("usage %+v; want an uncharged 502, as answered", ev)
		}
	}
}

func TestUsageUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	const users, calls = 3, 20
	type caller struct {
		c   *servertest.Client
		uid string
	}
	var cs []caller
	for i := range users {
		c, uid := e.user(t, fmt.Sprintf("u%d@example.com", i), "solo")
		cs = append(cs, caller{c, uid})
	}
	e.d.set("agent", behavior{output: json.RawMessage(`{}`), usage: provider.Usage{InputTokens: 1, OutputTokens: 2}})
	var wg sync.WaitGroup
	errs := make(chan string, users*calls)
	for _, c := range cs {
		for range calls {
			wg.Go(func() {
				// Statuses are collected here and reported after Wait.
				if r := c.c.Do("POST", "/api/v1/gateway", map[string]any{"plugin": "agent"}); r.Status != 200 {
					errs <- fmt.Sprintf("%d %s", r.Status, r.Body)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, c := range cs {
		events := e.usage(t, c.uid)
		var in, out, price int64
		for _, ev := range events {
			in, out, price = in+ev.InputTokens, out+ev.OutputTokens, price+ev.PriceMicroUSD
		}
		if len(events) != calls || in != calls || out != 2*calls || price != calls*50_000 {
			t.Errorf("%s: %d events, tokens %d/%d, price %d; want %d calls' worth", c.uid, len(events), in, out, price, calls)
		}
	}
}
