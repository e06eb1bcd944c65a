//go:build !wasip1

package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/agentbot/gateway/sdk/skill/skilltest"
	gt "github.com/agentbot/gateway/skills/shipped/internal/guesttest"
	"github.com/agentbot/gateway/skills/shipped/internal/usdc"
)

type recipientOut struct {
	ID               string  `json:"id"`
	RecipientAddress string  `json:"recipientAddress"`
	Percentage       float64 `json:"percentage"`
	Role             string  `json:"role"`
	Name             string  `json:"name"`
	MinimumThreshold string  `json:"minimumThreshold"`
}

type splitOut struct {
	ID        string         `json:"id"`
	Amount    string         `json:"amount"`
	Currency  string         `json:"currency"`
	Trigger   string         `json:"trigger"`
	RuleID    string         `json:"ruleId"`
	Splits    []recipientOut `json:"splits"`
	Status    string         `json:"status"`
	CreatedAt *string        `json:"createdAt"`
}

type resultOut struct {
	Recipient string  `json:"recipient"`
	Address   string  `json:"address"`
	Role      string  `json:"role"`
	Amount    string  `json:"amount"`
	Status    string  `json:"status"`
	Reason    string  `json:"reason"`
	TxHash    *string `json:"txHash"`
}

type executeOut struct {
	Success    bool        `json:"success"`
	SplitID    string      `json:"splitId"`
	Status     string      `json:"status"`
	ExecutedAt *string     `json:"executedAt"`
	Results    []resultOut `json:"results"`
	Summary    struct {
		Total      string `json:"total"`
		Successful int    `json:"successful"`
		Failed     int    `json:"failed"`
		Skipped    int    `json:"skipped"`
		Queued     string `json:"queued"`
		Held       string `json:"held"`
	} `json:"summary"`
	Note string `json:"note"`
}

type balanceOut struct {
	Success  bool   `json:"success"`
	Balance  string `json:"balance"`
	Pending  string `json:"pending"`
	Queued   string `json:"queued"`
	Held     string `json:"held"`
	Currency string `json:"currency"`
	Network  string `json:"network"`
}

func pending(t *testing.T, s *skilltest.Skill, h *skilltest.Host) []splitOut {
	t.Helper()
	var out struct {
		Success bool       `json:"success"`
		Splits  []splitOut `json:"splits"`
	}
	gt.Into(t, s, h, gt.Object{"action": "list_pending"}, &out)
	if !out.Success {
		t.Fatal("list_pending: success false")
	}
	return out.Splits
}

func balance(t *testing.T, s *skilltest.Skill, h *skilltest.Host) balanceOut {
	t.Helper()
	var out balanceOut
	gt.Into(t, s, h, gt.Object{"action": "get_balance"}, &out)
	if !out.Success || out.Currency != "USDC" || out.Network != "Base" {
		t.Fatalf("balance = %+v", out)
	}
	return out
}

func execute(t *testing.T, s *skilltest.Skill, h *skilltest.Host, in gt.Object) executeOut {
	t.Helper()
	in["action"] = "execute_split"
	var out executeOut
	gt.Into(t, s, h, in, &out)
	return out
}

func amounts(rs []resultOut) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Amount)
	}
	return out
}

func statuses(rs []resultOut) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Status)
	}
	return out
}

func micro(t *testing.T, s string) int64 {
	t.Helper()
	v, err := usdc.ParseDecimal(strings.TrimSuffix(s, " USDC"), 6, usdc.MaxAmount)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return v
}

func createRule(t *testing.T, s *skilltest.Skill, h *skilltest.Host, in gt.Object) map[string]any {
	t.Helper()
	in["action"] = "create_split_rule"
	out := gt.OK(t, s, h, in)
	if out["success"] != true {
		t.Fatalf("create_split_rule = %v", out)
	}
	return out["rule"].(gt.Object)
}

func thirds() []gt.Object {
	return []gt.Object{
		{"recipientAddress": "0x00000000000000000000000000000000000000b1", "percentage": "33.3333", "role": "artist", "name": "Ana"},
		{"recipientAddress": "0x00000000000000000000000000000000000000b2", "percentage": 33.3333, "role": "producer", "name": "Pat"},
		{"recipientAddress": "0x00000000000000000000000000000000000000b3", "percentage": 33.3334, "role": "writer", "name": "Wes"},
	}
}

