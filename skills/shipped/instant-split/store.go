package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agentbot/gateway/sdk/skill"
	"github.com/agentbot/gateway/skills/shipped/internal/state"
	"github.com/agentbot/gateway/skills/shipped/internal/usdc"
)

// Store layout (per user and agent, by the platform's scoping):
//
//	rule/<id>                a split rule (JSON), id "rule_<8 hex digits>"
//	split/<n, 12 digits>     a split (JSON), id "split_<n>"
//	meta/next_rule           the next rule number
//	meta/next_split          the next split number
//	meta/totals              running totals (JSON) for get_balance
//	meta/seeded              present once the mock split was written
const (
	rulePrefix    = "rule/"
	splitPrefix   = "split/"
	nextRuleKey   = "meta/next_rule"
	nextSplitKey  = "meta/next_split"
	totalsKey     = "meta/totals"
	seededKey     = "meta/seeded"
	splitIDPrefix = "split_"
	// Bounds that keep list_rules and list_pending within the call's
	// host-call budget.
	maxRules  = 100
	maxSplits = 300
)

// Split statuses. A split is pending until executed; then queued when at
// least one transfer was queued, or completed when every share was skipped.
const (
	statusPending   = "pending"
	statusQueued    = "queued"
	statusCompleted = "completed"
)

var (
	roles    = []string{"artist", "producer", "label", "writer", "engineer"}
	triggers = []string{"streaming", "sync", "booking", "manual"}
	// defaultThreshold is the minimum payout per recipient: $50.
	defaultThreshold = 50 * usdc.Unit
)

// recipient is one share of a rule or split; Percentage is in units of
// 10^-4 % and MinimumThreshold in micro-USDC.
type recipient struct {
	ID               string `json:"id"`
	RecipientAddress string `json:"recipientAddress"`
	Percentage       int64  `json:"percentage"`
	Role             string `json:"role"`
	Name             string `json:"name"`
	MinimumThreshold int64  `json:"minimumThreshold"`
}

type rule struct {
	ID               string      `json:"id"`
	Splits           []recipient `json:"splits"`
	MinimumThreshold int64       `json:"minimumThreshold"`
	CreatedAt        *string     `json:"createdAt,omitempty"`
}

