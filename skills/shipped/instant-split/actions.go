package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/agentbot/gateway/sdk/skill"
	"github.com/agentbot/gateway/skills/shipped/internal/recipients"
	"github.com/agentbot/gateway/skills/shipped/internal/state"
	"github.com/agentbot/gateway/skills/shipped/internal/usdc"
)

func createSplitRule(c *skill.Call) error {
	var in struct {
		Splits    []recipients.Input `json:"splits"`
		Threshold json.RawMessage    `json:"threshold"`
		Now       string             `json:"now"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	var r rule
	var err error
	if r.MinimumThreshold, err = usdc.Amount("threshold", in.Threshold, false, defaultThreshold); err != nil {
		return err
	}
	rs, err := recipients.Parse("splits", "split percentages", in.Splits, roles)
	if err != nil {
		return err
	}
	for i, rc := range rs {
		r.Splits = append(r.Splits, recipient{ID: fmt.Sprintf("r%d", i+1), RecipientAddress: rc.Address,
			Percentage: rc.Percentage, Role: rc.Role, Name: rc.Name, MinimumThreshold: r.MinimumThreshold})
	}
	if r.CreatedAt, err = state.Now(in.Now); err != nil {
		return err
	}
	st, err := open(c)
	if err != nil {
		return err
	}
	keys, err := st.Keys(rulePrefix)
	if err != nil {
		return err
	}
	if len(keys) >= maxRules {
		return skill.Failf("LIMIT_REACHED", 400, "At most %d split rules per agent", maxRules)
	}
	n, err := st.Next(nextRuleKey, 1)
	if err != nil {
		return err
	}
	r.ID = ruleID(n)
	if err := st.Put(rulePrefix+r.ID, r); err != nil {
		return err
	}
	c.Logf(skill.LevelInfo, "split rule %s created with %d recipients", r.ID, len(r.Splits))
	return c.OutputJSON(map[string]any{"success": true, "rule": r.view(),
		"message": fmt.Sprintf("Split rule %s created: %d recipients, minimum payout %s per recipient",
			r.ID, len(r.Splits), usdc.Dollars(r.MinimumThreshold))})
}

func listRules(c *skill.Call) error {
	st, err := open(c)
	if err != nil {
		return err
	}
	rs, err := state.All[rule](st, rulePrefix)
	if err != nil {
		return err
	}
	rules := make([]ruleView, len(rs))
	for i := range rs {
		rules[i] = rs[i].view()
	}
	return c.OutputJSON(map[string]any{"success": true, "rules": rules})
}

func createSplit(c *skill.Call) error {
	var in struct {
		Amount  json.RawMessage `json:"amount"`
		RuleID  string          `json:"ruleId"`
		Trigger string          `json:"trigger"`
		Release string          `json:"release"`
		Now     string          `json:"now"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	amount, err := usdc.Amount("amount", in.Amount, true, 0)
	if err != nil {
		return err
	}
	if amount == 0 {
		return skill.Failf(usdc.CodeInvalidAmount, 400, "amount must be greater than 0")
	}
	trigger := strings.ToLower(strings.TrimSpace(in.Trigger))
	if trigger == "" {
		trigger = "manual"
	}
	if !slices.Contains(triggers, trigger) {
		return usdc.Invalidf("trigger must be one of %s", strings.Join(triggers, ", "))
	}
	release := strings.TrimSpace(in.Release)
	if utf8.RuneCountInString(release) > 200 {
		return usdc.Invalidf("release must be at most 200 characters")
	}
	created, err := state.Now(in.Now)
	if err != nil {
		return err
	}
	if strings.TrimSpace(in.RuleID) == "" {
		return usdc.Missing("ruleId")
	}
	st, err := open(c)
	if err != nil {
		return err
	}
	r, err := loadRule(st, in.RuleID)
	if err != nil {
		return err
	}
	keys, err := st.Keys(splitPrefix)
	if err != nil {
		return err
	}
	if len(keys) >= maxSplits {
		return skill.Failf("LIMIT_REACHED", 400, "At most %d splits per agent", maxSplits)
	}
	t, err := loadTotals(st)
	if err != nil {
		return err
	}
	if amount > usdc.MaxTotal-t.Received {
		return skill.Failf(usdc.CodeInvalidAmount, 400, "amount would take the account past %s USDC", usdc.Format(usdc.MaxTotal))
	}
	n, err := st.Next(nextSplitKey, 1)
	if err != nil {
		return err
	}
	s := split{ID: fmt.Sprintf("%s%d", splitIDPrefix, n), Amount: amount, Currency: "USDC", Trigger: trigger,
		Release: release, RuleID: r.ID, Splits: r.Splits, Status: statusPending, CreatedAt: created}
	if err := st.Put(state.SeqKey(splitPrefix, n), s); err != nil {
		return err
	}
	t.Received += amount
	t.Pending += amount
	if err := st.Put(totalsKey, t); err != nil {
		return err
	}
	c.Logf(skill.LevelInfo, "split %s of %s USDC queued under %s", s.ID, usdc.Format(amount), r.ID)
	return c.OutputJSON(map[string]any{"success": true, "split": s.view(),
		"message": fmt.Sprintf("Split %s of %s USDC is pending: run execute_split to pay it out.", s.ID, usdc.Format(amount))})
}

func listPending(c *skill.Call) error {
	st, err := open(c)
	if err != nil {
		return err
	}
	all, err := state.All[split](st, splitPrefix)
	if err != nil {
		return err
	}
	splits := make([]splitView, 0, len(all))
	for i := range all {
		if all[i].Status == statusPending {
			splits = append(splits, all[i].view())
		}
	}
	return c.OutputJSON(map[string]any{"success": true, "splits": splits})
}

func executeSplit(c *skill.Call) error {
	var in struct {
		SplitID string `json:"splitId"`
		Now     string `json:"now"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	now, err := state.Now(in.Now)
	if err != nil {
		return err
	}
	st, err := open(c)
	if err != nil {
		return err
	}
	s, key, err := loadSplit(st, in.SplitID)
	if err != nil {
		return err
	}
	if s.Status != statusPending {
		return skill.Failf("SPLIT_ALREADY_PROCESSED", 400, "Split already processed")
	}
	shares, err := usdc.SplitPercent(s.Amount, s.Splits, func(r recipient) int64 { return r.Percentage })
	if err != nil {
		return err
	}
	var queued, held int64
	successful, skipped := 0, 0
	s.Results = make([]result, len(shares))
	for i, r := range s.Splits {
		res := result{RecipientID: r.ID, Recipient: r.Name, Address: r.RecipientAddress, Role: r.Role,
			Percentage: r.Percentage, Amount: shares[i]}
		switch {
		case shares[i] == 0:
			res.Status, res.Reason = "skipped", "Share is zero"
			skipped++
		case shares[i] < r.MinimumThreshold:
			res.Status, res.Reason = "skipped", fmt.Sprintf("Below minimum threshold (%s)", usdc.Dollars(r.MinimumThreshold))
			skipped++
			held += shares[i]
		default:
			res.Status = "pending_transfer"
			successful++
			queued += shares[i]
		}
		s.Results[i] = res
	}
	s.Status = statusCompleted
	if successful > 0 {
		s.Status = statusQueued
	}
	s.ExecutedAt = now
	if err := st.Put(key, s); err != nil {
		return err
	}
	t, err := loadTotals(st)
	if err != nil {
		return err
	}
	t.Pending -= s.Amount
	t.Queued += queued
	t.Held += held
	if err := st.Put(totalsKey, t); err != nil {
		return err
	}
	c.Logf(skill.LevelInfo, "split %s executed: %d queued, %d skipped", s.ID, successful, skipped)
	note := "Every share was below its recipient's minimum threshold; the funds stay in the balance."
	if successful > 0 {
		note = "Transfers queued: the skill sandbox has no chain access, so no transaction was sent yet and there is no tx hash."
	}
	return c.OutputJSON(map[string]any{
		"success":    true,
		"splitId":    s.ID,
		"status":     s.Status,
		"executedAt": s.ExecutedAt,
		"results":    resultViews(s.Results),
		"summary": map[string]any{
			"total":      usdc.Format(s.Amount) + " USDC",
			"successful": successful,
			"failed":     0,
			"skipped":    skipped,
			"queued":     usdc.Format(queued) + " USDC",
			"held":       usdc.Format(held) + " USDC",
		},
		"note": note,
	})
}

func getBalance(c *skill.Call) error {
	st, err := open(c)
	if err != nil {
		return err
	}
	t, err := loadTotals(st)
	if err != nil {
		return err
	}
	return c.OutputJSON(map[string]any{
		"success":  true,
		"balance":  usdc.Format(t.Received - t.Queued),
		"pending":  usdc.Format(t.Pending),
		"queued":   usdc.Format(t.Queued),
		"held":     usdc.Format(t.Held),
		"currency": "USDC",
		"network":  "Base",
	})
}

// The original skill's fixed simulation split.
type simulationShare struct {
	role string
	pct  int64 // percentage units
}

var simulationSplit = []simulationShare{
	{"artist", 50 * 10_000},
	{"producer", 25 * 10_000},
	{"label", 25 * 10_000},
}

// maxStreams bounds simulate's and the tracker's stream counts.
const maxStreams = 1_000_000_000_000

func simulate(c *skill.Call) error {
	var in struct {
		Streams json.RawMessage `json:"streams"`
		Rate    json.RawMessage `json:"rate"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	streams, err := usdc.Count("streams", in.Streams, false, 100_000, maxStreams)
	if err != nil {
		return err
	}
	rate, err := usdc.Amount("rate", in.Rate, false, 3_000) // 0.003 USDC per stream
	if err != nil {
		return err
	}
	earnings, err := usdc.Mul(streams, rate)
	if err != nil || earnings > usdc.MaxAmount {
		return skill.Failf(usdc.CodeInvalidAmount, 400, "streams × rate is too large")
	}
	shares, err := usdc.SplitPercent(earnings, simulationSplit, func(s simulationShare) int64 { return s.pct })
	if err != nil {
		return err
	}
	type share struct {
		Role       string      `json:"role"`
		Percentage json.Number `json:"percentage"`
		Amount     string      `json:"amount"`
	}
	splits := make([]share, len(shares))
	for i, s := range simulationSplit {
		splits[i] = share{Role: s.role, Percentage: usdc.FormatPercent(s.pct), Amount: usdc.Format(shares[i])}
	}
	return c.OutputJSON(map[string]any{
		"success":           true,
		"input":             map[string]any{"streams": streams, "rate": usdc.FormatScaled(rate, usdc.Decimals, 0)},
		"estimatedEarnings": usdc.Format2(earnings),
		"exactEarnings":     usdc.Format(earnings),
		"currency":          "USDC",
		"splits":            splits,
		"note":              "Estimate only: streams × rate, split artist 50 / producer 25 / label 25 before any minimum threshold.",
	})
}