func TestManifest(t *testing.T) {
	s := gt.Load(t)
	m := gt.Manifest(t, s, "kv", "log")
	if m.Category != "payments" || m.Icon != "💸" || m.Version != "1.0.0" {
		t.Errorf("manifest %+v", m)
	}
}

func TestInvalidAction(t *testing.T) {
	s := gt.Load(t)
	for _, in := range []gt.Object{{"action": "split_everything"}, {}, {"action": 3}} {
		f := s.CallJSON(t, nil, in, nil)
		if f == nil || f.Status != 400 {
			t.Fatalf("%v → %v", in, f)
		}
		if in["action"] != 3 && (f.Code != "INVALID_ACTION" || f.Message != "Invalid action") {
			t.Errorf("%v → %v, want 400 INVALID_ACTION Invalid action", in, f)
		}
	}
}

// The seed's worked example: split_1 is 50 USDC at 50/25/25 with a $50
// threshold, so executing it skips every share.
func TestSeedSplitSkipsEveryShare(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	ps := pending(t, s, h)
	if len(ps) != 1 {
		t.Fatalf("pending = %+v, want the seeded split_1", ps)
	}
	p := ps[0]
	if p.ID != "split_1" || p.Amount != "50.00" || p.Currency != "USDC" || p.Status != "pending" || len(p.Splits) != 3 {
		t.Fatalf("split_1 = %+v", p)
	}
	for i, want := range []struct {
		role string
		pct  float64
	}{{"artist", 50}, {"producer", 25}, {"label", 25}} {
		if r := p.Splits[i]; r.Role != want.role || r.Percentage != want.pct || r.MinimumThreshold != "50.00" {
			t.Errorf("split_1 recipient %d = %+v", i, r)
		}
	}
	if b := balance(t, s, h); b.Balance != "50.00" || b.Pending != "50.00" || b.Queued != "0.00" {
		t.Errorf("balance before = %+v", b)
	}

	out := execute(t, s, h, gt.Object{"splitId": "split_1", "now": "2026-05-01T10:00:00Z"})
	if !out.Success || out.SplitID != "split_1" || out.ExecutedAt == nil || *out.ExecutedAt != "2026-05-01T10:00:00Z" || out.Status != "completed" {
		t.Errorf("execute = %+v", out)
	}
	if !slices.Equal(amounts(out.Results), []string{"25.00", "12.50", "12.50"}) ||
		!slices.Equal(statuses(out.Results), []string{"skipped", "skipped", "skipped"}) {
		t.Errorf("results = %+v", out.Results)
	}
	for _, r := range out.Results {
		if r.Reason != "Below minimum threshold ($50)" || r.TxHash != nil {
			t.Errorf("result %+v", r)
		}
	}
	sm := out.Summary
	if sm.Total != "50.00 USDC" || sm.Successful != 0 || sm.Failed != 0 || sm.Skipped != 3 || sm.Held != "50.00 USDC" {
		t.Errorf("summary = %+v", sm)
	}

	gt.Fails(t, s, h, gt.Object{"action": "execute_split", "splitId": "split_1"}, 400, "SPLIT_ALREADY_PROCESSED", "Split already processed")
	if ps := pending(t, s, h); len(ps) != 0 {
		t.Errorf("pending after execution = %+v", ps)
	}
	if b := balance(t, s, h); b.Balance != "50.00" || b.Pending != "0.00" || b.Queued != "0.00" || b.Held != "50.00" {
		t.Errorf("balance after = %+v", b)
	}
}