// result is the outcome of one share of an executed split.
type result struct {
	RecipientID string `json:"recipientId"`
	Recipient   string `json:"recipient"`
	Address     string `json:"address"`
	Role        string `json:"role"`
	Percentage  int64  `json:"percentage"`
	Amount      int64  `json:"amount"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
}

type split struct {
	ID         string      `json:"id"`
	Amount     int64       `json:"amount"`
	Currency   string      `json:"currency"`
	Trigger    string      `json:"trigger"`
	Release    string      `json:"release,omitempty"`
	RuleID     string      `json:"ruleId,omitempty"`
	Splits     []recipient `json:"splits"`
	Status     string      `json:"status"`
	CreatedAt  *string     `json:"createdAt,omitempty"`
	ExecutedAt *string     `json:"executedAt,omitempty"`
	Results    []result    `json:"results,omitempty"`
}

// totals are the running sums behind get_balance, in micro-USDC.
type totals struct {
	Received int64 `json:"received"` // every split's amount
	Pending  int64 `json:"pending"`  // amounts of splits not executed yet
	Queued   int64 `json:"queued"`   // shares queued for transfer
	Held     int64 `json:"held"`     // shares skipped below their threshold
}

func seedSplit() split {
	rs := []recipient{
		{RecipientAddress: "0xa11ce00000000000000000000000000000000001", Percentage: 50 * 10_000, Role: "artist", Name: "Artist"},
		{RecipientAddress: "0xa11ce00000000000000000000000000000000004", Percentage: 25 * 10_000, Role: "producer", Name: "Producer"},
		{RecipientAddress: "0xa11ce00000000000000000000000000000000005", Percentage: 25 * 10_000, Role: "label", Name: "Label"},
	}
	for i := range rs {
		rs[i].ID = fmt.Sprintf("r%d", i+1)
		rs[i].MinimumThreshold = defaultThreshold
	}
	return split{ID: "split_1", Amount: 50 * usdc.Unit, Currency: "USDC", Trigger: "streaming", Release: "Debut EP",
		Splits: rs, Status: statusPending}
}

// open returns the store, seeding the mock split on the user's first call.
func open(c *skill.Call) (state.Store, error) {
	st := state.New(c)
	var seeded bool
	ok, err := st.Get(seededKey, &seeded)
	if err != nil || ok {
		return st, err
	}
	s := seedSplit()
	if err := st.Put(state.SeqKey(splitPrefix, 1), s); err != nil {
		return st, err
	}
	if err := st.SetCounter(nextSplitKey, 2); err != nil {
		return st, err
	}
	if err := st.Put(totalsKey, totals{Received: s.Amount, Pending: s.Amount}); err != nil {
		return st, err
	}
	return st, st.Put(seededKey, true)
}

func loadTotals(st state.Store) (totals, error) {
	var t totals
	_, err := st.Get(totalsKey, &t)
	return t, err
}

// loadSplit finds a split by id: 400 without one, 404 SPLIT_NOT_FOUND when
// there is no such split.
func loadSplit(st state.Store, id string) (*split, string, error) {
	return state.Load[split](st, id, splitIDPrefix, splitPrefix, "splitId", "SPLIT_NOT_FOUND", "Split not found")
}

// loadRule finds a split rule by id: 400 without one, 404 RULE_NOT_FOUND when
// there is no such rule.
func loadRule(st state.Store, id string) (*rule, error) {
	r, _, err := state.Find[rule](st, id, "ruleId", func(id string) (string, bool) {
		return rulePrefix + id, validRuleID(id)
	}, "RULE_NOT_FOUND", "Split rule not found")
	return r, err
}

func ruleID(n int64) string { return fmt.Sprintf("rule_%08x", n) }

func validRuleID(id string) bool {
	hexPart, ok := strings.CutPrefix(id, "rule_")
	if !ok || len(hexPart) != 8 {
		return false
	}
	for _, c := range hexPart {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Views: what callers see, amounts as decimal strings.

type recipientView struct {
	ID               string      `json:"id"`
	RecipientAddress string      `json:"recipientAddress"`
	Percentage       json.Number `json:"percentage"`
	Role             string      `json:"role"`
	Name             string      `json:"name"`
	MinimumThreshold string      `json:"minimumThreshold"`
}

func recipientViews(rs []recipient) []recipientView {
	out := make([]recipientView, len(rs))
	for i, r := range rs {
		out[i] = recipientView{ID: r.ID, RecipientAddress: r.RecipientAddress, Percentage: usdc.FormatPercent(r.Percentage),
			Role: r.Role, Name: r.Name, MinimumThreshold: usdc.Format(r.MinimumThreshold)}
	}
	return out
}

type ruleView struct {
	ID               string          `json:"id"`
	Splits           []recipientView `json:"splits"`
	MinimumThreshold string          `json:"minimumThreshold"`
	CreatedAt        *string         `json:"createdAt,omitempty"`
}

func (r *rule) view() ruleView {
	return ruleView{ID: r.ID, Splits: recipientViews(r.Splits), MinimumThreshold: usdc.Format(r.MinimumThreshold), CreatedAt: r.CreatedAt}
}

type resultView struct {
	RecipientID string      `json:"recipientId"`
	Recipient   string      `json:"recipient"`
	Address     string      `json:"address"`
	Role        string      `json:"role"`
	Percentage  json.Number `json:"percentage"`
	Amount      string      `json:"amount"`
	Status      string      `json:"status"`
	Reason      string      `json:"reason,omitempty"`
	TxHash      *string     `json:"txHash"`
}

func resultViews(rs []result) []resultView {
	out := make([]resultView, len(rs))
	for i, r := range rs {
		out[i] = resultView{RecipientID: r.RecipientID, Recipient: r.Recipient, Address: r.Address, Role: r.Role,
			Percentage: usdc.FormatPercent(r.Percentage), Amount: usdc.Format(r.Amount), Status: r.Status, Reason: r.Reason}
	}
	return out
}

type splitView struct {
	ID         string          `json:"id"`
	Amount     string          `json:"amount"`
	Currency   string          `json:"currency"`
	Trigger    string          `json:"trigger"`
	Release    string          `json:"release,omitempty"`
	RuleID     string          `json:"ruleId,omitempty"`
	Splits     []recipientView `json:"splits"`
	Status     string          `json:"status"`
	CreatedAt  *string         `json:"createdAt,omitempty"`
	ExecutedAt *string         `json:"executedAt,omitempty"`
	Results    []resultView    `json:"results,omitempty"`
}

func (s *split) view() splitView {
	v := splitView{ID: s.ID, Amount: usdc.Format(s.Amount), Currency: s.Currency, Trigger: s.Trigger, Release: s.Release,
		RuleID: s.RuleID, Splits: recipientViews(s.Splits), Status: s.Status, CreatedAt: s.CreatedAt, ExecutedAt: s.ExecutedAt}
	if len(s.Results) > 0 {
		v.Results = resultViews(s.Results)
	}
	return v
}
