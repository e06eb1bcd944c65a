//go:build !wasip1

package main

import (
	"testing"

	"github.com/agentbot/gateway/sdk/skill/skilltest"
	gt "github.com/agentbot/gateway/skills/shipped/internal/guesttest"
	"github.com/agentbot/gateway/skills/shipped/internal/usdc"
)

type royaltyOut struct {
	ID         string  `json:"id"`
	Platform   string  `json:"platform"`
	Track      string  `json:"track"`
	Streams    int64   `json:"streams"`
	Rate       string  `json:"rate"`
	Amount     string  `json:"amount"`
	Currency   string  `json:"currency"`
	RecordedAt *string `json:"recordedAt"`
}

type totalOut struct {
	Success    bool   `json:"success"`
	Total      string `json:"total"`
	Currency   string `json:"currency"`
	Records    int    `json:"records"`
	Streams    int64  `json:"streams"`
	ByPlatform []struct {
		Platform string `json:"platform"`
		Records  int    `json:"records"`
		Streams  int64  `json:"streams"`
		Total    string `json:"total"`
	} `json:"byPlatform"`
}

func rec(t *testing.T, s *skilltest.Skill, h *skilltest.Host, platform, track string, streams, rate any) royaltyOut {
	t.Helper()
	var out struct {
		Success bool       `json:"success"`
		Royalty royaltyOut `json:"royalty"`
		Total   string     `json:"total"`
	}
	gt.Into(t, s, h, gt.Object{"action": "record", "platform": platform, "track": track, "streams": streams, "rate": rate}, &out)
	if !out.Success || out.Total == "" {
		t.Fatalf("record = %+v", out)
	}
	return out.Royalty
}

func listOf(t *testing.T, s *skilltest.Skill, h *skilltest.Host) []royaltyOut {
	t.Helper()
	var out struct {
		Success   bool         `json:"success"`
		Royalties []royaltyOut `json:"royalties"`
	}
	raw := gt.OK(t, s, h, gt.Object{"action": "list"})
	if _, ok := raw["royalties"].([]any); !ok {
		t.Fatalf("list royalties is %T, want an array: %v", raw["royalties"], raw)
	}
	gt.Into(t, s, h, gt.Object{"action": "list"}, &out)
	return out.Royalties
}

func totalOf(t *testing.T, s *skilltest.Skill, h *skilltest.Host) totalOut {
	t.Helper()
	var out totalOut
	gt.Into(t, s, h, gt.Object{"action": "total"}, &out)
	if !out.Success || out.Currency != "USDC" {
		t.Fatalf("total = %+v", out)
	}
	return out
}

func TestManifest(t *testing.T) {
	s := gt.Load(t)
	m := gt.Manifest(t, s, "kv", "log")
	if m.Category != "finance" || m.Icon != "📊" || m.Version != "1.0.0" {
		t.Errorf("manifest %+v", m)
	}
}

func TestInvalidAction(t *testing.T) {
	s := gt.Load(t)
	for _, in := range []gt.Object{{"action": "delete"}, {}, {"action": "Total"}} {
		gt.Fails(t, s, nil, in, 400, "INVALID_ACTION", "Invalid action")
	}
}

func TestEmptyAtFirst(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	if rs := listOf(t, s, h); len(rs) != 0 {
		t.Errorf("list = %+v", rs)
	}
	if tot := totalOf(t, s, h); tot.Total != "0.00" || tot.Records != 0 || tot.Streams != 0 || tot.ByPlatform == nil || len(tot.ByPlatform) != 0 {
		t.Errorf("total = %+v", tot)
	}
	if len(h.KV) != 0 {
		t.Errorf("reading stored %d keys", len(h.KV))
	}
}

