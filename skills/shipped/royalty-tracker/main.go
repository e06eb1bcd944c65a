// Command royalty-tracker is the shipped skill that keeps a ledger of
// streaming royalties: each record is streams × rate (USDC per stream) on a
// platform for a track. Actions (POST /api/skills/royalty-tracker {action, …}):
//
//	record {platform, track, streams, rate}  → {success, royalty, total}
//	list                                     → {success, royalties}
//	total                                    → {success, total, currency, records, streams, byPlatform}
//	reset                                    → {success, deleted}
//
// Records live in the skill's key-value store, scoped by the platform to the
// calling user and agent; a new user starts with an empty ledger. Amounts are
// integer micro-units of USDC: the rate is parsed exactly (at most 6
// decimals), streams × rate is computed in integers, and both are rendered
// as decimal strings. Timestamps come from the caller's optional "now" field
// (the sandbox has no clock).
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o royalty-tracker.wasm .
package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/agentbot/gateway/sdk/skill"
	"github.com/agentbot/gateway/skills/shipped/internal/state"
	"github.com/agentbot/gateway/skills/shipped/internal/usdc"
)

func main() {}

func init() {
	skill.Route(map[string]skill.HandlerFunc{
		"record": record,
		"list":   list,
		"total":  total,
		"reset":  reset,
	})
}

// Store layout (per user and agent, by the platform's scoping):
//
//	royalty/<n, 12 digits>  a record (JSON), id "roy_<n>"
//	meta/next               the next record number
//	meta/totals             the running sums (JSON), which bound new records
const (
	recordPrefix = "royalty/"
	nextKey      = "meta/next"
	totalsKey    = "meta/totals"
	idPrefix     = "roy_"
	// maxRecords keeps list, total and reset within the call's host-call
	// budget.
	maxRecords = 500
	maxStreams = 1_000_000_000_000
)

// royalty is a stored record; Rate and Amount in micro-USDC.
type royalty struct {
	ID         string  `json:"id"`
	Platform   string  `json:"platform"`
	Track      string  `json:"track"`
	Streams    int64   `json:"streams"`
	Rate       int64   `json:"rate"`
	Amount     int64   `json:"amount"`
	RecordedAt *string `json:"recordedAt,omitempty"`
}

type totals struct {
	Records int64 `json:"records"`
	Streams int64 `json:"streams"`
	Amount  int64 `json:"amount"`
}

type royaltyView struct {
	ID         string  `json:"id"`
	Platform   string  `json:"platform"`
	Track      string  `json:"track"`
	Streams    int64   `json:"streams"`
	Rate       string  `json:"rate"`
	Amount     string  `json:"amount"`
	Currency   string  `json:"currency"`
	RecordedAt *string `json:"recordedAt,omitempty"`
}

func (r *royalty) view() royaltyView {
	return royaltyView{ID: r.ID, Platform: r.Platform, Track: r.Track, Streams: r.Streams,
		Rate: usdc.FormatScaled(r.Rate, usdc.Decimals, 0), Amount: usdc.Format(r.Amount), Currency: "USDC", RecordedAt: r.RecordedAt}
}