func TestRulesSplitsAndExactShares(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	r1 := createRule(t, s, h, gt.Object{"splits": thirds(), "threshold": "10", "now": "2026-05-01T09:00:00Z"})
	if r1["id"] != "rule_00000001" || r1["minimumThreshold"] != "10.00" || r1["createdAt"] != "2026-05-01T09:00:00Z" {
		t.Errorf("rule 1 = %v", r1)
	}
	r2 := createRule(t, s, h, gt.Object{"splits": []gt.Object{
		{"recipientAddress": "0x00000000000000000000000000000000000000c1", "percentage": 80},
		{"recipientAddress": "0x00000000000000000000000000000000000000c2", "percentage": 20, "role": "Label", "name": "Indie Label"},
	}})
	if r2["id"] != "rule_00000002" || r2["minimumThreshold"] != "50.00" {
		t.Errorf("rule 2 = %v", r2)
	}
	rs := r2["splits"].([]any)
	if first := rs[0].(gt.Object); first["role"] != "artist" || first["name"] != "Artist" || first["minimumThreshold"] != "50.00" {
		t.Errorf("defaults: %v", first)
	}
	if second := rs[1].(gt.Object); second["role"] != "label" || second["percentage"] != 20.0 {
		t.Errorf("second recipient: %v", second)
	}
	var rules struct {
		Rules []gt.Object `json:"rules"`
	}
	gt.Into(t, s, h, gt.Object{"action": "list_rules"}, &rules)
	if len(rules.Rules) != 2 || rules.Rules[0]["id"] != "rule_00000001" {
		t.Errorf("list_rules = %v", rules)
	}

	// 100.000001 in thirds: floors 33.3333, 33.3333, 33.3334 and the one
	// micro-unit left goes to the first recipient.
	var created struct {
		Success bool     `json:"success"`
		Split   splitOut `json:"split"`
		Message string   `json:"message"`
	}
	gt.Into(t, s, h, gt.Object{"action": "create_split", "amount": "100.000001", "ruleId": "rule_00000001", "trigger": "streaming"}, &created)
	sp := created.Split
	if !created.Success || sp.ID != "split_2" || sp.Amount != "100.000001" || sp.Status != "pending" || sp.Trigger != "streaming" ||
		sp.RuleID != "rule_00000001" || len(sp.Splits) != 3 || sp.Splits[0].MinimumThreshold != "10.00" {
		t.Fatalf("created = %+v", created)
	}
	gt.Into(t, s, h, gt.Object{"action": "create_split", "amount": 200, "ruleId": "rule_00000002"}, &created)
	if created.Split.ID != "split_3" || created.Split.Trigger != "manual" {
		t.Errorf("second split = %+v", created.Split)
	}
	if ps := pending(t, s, h); len(ps) != 3 || ps[0].ID != "split_1" || ps[1].ID != "split_2" || ps[2].ID != "split_3" {
		t.Errorf("pending = %+v", ps)
	}
	if b := balance(t, s, h); b.Balance != "350.000001" || b.Pending != "350.000001" {
		t.Errorf("balance = %+v", b)
	}

	out := execute(t, s, h, gt.Object{"splitId": "split_2"})
	if want := []string{"33.333301", "33.3333", "33.3334"}; !slices.Equal(amounts(out.Results), want) {
		t.Errorf("amounts %v, want %v", amounts(out.Results), want)
	}
	var sum int64
	for _, r := range out.Results {
		sum += micro(t, r.Amount)
		if r.Status != "pending_transfer" || r.TxHash != nil || r.Reason != "" {
			t.Errorf("result %+v", r)
		}
	}
	if sum != micro(t, "100.000001") {
		t.Errorf("shares sum to %d micro-USDC", sum)
	}
	if out.Status != "queued" || out.ExecutedAt != nil || out.Summary.Total != "100.000001 USDC" || out.Summary.Successful != 3 ||
		out.Summary.Skipped != 0 || out.Summary.Failed != 0 || !strings.Contains(out.Note, "no chain access") {
		t.Errorf("execute = %+v", out)
	}
	if out.Results[0].Recipient != "Ana" || out.Results[2].Address != "0x00000000000000000000000000000000000000b3" {
		t.Errorf("recipients %+v", out.Results)
	}

	// 200 at 80/20 with a $50 threshold: 160 queued, 40 held back.
	out = execute(t, s, h, gt.Object{"splitId": "split_3"})
	if !slices.Equal(amounts(out.Results), []string{"160.00", "40.00"}) ||
		!slices.Equal(statuses(out.Results), []string{"pending_transfer", "skipped"}) ||
		out.Results[1].Reason != "Below minimum threshold ($50)" || out.Summary.Successful != 1 || out.Summary.Skipped != 1 {
		t.Errorf("mixed execute = %+v", out)
	}
	gt.Fails(t, s, h, gt.Object{"action": "execute_split", "splitId": "split_3"}, 400, "SPLIT_ALREADY_PROCESSED", "Split already processed")
	if b := balance(t, s, h); b.Balance != "90.00" || b.Pending != "50.00" || b.Queued != "260.000001" || b.Held != "40.00" {
		t.Errorf("balance after = %+v", b)
	}
}

