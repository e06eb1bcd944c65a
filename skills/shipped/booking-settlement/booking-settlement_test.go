//go:build !wasip1

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/agentbot/gateway/sdk/skill/skilltest"
	gt "github.com/agentbot/gateway/skills/shipped/internal/guesttest"
	"github.com/agentbot/gateway/skills/shipped/internal/usdc"
)

type split struct {
	Recipient  string  `json:"recipient"`
	Role       string  `json:"role"`
	Address    string  `json:"address"`
	Percentage float64 `json:"percentage"` // test-side only, for comparison
	Amount     string  `json:"amount"`
	Status     string  `json:"status"`
}

type bookingOut struct {
	ID          string `json:"id"`
	Venue       string `json:"venue"`
	Date        string `json:"date"`
	Guarantee   string `json:"guarantee"`
	Backend     string `json:"backend"`
	Deposit     string `json:"deposit"`
	TotalPayout string `json:"totalPayout"`
	Currency    string `json:"currency"`
	Status      string `json:"status"`
	SplitRules  []struct {
		RecipientAddress string  `json:"recipientAddress"`
		Percentage       float64 `json:"percentage"`
		Role             string  `json:"role"`
		Name             string  `json:"name"`
	} `json:"splitRules"`
	EscrowAddress string  `json:"escrowAddress"`
	ReleasedAt    *string `json:"releasedAt"`
	Payouts       []split `json:"payouts"`
}

type releaseOut struct {
	Success     bool    `json:"success"`
	BookingID   string  `json:"bookingId"`
	TotalPayout string  `json:"totalPayout"`
	Currency    string  `json:"currency"`
	Network     string  `json:"network"`
	ReleasedAt  *string `json:"releasedAt"`
	Splits      []split `json:"splits"`
	Note        string  `json:"note"`
}

func listBookings(t *testing.T, s *skilltest.Skill, h *skilltest.Host) []bookingOut {
	t.Helper()
	var out struct {
		Success  bool         `json:"success"`
		Bookings []bookingOut `json:"bookings"`
	}
	gt.Into(t, s, h, gt.Object{"action": "list"}, &out)
	if !out.Success {
		t.Fatal("list: success false")
	}
	return out.Bookings
}

func getBooking(t *testing.T, s *skilltest.Skill, h *skilltest.Host, id string) bookingOut {
	t.Helper()
	var out struct {
		Success bool       `json:"success"`
		Booking bookingOut `json:"booking"`
	}
	gt.Into(t, s, h, gt.Object{"action": "get", "bookingId": id}, &out)
	return out.Booking
}

// micro parses a rendered amount back into micro-units.
func micro(t *testing.T, s string) int64 {
	t.Helper()
	v, err := usdc.ParseDecimal(s, 6, usdc.MaxAmount)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return v
}

func amounts(ss []split) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Amount
	}
	return out
}

func equal(a, b []string) bool { return slices.Equal(a, b) }

func TestManifest(t *testing.T) {
	s := gt.Load(t)
	m := gt.Manifest(t, s, "kv", "log")
	if m.Category != "payments" || m.Icon != "🎟️" || m.Version != "1.0.0" || m.PriceMicroUSD() != 0 {
		t.Errorf("manifest %+v", m)
	}
}

func TestSeedBookings(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	bs := listBookings(t, s, h)
	if len(bs) != 2 {
		t.Fatalf("seeded %d bookings, want 2: %+v", len(bs), bs)
	}
	b1, b2 := bs[0], bs[1]
	if b1.ID != "bk_1" || b1.Venue != "Berghain" || b1.Guarantee != "500.00" || b1.Backend != "200.00" ||
		b1.Deposit != "100.00" || b1.TotalPayout != "700.00" || b1.Status != "confirmed" || b1.Currency != "USDC" {
		t.Errorf("bk_1 = %+v", b1)
	}
	if b2.ID != "bk_2" || b2.Venue != "Fabric London" || b2.Guarantee != "800.00" || b2.Backend != "300.00" ||
		b2.Deposit != "200.00" || b2.TotalPayout != "1100.00" || b2.Status != "completed" {
		t.Errorf("bk_2 = %+v", b2)
	}
	pcts := func(b bookingOut) []float64 {
		var p []float64
		for _, r := range b.SplitRules {
			p = append(p, r.Percentage)
		}
		return p
	}
	if gt.JSON(t, pcts(b1)) != "[70,15,15]" || gt.JSON(t, pcts(b2)) != "[65,20,15]" {
		t.Errorf("split percentages %v, %v; want 70/15/15 and 65/20/15", pcts(b1), pcts(b2))
	}
	// The seed is written once: the store holds it, and a second list is the same.
	if len(h.KV) == 0 {
		t.Error("nothing stored in the KV")
	}
	if again := listBookings(t, s, h); gt.JSON(t, again) != gt.JSON(t, bs) {
		t.Errorf("second list differs:\n%s\n%s", gt.JSON(t, again), gt.JSON(t, bs))
	}
	if got := getBooking(t, s, h, "bk_2"); gt.JSON(t, got) != gt.JSON(t, b2) {
		t.Errorf("get bk_2 = %+v", got)
	}
}