func TestRecordListTotal(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	r1 := rec(t, s, h, "Spotify", "Night Drive", 100000, 0.003)
	if r1.ID != "roy_1" || r1.Platform != "Spotify" || r1.Track != "Night Drive" || r1.Streams != 100000 || r1.Rate != "0.003" ||
		r1.Amount != "300.00" || r1.Currency != "USDC" || r1.RecordedAt != nil {
		t.Errorf("record 1 = %+v", r1)
	}
	r2 := rec(t, s, h, "Apple Music", "Night Drive", "2500", "0.01")
	r3 := rec(t, s, h, "Spotify", "Low Tide", 3, "0.000001")
	if r2.ID != "roy_2" || r2.Amount != "25.00" || r3.ID != "roy_3" || r3.Amount != "0.000003" || r3.Rate != "0.000001" {
		t.Errorf("records 2, 3 = %+v, %+v", r2, r3)
	}
	var withTime struct {
		Royalty royaltyOut `json:"royalty"`
	}
	gt.Into(t, s, h, gt.Object{"action": "record", "platform": "Tidal", "track": "Low Tide", "streams": 0, "rate": "0.0125",
		"now": "2026-05-01T12:00:00+01:00"}, &withTime)
	if withTime.Royalty.Amount != "0.00" || withTime.Royalty.RecordedAt == nil || *withTime.Royalty.RecordedAt != "2026-05-01T11:00:00Z" {
		t.Errorf("record 4 = %+v", withTime.Royalty)
	}

	rs := listOf(t, s, h)
	if len(rs) != 4 || rs[0].ID != "roy_1" || rs[1].ID != "roy_2" || rs[2].ID != "roy_3" || rs[3].ID != "roy_4" || gt.JSON(t, rs[0]) != gt.JSON(t, r1) {
		t.Errorf("list = %+v", rs)
	}
	tot := totalOf(t, s, h)
	if tot.Total != "325.000003" || tot.Records != 4 || tot.Streams != 102503 {
		t.Errorf("total = %+v", tot)
	}
	want := `[{"platform":"Spotify","records":2,"streams":100003,"total":"300.000003"},` +
		`{"platform":"Apple Music","records":1,"streams":2500,"total":"25.00"},` +
		`{"platform":"Tidal","records":1,"streams":0,"total":"0.00"}]`
	if got := gt.JSON(t, tot.ByPlatform); got != want {
		t.Errorf("byPlatform\n got %s\nwant %s", got, want)
	}
}

// Decimal rates add up exactly where floats would not (0.1 + 0.2).
func TestTotalIsExact(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	rec(t, s, h, "Bandcamp", "A", 1, 0.1)
	rec(t, s, h, "Bandcamp", "B", 1, "0.2")
	if tot := totalOf(t, s, h); tot.Total != "0.30" {
		t.Errorf("0.1 + 0.2 = %s", tot.Total)
	}
	// Three records of a third of a dollar sum back to the whole.
	for range 3 {
		rec(t, s, h, "Deezer", "C", 1, "0.333333")
	}
	rec(t, s, h, "Deezer", "C", 1, "0.000001")
	tot := totalOf(t, s, h)
	if tot.Total != "1.30" {
		t.Errorf("total = %s, want 1.30", tot.Total)
	}
	// The total is the sum of the listed amounts, to the micro-unit.
	var sum int64
	for _, r := range listOf(t, s, h) {
		v, err := usdc.ParseDecimal(r.Amount, 6, usdc.MaxAmount)
		if err != nil {
			t.Fatal(err)
		}
		sum += v
	}
	if usdc.Format(sum) != tot.Total {
		t.Errorf("listed amounts sum to %s, total says %s", usdc.Format(sum), tot.Total)
	}
	// Large but exact: a trillion streams at a micro-dollar each.
	rec(t, s, h, "Big", "D", "1000000000000", "0.000001")
	if tot := totalOf(t, s, h); tot.Total != "1000001.30" {
		t.Errorf("total = %s", tot.Total)
	}
}

func TestReset(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	rec(t, s, h, "Spotify", "A", 10, 1)
	rec(t, s, h, "Spotify", "B", 10, 2)
	out := gt.OK(t, s, h, gt.Object{"action": "reset"})
	if out["success"] != true || out["deleted"] != 2.0 {
		t.Errorf("reset = %v", out)
	}
	if rs := listOf(t, s, h); len(rs) != 0 {
		t.Errorf("list after reset = %+v", rs)
	}
	if tot := totalOf(t, s, h); tot.Total != "0.00" || tot.Records != 0 {
		t.Errorf("total after reset = %+v", tot)
	}
	if len(h.KV) != 0 {
		t.Errorf("reset left keys %v", h.KV)
	}
	if r := rec(t, s, h, "Spotify", "C", 1, 1); r.ID != "roy_1" || r.Amount != "1.00" {
		t.Errorf("after reset = %+v", r)
	}
	out = gt.OK(t, s, h, gt.Object{"action": "reset"})
	if out["deleted"] != 1.0 {
		t.Errorf("second reset = %v", out)
	}
}