func TestFractionalThresholdMessage(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	createRule(t, s, h, gt.Object{"splits": thirds(), "threshold": 12.5})
	gt.OK(t, s, h, gt.Object{"action": "create_split", "amount": "30", "ruleId": "rule_00000001"})
	out := execute(t, s, h, gt.Object{"splitId": "split_2"})
	for _, r := range out.Results {
		if r.Status != "skipped" || r.Reason != "Below minimum threshold ($12.50)" {
			t.Errorf("result %+v", r)
		}
	}
	// A zero threshold queues every non-zero share.
	createRule(t, s, h, gt.Object{"splits": thirds(), "threshold": 0})
	gt.OK(t, s, h, gt.Object{"action": "create_split", "amount": "0.000002", "ruleId": "rule_00000002"})
	out = execute(t, s, h, gt.Object{"splitId": "split_3"})
	if !slices.Equal(amounts(out.Results), []string{"0.000002", "0.00", "0.00"}) ||
		!slices.Equal(statuses(out.Results), []string{"pending_transfer", "skipped", "skipped"}) {
		t.Errorf("tiny split = %+v", out.Results)
	}
}

func TestSimulate(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	type simOut struct {
		Success           bool           `json:"success"`
		Input             map[string]any `json:"input"`
		EstimatedEarnings string         `json:"estimatedEarnings"`
		ExactEarnings     string         `json:"exactEarnings"`
		Currency          string         `json:"currency"`
		Splits            []struct {
			Role       string  `json:"role"`
			Percentage float64 `json:"percentage"`
			Amount     string  `json:"amount"`
		} `json:"splits"`
		Note string `json:"note"`
	}
	shares := func(o simOut) []string {
		var out []string
		for _, s := range o.Splits {
			out = append(out, s.Role+"="+s.Amount)
		}
		return out
	}
	// The seed's worked example: 100000 × 0.003 = 300.00 → 150 / 75 / 75.
	for _, in := range []gt.Object{
		{"action": "simulate"},
		{"action": "simulate", "streams": 100000, "rate": 0.003},
		{"action": "simulate", "streams": "100000", "rate": "0.003"},
	} {
		var o simOut
		gt.Into(t, s, h, in, &o)
		if !o.Success || o.EstimatedEarnings != "300.00" || o.Currency != "USDC" || o.Note == "" ||
			o.Input["streams"] != 100000.0 || o.Input["rate"] != "0.003" ||
			!slices.Equal(shares(o), []string{"artist=150.00", "producer=75.00", "label=75.00"}) {
			t.Errorf("%v → %+v", in, o)
		}
	}
	var o simOut
	// 0.1 + 0.2 style: 7 × 0.1 = 0.7 exactly, 2dp estimate, exact shares.
	gt.Into(t, s, h, gt.Object{"action": "simulate", "streams": 7, "rate": "0.1"}, &o)
	if o.EstimatedEarnings != "0.70" || !slices.Equal(shares(o), []string{"artist=0.35", "producer=0.175", "label=0.175"}) {
		t.Errorf("7 × 0.1 → %+v", o)
	}
	gt.Into(t, s, h, gt.Object{"action": "simulate", "streams": 1, "rate": "0.003"}, &o)
	if o.EstimatedEarnings != "0.00" || o.ExactEarnings != "0.003" || !slices.Equal(shares(o), []string{"artist=0.0015", "producer=0.00075", "label=0.00075"}) {
		t.Errorf("1 × 0.003 → %+v", o)
	}
	gt.Into(t, s, h, gt.Object{"action": "simulate", "streams": 1234567, "rate": "0.004375"}, &o)
	// 1234567 × 0.004375 = 5401.230625 → 5401.23; shares floor, remainder to the artist.
	if o.EstimatedEarnings != "5401.23" || o.ExactEarnings != "5401.230625" ||
		!slices.Equal(shares(o), []string{"artist=2700.615313", "producer=1350.307656", "label=1350.307656"}) {
		t.Errorf("1234567 × 0.004375 → %+v", o)
	}
	if len(h.KV) != 0 {
		t.Errorf("simulate stored %d keys", len(h.KV))
	}
	for _, c := range []struct {
		in        gt.Object
		code, msg string
	}{
		{gt.Object{"streams": -1}, "INVALID_FIELD", "streams must not be negative"},
		{gt.Object{"streams": 1.5}, "INVALID_FIELD", "streams must be a whole number"},
		{gt.Object{"streams": "lots"}, "INVALID_FIELD", "streams must be a whole number (like 100000)"},
		{gt.Object{"streams": 1e21}, "INVALID_FIELD", "streams must be a whole number"},
		{gt.Object{"streams": 1e13}, "INVALID_FIELD", "streams must be at most 1000000000000"},
		{gt.Object{"streams": "10000000000000"}, "INVALID_FIELD", "streams must be at most 1000000000000"},
		{gt.Object{"rate": "0.0000001"}, "INVALID_AMOUNT", "rate has more than 6 decimal places"},
		{gt.Object{"rate": -0.003}, "INVALID_AMOUNT", "rate must not be negative"},
		{gt.Object{"rate": "3/1000"}, "INVALID_AMOUNT", "rate must be an amount in USDC written as a plain decimal"},
		{gt.Object{"streams": "1000000000000", "rate": "1000000000"}, "INVALID_AMOUNT", "streams × rate is too large"},
	} {
		c.in["action"] = "simulate"
		gt.Fails(t, s, h, c.in, 400, c.code, c.msg)
	}
}