func TestGetErrors(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	gt.Fails(t, s, h, gt.Object{"action": "get"}, 400, "MISSING_FIELD", "bookingId is required")
	gt.Fails(t, s, h, gt.Object{"action": "get", "bookingId": "  "}, 400, "MISSING_FIELD", "bookingId is required")
	for _, id := range []string{"bk_3", "bk_99", "bk_01", "bk_0", "bk_", "1", "nope", "bk_-1"} {
		gt.Fails(t, s, h, gt.Object{"action": "get", "bookingId": id}, 404, "BOOKING_NOT_FOUND", "Booking not found")
	}
	gt.Fails(t, s, h, gt.Object{"action": "get", "bookingId": 1}, 400, "INVALID_INPUT", "Invalid JSON input")
	for _, a := range []string{"create_escrow", "release_funds"} {
		gt.Fails(t, s, h, gt.Object{"action": a}, 400, "MISSING_FIELD", "bookingId is required")
		gt.Fails(t, s, h, gt.Object{"action": a, "bookingId": "bk_42"}, 404, "BOOKING_NOT_FOUND", "Booking not found")
	}
}

func TestInvalidAction(t *testing.T) {
	s := gt.Load(t)
	for _, in := range []gt.Object{{"action": "refund"}, {"action": ""}, {}, {"action": "LIST"}} {
		gt.Fails(t, s, nil, in, 400, "INVALID_ACTION", "Invalid action")
	}
	gt.Fails(t, s, nil, []int{1}, 400, "INVALID_INPUT", "Invalid JSON input")
}

func TestSimulateSettlement(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	var out struct {
		Success         bool              `json:"success"`
		TotalPayout     string            `json:"totalPayout"`
		DepositAmount   string            `json:"depositAmount"`
		RemainderAmount string            `json:"remainderAmount"`
		Currency        string            `json:"currency"`
		Splits          []split           `json:"splits"`
		Timeline        map[string]string `json:"timeline"`
	}
	// The seed's worked example: 500 + 200 = 700 → 455 / 140 / 105.
	gt.Into(t, s, h, gt.Object{"action": "simulate_settlement", "booking": gt.Object{"guarantee": 500, "backend": 200, "deposit": 100}}, &out)
	if !out.Success || out.TotalPayout != "700.00" || out.DepositAmount != "100.00" || out.RemainderAmount != "600.00" || out.Currency != "USDC" {
		t.Errorf("simulation = %+v", out)
	}
	want := `[{"recipient":"Artist","role":"artist","address":"","percentage":65,"amount":"455.00","status":""},` +
		`{"recipient":"Agent","role":"agent","address":"","percentage":20,"amount":"140.00","status":""},` +
		`{"recipient":"Manager","role":"manager","address":"","percentage":15,"amount":"105.00","status":""}]`
	if got := gt.JSON(t, out.Splits); got != want {
		t.Errorf("splits\n got %s\nwant %s", got, want)
	}
	if out.Timeline["deposit"] != "Due now to confirm booking" || out.Timeline["remainder"] != "Paid within 7 days of gig completion" {
		t.Errorf("timeline = %v", out.Timeline)
	}
	// Defaults are the same booking.
	var def struct {
		TotalPayout string  `json:"totalPayout"`
		Splits      []split `json:"splits"`
	}
	gt.Into(t, s, h, gt.Object{"action": "simulate_settlement"}, &def)
	if def.TotalPayout != "700.00" || !equal(amounts(def.Splits), []string{"455.00", "140.00", "105.00"}) {
		t.Errorf("default simulation = %+v", def)
	}
	// Exact: 7 micro-USDC → floors 4, 1, 1 and the remainder to the artist.
	gt.Into(t, s, h, gt.Object{"action": "simulate_settlement", "booking": gt.Object{"guarantee": "0.000007", "backend": "0", "deposit": "0"}}, &def)
	if def.TotalPayout != "0.000007" || !equal(amounts(def.Splits), []string{"0.000005", "0.000001", "0.000001"}) {
		t.Errorf("tiny simulation = %+v", def)
	}
	// Decimal strings are exact where a float would not be.
	gt.Into(t, s, h, gt.Object{"action": "simulate_settlement", "booking": gt.Object{"guarantee": "0.1", "backend": "0.2", "deposit": "0.3"}}, &def)
	if def.TotalPayout != "0.30" || !equal(amounts(def.Splits), []string{"0.195", "0.06", "0.045"}) {
		t.Errorf("0.1 + 0.2 simulation = %+v", def)
	}
	// Simulation stores nothing.
	if len(h.KV) != 0 {
		t.Errorf("simulate_settlement wrote %d keys", len(h.KV))
	}
}