func record(c *skill.Call) error {
	var in struct {
		Platform string          `json:"platform"`
		Track    string          `json:"track"`
		Streams  json.RawMessage `json:"streams"`
		Rate     json.RawMessage `json:"rate"`
		Now      string          `json:"now"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	r := royalty{Platform: strings.TrimSpace(in.Platform), Track: strings.TrimSpace(in.Track)}
	if r.Platform == "" {
		return usdc.Missing("platform")
	}
	if utf8.RuneCountInString(r.Platform) > 100 {
		return usdc.Invalidf("platform must be at most 100 characters")
	}
	if r.Track == "" {
		return usdc.Missing("track")
	}
	if utf8.RuneCountInString(r.Track) > 200 {
		return usdc.Invalidf("track must be at most 200 characters")
	}
	var err error
	if r.Streams, err = usdc.Count("streams", in.Streams, true, 0, maxStreams); err != nil {
		return err
	}
	if r.Rate, err = usdc.Amount("rate", in.Rate, true, 0); err != nil {
		return err
	}
	if r.Amount, err = usdc.Mul(r.Streams, r.Rate); err != nil || r.Amount > usdc.MaxAmount {
		return skill.Failf(usdc.CodeInvalidAmount, 400, "streams × rate is too large")
	}
	if r.RecordedAt, err = state.Now(in.Now); err != nil {
		return err
	}

	st := state.New(c)
	var t totals
	if _, err := st.Get(totalsKey, &t); err != nil {
		return err
	}
	if t.Records >= maxRecords {
		return skill.Failf("LIMIT_REACHED", 400, "At most %d royalty records per agent; reset to start over", maxRecords)
	}
	if r.Amount > usdc.MaxTotal-t.Amount || r.Streams > usdc.MaxTotal-t.Streams {
		return skill.Failf(usdc.CodeInvalidAmount, 400, "the ledger's total would be too large; reset to start over")
	}
	n, err := st.Next(nextKey, 1)
	if err != nil {
		return err
	}
	r.ID = fmt.Sprintf("%s%d", idPrefix, n)
	if err := st.Put(state.SeqKey(recordPrefix, n), r); err != nil {
		return err
	}
	t.Records++
	t.Streams += r.Streams
	t.Amount += r.Amount
	if err := st.Put(totalsKey, t); err != nil {
		return err
	}
	c.Logf(skill.LevelInfo, "royalty %s recorded: %d streams on %s", r.ID, r.Streams, r.Platform)
	return c.OutputJSON(map[string]any{"success": true, "royalty": r.view(), "total": usdc.Format(t.Amount), "currency": "USDC"})
}

func list(c *skill.Call) error {
	rs, err := state.All[royalty](state.New(c), recordPrefix)
	if err != nil {
		return err
	}
	views := make([]royaltyView, len(rs))
	for i := range rs {
		views[i] = rs[i].view()
	}
	return c.OutputJSON(map[string]any{"success": true, "royalties": views})
}

func total(c *skill.Call) error {
	rs, err := state.All[royalty](state.New(c), recordPrefix)
	if err != nil {
		return err
	}
	type platformTotal struct {
		Platform string `json:"platform"`
		Records  int    `json:"records"`
		Streams  int64  `json:"streams"`
		Total    string `json:"total"`
		amount   int64
	}
	var sum, streams int64
	var byPlatform []*platformTotal
	index := map[string]*platformTotal{}
	for _, r := range rs {
		if r.Amount > usdc.MaxTotal-sum || r.Streams > usdc.MaxTotal-streams {
			return fmt.Errorf("royalty ledger total overflows")
		}
		sum += r.Amount
		streams += r.Streams
		p := index[r.Platform]
		if p == nil {
			p = &platformTotal{Platform: r.Platform}
			index[r.Platform] = p
			byPlatform = append(byPlatform, p)
		}
		p.Records++
		p.Streams += r.Streams
		p.amount += r.Amount
	}
	for _, p := range byPlatform {
		p.Total = usdc.Format(p.amount)
	}
	if byPlatform == nil {
		byPlatform = []*platformTotal{}
	}
	return c.OutputJSON(map[string]any{"success": true, "total": usdc.Format(sum), "currency": "USDC",
		"records": len(rs), "streams": streams, "byPlatform": byPlatform})
}

func reset(c *skill.Call) error {
	st := state.New(c)
	keys, err := st.Keys(recordPrefix)
	if err != nil {
		return err
	}
	for _, k := range append(keys, nextKey, totalsKey) {
		if err := st.Delete(k); err != nil {
			return err
		}
	}
	c.Logf(skill.LevelInfo, "royalty ledger reset: %d records deleted", len(keys))
	return c.OutputJSON(map[string]any{"success": true, "deleted": len(keys),
		"message": fmt.Sprintf("Deleted %d royalty records", len(keys))})
}