func TestValidation(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	createRule(t, s, h, gt.Object{"splits": thirds()})
	rule := func(mod func(in gt.Object)) gt.Object {
		in := gt.Object{"action": "create_split_rule", "splits": thirds()}
		mod(in)
		return in
	}
	split := func(mod func(in gt.Object)) gt.Object {
		in := gt.Object{"action": "create_split", "amount": "10", "ruleId": "rule_00000001"}
		mod(in)
		return in
	}
	for _, c := range []struct {
		name      string
		in        gt.Object
		status    int
		code, msg string
	}{
		{"rule without splits", rule(func(in gt.Object) { delete(in, "splits") }), 400, "MISSING_FIELD", "splits (at least one recipient) is required"},
		{"rule under 100", rule(func(in gt.Object) { in["splits"].([]gt.Object)[0]["percentage"] = 30 }), 400, "INVALID_PERCENTAGE", "split percentages must total 100 (got 96.6667)"},
		{"rule pct decimals", rule(func(in gt.Object) { in["splits"].([]gt.Object)[0]["percentage"] = "33.33333" }), 400, "INVALID_PERCENTAGE", "splits[0].percentage has more than 4 decimal places"},
		{"rule bad address", rule(func(in gt.Object) { in["splits"].([]gt.Object)[1]["recipientAddress"] = "bob.eth" }), 400, "INVALID_FIELD", "splits[1].recipientAddress must be a 0x-prefixed address"},
		{"rule bad role", rule(func(in gt.Object) { in["splits"].([]gt.Object)[2]["role"] = "manager" }), 400, "INVALID_FIELD", "splits[2].role must be one of artist, producer, label, writer, engineer"},
		{"rule negative threshold", rule(func(in gt.Object) { in["threshold"] = -50 }), 400, "INVALID_AMOUNT", "threshold must not be negative"},
		{"rule threshold decimals", rule(func(in gt.Object) { in["threshold"] = "0.0000001" }), 400, "INVALID_AMOUNT", "threshold has more than 6 decimal places"},
		{"split without amount", split(func(in gt.Object) { delete(in, "amount") }), 400, "MISSING_FIELD", "amount is required"},
		{"split zero", split(func(in gt.Object) { in["amount"] = 0 }), 400, "INVALID_AMOUNT", "amount must be greater than 0"},
		{"split negative", split(func(in gt.Object) { in["amount"] = "-10" }), 400, "INVALID_AMOUNT", "amount must not be negative"},
		{"split malformed", split(func(in gt.Object) { in["amount"] = "10 USDC" }), 400, "INVALID_AMOUNT", "amount must be an amount in USDC written as a plain decimal"},
		{"split decimals", split(func(in gt.Object) { in["amount"] = "10.0000001" }), 400, "INVALID_AMOUNT", "amount has more than 6 decimal places"},
		{"split trigger", split(func(in gt.Object) { in["trigger"] = "tips" }), 400, "INVALID_FIELD", "trigger must be one of streaming, sync, booking, manual"},
		{"split without rule", split(func(in gt.Object) { delete(in, "ruleId") }), 400, "MISSING_FIELD", "ruleId is required"},
		{"split unknown rule", split(func(in gt.Object) { in["ruleId"] = "rule_000000ff" }), 404, "RULE_NOT_FOUND", "Split rule not found"},
		{"split odd rule", split(func(in gt.Object) { in["ruleId"] = "../rule_00000001" }), 404, "RULE_NOT_FOUND", "Split rule not found"},
		{"execute without id", gt.Object{"action": "execute_split"}, 400, "MISSING_FIELD", "splitId is required"},
		{"execute unknown", gt.Object{"action": "execute_split", "splitId": "split_9"}, 404, "SPLIT_NOT_FOUND", "Split not found"},
		{"execute odd id", gt.Object{"action": "execute_split", "splitId": "rule_00000001"}, 404, "SPLIT_NOT_FOUND", "Split not found"},
		{"execute bad now", gt.Object{"action": "execute_split", "splitId": "split_1", "now": "noon"}, 400, "INVALID_FIELD", "now must be an RFC 3339 time"},
		{"wrong type", gt.Object{"action": "execute_split", "splitId": 1}, 400, "INVALID_INPUT", "Invalid JSON input"},
	} {
		t.Run(c.name, func(t *testing.T) { gt.Fails(t, s, h, c.in, c.status, c.code, c.msg) })
	}
	// Nothing but the first rule was created, and split_1 is still pending.
	if ps := pending(t, s, h); len(ps) != 1 || ps[0].ID != "split_1" {
		t.Errorf("pending = %+v", ps)
	}
	if b := balance(t, s, h); b.Balance != "50.00" {
		t.Errorf("balance = %+v", b)
	}
}