func TestSimulateSettlementBadAmounts(t *testing.T) {
	s := gt.Load(t)
	for _, c := range []struct {
		booking gt.Object
		msg     string
	}{
		{gt.Object{"guarantee": -500}, "booking.guarantee must not be negative"},
		{gt.Object{"guarantee": "-0.01"}, "booking.guarantee must not be negative"},
		{gt.Object{"backend": "1.0000001"}, "booking.backend has more than 6 decimal places"},
		{gt.Object{"deposit": "ten"}, "booking.deposit must be an amount in USDC written as a plain decimal"},
		{gt.Object{"deposit": 1e21}, "booking.deposit must be an amount in USDC written as a plain decimal"},
		{gt.Object{"guarantee": true}, "booking.guarantee must be an amount in USDC"},
		{gt.Object{"guarantee": "1,000"}, "plain decimal"},
		{gt.Object{"guarantee": "99999999999999999999"}, "booking.guarantee is too large"},
		{gt.Object{"guarantee": 10, "backend": 0, "deposit": 11}, "booking.deposit (11.00) must not exceed guarantee plus backend (10.00)"},
	} {
		gt.Fails(t, s, nil, gt.Object{"action": "simulate_settlement", "booking": c.booking}, 400, "INVALID_AMOUNT", c.msg)
	}
}

func newBooking() gt.Object {
	return gt.Object{
		"action": "create_booking", "venue": "Tresor", "date": "2026-07-04",
		"guarantee": "100", "backend": "0.000001", "deposit": 25.5,
		"splitRules": []gt.Object{
			{"recipientAddress": "0x00000000000000000000000000000000000000a1", "percentage": 33.3333, "role": "artist", "name": "DJ One"},
			{"recipientAddress": "0x00000000000000000000000000000000000000a2", "percentage": "33.3333", "role": "manager", "name": "Mia"},
			{"recipientAddress": "0x00000000000000000000000000000000000000A3", "percentage": 33.3334, "role": "venue"},
		},
	}
}

