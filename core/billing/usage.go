package billing

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/money"
)

// usage: {action: "get-usage", month?: "YYYY-MM"} → the caller's recorded
// gateway usage for a UTC calendar month (this one by default): totals, per
// gateway id, and per day and id; spend in micro-USD and as dollars.
func (s *Service) usage(w http.ResponseWriter, r *http.Request, userID string, raw json.RawMessage) error {
	var in struct {
		Month string `json:"month"`
	}
	if err := api.Unmarshal(raw, &in); err != nil {
		return err
	}
	from, to := monthOf(s.now())
	if in.Month != "" {
		t, err := time.Parse("2006-01", in.Month)
		if err != nil {
			return api.BadRequest(api.CodeInvalidMonth, "Field \"month\" must be a month as YYYY-MM")
		}
		from, to = monthOf(t)
	}
	days, err := s.Store.UsageByDay(r.Context(), userID, from, to)
	if err != nil {
		return storeErr(err)
	}
	var calls, spend int64
	perTarget := map[string]*[2]int64{}
	byDay := make([]map[string]any, len(days))
	for i, d := range days {
		calls += d.Calls
		spend += d.SpendMicroUSD
		t := perTarget[d.Target]
		if t == nil {
			t = new([2]int64)
			perTarget[d.Target] = t
		}
		t[0] += d.Calls
		t[1] += d.SpendMicroUSD
		byDay[i] = map[string]any{"day": d.Day, "target": d.Target, "calls": d.Calls, "spendMicroUsd": d.SpendMicroUSD,
			"spend": json.Number(money.FormatUSD(d.SpendMicroUSD))}
	}
	targets := make([]string, 0, len(perTarget))
	for t := range perTarget {
		targets = append(targets, t)
	}
	slices.SortFunc(targets, func(a, b string) int {
		return cmp.Or(-cmp.Compare(perTarget[a][0], perTarget[b][0]), strings.Compare(a, b))
	})
	byTarget := make([]map[string]any, len(targets))
	for i, t := range targets {
		byTarget[i] = map[string]any{"target": t, "calls": perTarget[t][0], "spendMicroUsd": perTarget[t][1],
			"spend": json.Number(money.FormatUSD(perTarget[t][1]))}
	}
	api.OK(w, map[string]any{"usage": map[string]any{
		"month": from.Format("2006-01"), "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339),
		"calls": calls, "spendMicroUsd": spend, "spend": json.Number(money.FormatUSD(spend)),
		"byTarget": byTarget, "byDay": byDay,
	}})
	return nil
}