func TestUsersAreIsolated(t *testing.T) {
	s := gt.Load(t)
	alice, bob := &skilltest.Host{}, &skilltest.Host{}
	createRule(t, s, alice, gt.Object{"splits": thirds()})
	gt.OK(t, s, alice, gt.Object{"action": "create_split", "amount": 300, "ruleId": "rule_00000001"})
	execute(t, s, alice, gt.Object{"splitId": "split_1"})

	if ps := pending(t, s, alice); len(ps) != 1 || ps[0].ID != "split_2" {
		t.Errorf("alice pending = %+v", ps)
	}
	if ps := pending(t, s, bob); len(ps) != 1 || ps[0].ID != "split_1" {
		t.Errorf("bob pending = %+v; want his own untouched split_1", ps)
	}
	gt.Fails(t, s, bob, gt.Object{"action": "create_split", "amount": 1, "ruleId": "rule_00000001"}, 404, "RULE_NOT_FOUND", "Split rule not found")
	gt.Fails(t, s, bob, gt.Object{"action": "execute_split", "splitId": "split_2"}, 404, "SPLIT_NOT_FOUND", "Split not found")
	if b := balance(t, s, bob); b.Balance != "50.00" || b.Pending != "50.00" {
		t.Errorf("bob balance = %+v", b)
	}
	if b := balance(t, s, alice); b.Balance != "350.00" || b.Pending != "300.00" || b.Held != "50.00" {
		t.Errorf("alice balance = %+v", b)
	}
	// Bob's first rule gets the first id too.
	if r := createRule(t, s, bob, gt.Object{"splits": thirds()}); r["id"] != "rule_00000001" {
		t.Errorf("bob's rule = %v", r)
	}
}

// The manifest's input schemas (which agents check a model's arguments
// against) refuse obviously wrong inputs; every test's successful input
// passes them (guesttest checks).
func TestInputSchemas(t *testing.T) {
	for _, c := range []struct {
		in  gt.Object
		msg string
	}{
		{gt.Object{"action": "create_split", "amount": 0, "ruleId": ""}, "amount: must be > 0; ruleId: must be at least 1 character long"},
		{gt.Object{"action": "create_split", "amount": "ten", "ruleId": "rule_00000001"}, "amount: must match the pattern"},
		{gt.Object{"action": "create_split", "amount": 10}, `missing property "ruleId"`},
		{gt.Object{"action": "create_split", "amount": 10, "ruleId": "rule_00000001", "trigger": "tips"}, `trigger: must be one of "streaming"`},
		{gt.Object{"action": "create_split_rule", "splits": []gt.Object{{"recipientAddress": "bob.eth", "percentage": 100}}},
			"splits[0].recipientAddress: must match the pattern"},
		{gt.Object{"action": "create_split_rule", "splits": []gt.Object{{"recipientAddress": "0x00000000000000000000000000000000000000b1"}}},
			`splits[0]: missing property "percentage"`},
		{gt.Object{"action": "create_split_rule", "splits": []gt.Object{}}, "splits: must have at least 1 item"},
		{gt.Object{"action": "create_split_rule", "splits": thirds(), "threshold": -1}, "threshold: must be >= 0"},
		{gt.Object{"action": "execute_split", "splitId": 1}, "splitId: must be a string, not a number"},
		{gt.Object{"action": "simulate", "streams": 1.5}, "streams: must be an integer or a string, not a number"},
		{gt.Object{"action": "get_balance", "account": "me"}, `unknown property "account"`},
	} {
		gt.Refuses(t, c.in, c.msg)
	}
}