func TestBookingLifecycle(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	var created struct {
		Success bool       `json:"success"`
		Booking bookingOut `json:"booking"`
		Message string     `json:"message"`
	}
	gt.Into(t, s, h, newBooking(), &created)
	b := created.Booking
	if !created.Success || b.ID != "bk_3" || b.Status != "pending" || b.Guarantee != "100.00" || b.Backend != "0.000001" ||
		b.Deposit != "25.50" || b.TotalPayout != "100.000001" || b.EscrowAddress != "" || created.Message == "" {
		t.Fatalf("created = %+v", created)
	}
	if b.SplitRules[2].Name != "Venue" || b.SplitRules[2].Role != "venue" || b.SplitRules[0].Percentage != 33.3333 {
		t.Errorf("split rules = %+v", b.SplitRules)
	}
	if len(listBookings(t, s, h)) != 3 {
		t.Error("list does not show the new booking")
	}

	// A pending booking cannot be released before its escrow.
	gt.Fails(t, s, h, gt.Object{"action": "release_funds", "bookingId": "bk_3"}, 400, "BOOKING_NOT_CONFIRMED", "create the escrow first")

	var escrow struct {
		Success       bool   `json:"success"`
		BookingID     string `json:"bookingId"`
		EscrowAddress string `json:"escrowAddress"`
		DepositAmount string `json:"depositAmount"`
		Message       string `json:"message"`
	}
	gt.Into(t, s, h, gt.Object{"action": "create_escrow", "bookingId": "bk_3"}, &escrow)
	sum := sha256.Sum256([]byte("agentbot/booking-settlement/escrow/bk_3"))
	wantAddr := "0x" + hex.EncodeToString(sum[:20])
	if !escrow.Success || escrow.BookingID != "bk_3" || escrow.EscrowAddress != wantAddr || escrow.DepositAmount != "25.50" {
		t.Errorf("escrow = %+v (want address %s)", escrow, wantAddr)
	}
	if len(escrow.Message) == 0 || !strings.Contains(escrow.Message, "placeholder") {
		t.Errorf("escrow message %q should say the address is a placeholder", escrow.Message)
	}
	got := getBooking(t, s, h, "bk_3")
	if got.Status != "confirmed" || got.EscrowAddress != wantAddr {
		t.Errorf("after escrow: %+v", got)
	}
	// Creating the escrow again is idempotent.
	gt.Into(t, s, h, gt.Object{"action": "create_escrow", "bookingId": "bk_3"}, &escrow)
	if escrow.EscrowAddress != wantAddr {
		t.Errorf("second escrow address %s", escrow.EscrowAddress)
	}

	var rel releaseOut
	gt.Into(t, s, h, gt.Object{"action": "release_funds", "bookingId": "bk_3", "now": "2026-07-05T04:30:00+02:00"}, &rel)
	if !rel.Success || rel.BookingID != "bk_3" || rel.TotalPayout != "100.000001" || rel.Currency != "USDC" || rel.Network != "Base" ||
		rel.ReleasedAt == nil || *rel.ReleasedAt != "2026-07-05T02:30:00Z" || rel.Note == "" {
		t.Errorf("release = %+v", rel)
	}
	// 100.000001 × 33.3333 % = 33.3333003…, floored to 33.3333; the one
	// micro-unit left over goes to the first recipient.
	if want := []string{"33.333301", "33.3333", "33.3334"}; !equal(amounts(rel.Splits), want) {
		t.Errorf("release amounts %v, want %v", amounts(rel.Splits), want)
	}
	var total int64
	for _, sp := range rel.Splits {
		total += micro(t, sp.Amount)
		if sp.Status != "released" {
			t.Errorf("split status %q", sp.Status)
		}
	}
	if total != micro(t, rel.TotalPayout) {
		t.Errorf("splits sum to %d, total is %s", total, rel.TotalPayout)
	}
	if rel.Splits[0].Recipient != "DJ One" || rel.Splits[0].Address != "0x00000000000000000000000000000000000000a1" || rel.Splits[2].Recipient != "Venue" {
		t.Errorf("split recipients %+v", rel.Splits)
	}

	// Released once: a second release and a new escrow are refused.
	gt.Fails(t, s, h, gt.Object{"action": "release_funds", "bookingId": "bk_3"}, 400, "ALREADY_RELEASED", "Funds already released")
	gt.Fails(t, s, h, gt.Object{"action": "create_escrow", "bookingId": "bk_3"}, 400, "ALREADY_RELEASED", "Funds already released")
	got = getBooking(t, s, h, "bk_3")
	if got.Status != "settled" || got.ReleasedAt == nil || !equal(amounts(got.Payouts), amounts(rel.Splits)) {
		t.Errorf("after release: %+v", got)
	}

	// Ids keep counting.
	gt.Into(t, s, h, newBooking(), &created)
	if created.Booking.ID != "bk_4" {
		t.Errorf("next id %s, want bk_4", created.Booking.ID)
	}
}