func TestUsersAreIsolated(t *testing.T) {
	s := gt.Load(t)
	alice, bob := &skilltest.Host{}, &skilltest.Host{}
	rec(t, s, alice, "Spotify", "A", 1000, "0.004")
	if rs := listOf(t, s, bob); len(rs) != 0 {
		t.Errorf("bob sees %+v", rs)
	}
	if r := rec(t, s, bob, "Tidal", "B", 10, "0.01"); r.ID != "roy_1" {
		t.Errorf("bob's first record is %s", r.ID)
	}
	gt.OK(t, s, bob, gt.Object{"action": "reset"})
	if tot := totalOf(t, s, alice); tot.Total != "4.00" || tot.Records != 1 {
		t.Errorf("alice's total after bob's reset = %+v", tot)
	}
}

func TestRecordValidation(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	base := func(k string, v any) gt.Object {
		in := gt.Object{"action": "record", "platform": "Spotify", "track": "A", "streams": 100, "rate": "0.003"}
		if v == nil {
			delete(in, k)
		} else {
			in[k] = v
		}
		return in
	}
	for _, c := range []struct {
		name      string
		in        gt.Object
		code, msg string
	}{
		{"no platform", base("platform", nil), "MISSING_FIELD", "platform is required"},
		{"blank track", base("track", " "), "MISSING_FIELD", "track is required"},
		{"no streams", base("streams", nil), "MISSING_FIELD", "streams is required"},
		{"no rate", base("rate", nil), "MISSING_FIELD", "rate is required"},
		{"negative streams", base("streams", -5), "INVALID_FIELD", "streams must not be negative"},
		{"fractional streams", base("streams", "10.5"), "INVALID_FIELD", "streams must be a whole number"},
		{"malformed streams", base("streams", "ten"), "INVALID_FIELD", "streams must be a whole number (like 100000)"},
		{"huge streams", base("streams", "1000000000001"), "INVALID_FIELD", "streams must be at most 1000000000000"},
		{"negative rate", base("rate", "-0.003"), "INVALID_AMOUNT", "rate must not be negative"},
		{"rate decimals", base("rate", "0.0031746"), "INVALID_AMOUNT", "rate has more than 6 decimal places"},
		{"rate exponent", base("rate", 3e-7), "INVALID_AMOUNT", "rate must be an amount in USDC written as a plain decimal"},
		{"rate text", base("rate", "$0.003"), "INVALID_AMOUNT", "rate must be an amount in USDC written as a plain decimal"},
		{"too large", base("rate", "100000000000"), "INVALID_AMOUNT", "streams × rate is too large"},
		{"bad now", base("now", "today"), "INVALID_FIELD", "now must be an RFC 3339 time"},
	} {
		t.Run(c.name, func(t *testing.T) { gt.Fails(t, s, h, c.in, 400, c.code, c.msg) })
	}
	gt.Fails(t, s, h, base("platform", 5), 400, "INVALID_INPUT", "Invalid JSON input")
	if rs := listOf(t, s, h); len(rs) != 0 {
		t.Errorf("refused records were stored: %+v", rs)
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
		{gt.Object{"action": "record", "platform": "Spotify", "track": "Night Drive"}, `missing properties "streams", "rate"`},
		{gt.Object{"action": "record", "platform": "Spotify", "track": "Night Drive", "streams": -3, "rate": "0.004"}, "streams: must be >= 0"},
		{gt.Object{"action": "record", "platform": "Spotify", "track": "Night Drive", "streams": 10, "rate": "4/1000"}, "rate: must match the pattern"},
		{gt.Object{"action": "reset", "confirm": true}, `unknown property "confirm"`},
	} {
		gt.Refuses(t, c.in, c.msg)
	}
}