func TestReleaseSeedBooking(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	var rel releaseOut
	gt.Into(t, s, h, gt.Object{"action": "release_funds", "bookingId": "bk_1"}, &rel)
	// 500 + 200 at 70 / 15 / 15.
	if rel.TotalPayout != "700.00" || !equal(amounts(rel.Splits), []string{"490.00", "105.00", "105.00"}) || rel.ReleasedAt != nil {
		t.Errorf("bk_1 release = %+v", rel)
	}
	gt.Into(t, s, h, gt.Object{"action": "release_funds", "bookingId": "bk_2", "now": "2026-03-14T12:00:00Z"}, &rel)
	// 800 + 300 at 65 / 20 / 15.
	if rel.TotalPayout != "1100.00" || !equal(amounts(rel.Splits), []string{"715.00", "220.00", "165.00"}) ||
		rel.ReleasedAt == nil || *rel.ReleasedAt != "2026-03-14T12:00:00Z" {
		t.Errorf("bk_2 release = %+v", rel)
	}
	gt.Fails(t, s, h, gt.Object{"action": "release_funds", "bookingId": "bk_1"}, 400, "ALREADY_RELEASED", "Funds already released")
	gt.Fails(t, s, h, gt.Object{"action": "release_funds", "bookingId": "bk_2", "now": "yesterday"}, 400, "INVALID_FIELD", "RFC 3339")
}

func TestUsersAreIsolated(t *testing.T) {
	s := gt.Load(t)
	alice, bob := &skilltest.Host{}, &skilltest.Host{}
	gt.OK(t, s, alice, newBooking())
	gt.OK(t, s, alice, gt.Object{"action": "release_funds", "bookingId": "bk_1"})

	if n := len(listBookings(t, s, alice)); n != 3 {
		t.Errorf("alice has %d bookings, want 3", n)
	}
	bobs := listBookings(t, s, bob)
	if len(bobs) != 2 || bobs[0].Status != "confirmed" {
		t.Errorf("bob sees %+v; want only his own two seeded bookings, bk_1 still confirmed", bobs)
	}
	gt.Fails(t, s, bob, gt.Object{"action": "get", "bookingId": "bk_3"}, 404, "BOOKING_NOT_FOUND", "Booking not found")
	gt.OK(t, s, bob, gt.Object{"action": "release_funds", "bookingId": "bk_1"})
	// Bob's first booking is his bk_3.
	out := gt.OK(t, s, bob, newBooking())
	if id := out["booking"].(gt.Object)["id"]; id != "bk_3" {
		t.Errorf("bob's new booking is %v, want bk_3", id)
	}
}

func TestCreateBookingValidation(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	with := func(k string, v any) gt.Object {
		in := newBooking()
		if v == nil {
			delete(in, k)
		} else {
			in[k] = v
		}
		return in
	}
	rules := func(mod func([]gt.Object)) gt.Object {
		in := newBooking()
		rs := in["splitRules"].([]gt.Object)
		mod(rs)
		return in
	}
	zeroTotal := with("guarantee", "0")
	zeroTotal["backend"], zeroTotal["deposit"] = 0, 0
	for _, c := range []struct {
		name      string
		in        gt.Object
		code, msg string
	}{
		{"no venue", with("venue", nil), "MISSING_FIELD", "venue is required"},
		{"blank venue", with("venue", "  "), "MISSING_FIELD", "venue is required"},
		{"no date", with("date", nil), "MISSING_FIELD", "date is required"},
		{"bad date", with("date", "next friday"), "INVALID_FIELD", "date must be a date like 2026-06-12"},
		{"no guarantee", with("guarantee", nil), "MISSING_FIELD", "guarantee is required"},
		{"negative guarantee", with("guarantee", -1), "INVALID_AMOUNT", "guarantee must not be negative"},
		{"too many decimals", with("guarantee", "1.1234567"), "INVALID_AMOUNT", "guarantee has more than 6 decimal places"},
		{"malformed backend", with("backend", "12abc"), "INVALID_AMOUNT", "backend must be an amount in USDC written as a plain decimal"},
		{"exponent", with("deposit", 1e-7), "INVALID_AMOUNT", "deposit must be an amount in USDC written as a plain decimal"},
		{"zero total", zeroTotal, "INVALID_AMOUNT", "guarantee plus backend must be greater than 0"},
		{"deposit too big", with("deposit", "100.000002"), "INVALID_AMOUNT", "deposit (100.000002) must not exceed guarantee plus backend (100.000001)"},
		{"no rules", with("splitRules", nil), "MISSING_FIELD", "splitRules (at least one recipient) is required"},
		{"empty rules", with("splitRules", []gt.Object{}), "MISSING_FIELD", "splitRules (at least one recipient) is required"},
		{"under 100", rules(func(rs []gt.Object) { rs[2]["percentage"] = 23.3334 }), "INVALID_PERCENTAGE", "splitRules percentages must total 100 (got 90)"},
		{"over 100", rules(func(rs []gt.Object) { rs[0]["percentage"] = 50 }), "INVALID_PERCENTAGE", "must total 100 (got 116.6667)"},
		{"zero pct", rules(func(rs []gt.Object) { rs[0]["percentage"] = 0 }), "INVALID_PERCENTAGE", "splitRules[0].percentage must be greater than 0"},
		{"negative pct", rules(func(rs []gt.Object) { rs[1]["percentage"] = -10 }), "INVALID_PERCENTAGE", "splitRules[1].percentage must not be negative"},
		{"pct over 100", rules(func(rs []gt.Object) { rs[1]["percentage"] = 101 }), "INVALID_PERCENTAGE", "splitRules[1].percentage must be at most 100"},
		{"pct decimals", rules(func(rs []gt.Object) { rs[1]["percentage"] = "33.33333" }), "INVALID_PERCENTAGE", "splitRules[1].percentage has more than 4 decimal places"},
		{"no pct", rules(func(rs []gt.Object) { delete(rs[1], "percentage") }), "MISSING_FIELD", "splitRules[1].percentage is required"},
		{"no address", rules(func(rs []gt.Object) { delete(rs[0], "recipientAddress") }), "MISSING_FIELD", "splitRules[0].recipientAddress is required"},
		{"bad address", rules(func(rs []gt.Object) { rs[0]["recipientAddress"] = "0x123" }), "INVALID_FIELD", "splitRules[0].recipientAddress must be a 0x-prefixed address"},
		{"bad role", rules(func(rs []gt.Object) { rs[2]["role"] = "promoter" }), "INVALID_FIELD", "splitRules[2].role must be one of artist, manager, agent, venue"},
	} {
		t.Run(c.name, func(t *testing.T) { gt.Fails(t, s, h, c.in, 400, c.code, c.msg) })
	}
	gt.Fails(t, s, h, with("guarantee", []int{1}), 400, "INVALID_AMOUNT", "guarantee must be an amount")
	gt.Fails(t, s, h, with("venue", 7), 400, "INVALID_INPUT", "Invalid JSON input")
	gt.Fails(t, s, h, with("splitRules", "all to me"), 400, "INVALID_INPUT", "Invalid JSON input")
	// Nothing was created.
	if n := len(listBookings(t, s, h)); n != 2 {
		t.Errorf("%d bookings after refused creations, want 2", n)
	}
}

// The manifest's input schemas (which agents check a model's arguments
// against) refuse obviously wrong inputs; every test's successful input
// passes them (guesttest checks).
func TestInputSchemas(t *testing.T) {
	without := func(k string) gt.Object {
		in := newBooking()
		delete(in, k)
		return in
	}
	with := func(k string, v any) gt.Object {
		in := newBooking()
		in[k] = v
		return in
	}
	for _, c := range []struct {
		in  gt.Object
		msg string
	}{
		{without("guarantee"), `missing property "guarantee"`},
		{with("guarantee", "a lot"), "guarantee: must match the pattern"},
		{with("deposit", -1), "deposit: must be >= 0"},
		{with("venue", ""), "venue: must be at least 1 character long"},
		{with("date", "next friday"), "date: must match the pattern"},
		{with("splitRules", []gt.Object{{"recipientAddress": "0x00000000000000000000000000000000000000a1", "percentage": 100, "role": "drummer"}}),
			`splitRules[0].role: must be one of "artist"`},
		{gt.Object{"action": "get"}, `missing property "bookingId"`},
		{gt.Object{"action": "release_funds", "bookingId": "booking 1"}, "bookingId: must match the pattern"},
		{gt.Object{"action": "simulate_settlement", "booking": gt.Object{"guarantee": true}}, "booking.guarantee: must be a number or a string, not a boolean"},
	} {
		gt.Refuses(t, c.in, c.msg)
	}
}
