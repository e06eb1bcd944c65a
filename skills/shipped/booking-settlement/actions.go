package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentbot/gateway/sdk/skill"
	"github.com/agentbot/gateway/skills/shipped/internal/recipients"
	"github.com/agentbot/gateway/skills/shipped/internal/state"
	"github.com/agentbot/gateway/skills/shipped/internal/usdc"
)

// idInput is the input of the actions on one booking.
type idInput struct {
	BookingID string `json:"bookingId"`
	Now       string `json:"now"`
}

func list(c *skill.Call) error {
	st, err := open(c)
	if err != nil {
		return err
	}
	bs, err := state.All[booking](st, bookingPrefix)
	if err != nil {
		return err
	}
	views := make([]bookingView, len(bs))
	for i := range bs {
		views[i] = bs[i].view()
	}
	return c.OutputJSON(map[string]any{"success": true, "bookings": views})
}

func get(c *skill.Call) error {
	var in idInput
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	_, b, _, err := openBooking(c, in.BookingID)
	if err != nil {
		return err
	}
	return c.OutputJSON(map[string]any{"success": true, "booking": b.view()})
}

func createBooking(c *skill.Call) error {
	var in struct {
		Venue      string             `json:"venue"`
		Date       string             `json:"date"`
		Guarantee  json.RawMessage    `json:"guarantee"`
		Backend    json.RawMessage    `json:"backend"`
		Deposit    json.RawMessage    `json:"deposit"`
		SplitRules []recipients.Input `json:"splitRules"`
		Now        string             `json:"now"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	b := booking{Venue: strings.TrimSpace(in.Venue), Date: strings.TrimSpace(in.Date), Status: statusPending}
	if b.Venue == "" {
		return usdc.Missing("venue")
	}
	if utf8.RuneCountInString(b.Venue) > 200 {
		return usdc.Invalidf("venue must be at most 200 characters")
	}
	if b.Date == "" {
		return usdc.Missing("date")
	}
	if !validDate(b.Date) {
		return usdc.Invalidf("date must be a date like 2026-06-12 or an RFC 3339 time")
	}
	var err error
	if b.Guarantee, err = usdc.Amount("guarantee", in.Guarantee, true, 0); err != nil {
		return err
	}
	if b.Backend, err = usdc.Amount("backend", in.Backend, false, 0); err != nil {
		return err
	}
	if b.Deposit, err = usdc.Amount("deposit", in.Deposit, false, 0); err != nil {
		return err
	}
	if b.total() == 0 {
		return skill.Failf(usdc.CodeInvalidAmount, 400, "guarantee plus backend must be greater than 0")
	}
	if b.Deposit > b.total() {
		return skill.Failf(usdc.CodeInvalidAmount, 400, "deposit (%s) must not exceed guarantee plus backend (%s)",
			usdc.Format(b.Deposit), usdc.Format(b.total()))
	}
	rs, err := recipients.Parse("splitRules", "splitRules percentages", in.SplitRules, roles)
	if err != nil {
		return err
	}
	for _, r := range rs {
		b.SplitRules = append(b.SplitRules, splitRule{RecipientAddress: r.Address, Percentage: r.Percentage, Role: r.Role, Name: r.Name})
	}
	if b.CreatedAt, err = state.Now(in.Now); err != nil {
		return err
	}

	st, err := open(c)
	if err != nil {
		return err
	}
	keys, err := st.Keys(bookingPrefix)
	if err != nil {
		return err
	}
	if len(keys) >= maxBookings {
		return skill.Failf("LIMIT_REACHED", 400, "At most %d bookings per agent", maxBookings)
	}
	n, err := st.Next(nextKey, 1)
	if err != nil {
		return err
	}
	b.ID = fmt.Sprintf("%s%d", idPrefix, n)
	if err := st.Put(state.SeqKey(bookingPrefix, n), b); err != nil {
		return err
	}
	c.Logf(skill.LevelInfo, "booking %s created: %s on %s, %s USDC", b.ID, b.Venue, b.Date, usdc.Format(b.total()))
	return c.OutputJSON(map[string]any{"success": true, "booking": b.view(),
		"message": fmt.Sprintf("Booking %s created. Next: create_escrow to collect the %s USDC deposit.", b.ID, usdc.Format(b.Deposit))})
}

func createEscrow(c *skill.Call) error {
	var in idInput
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	st, b, key, err := openBooking(c, in.BookingID)
	if err != nil {
		return err
	}
	if b.Status == statusSettled {
		return skill.Failf("ALREADY_RELEASED", 400, "Funds already released for this booking")
	}
	if b.EscrowAddress == "" || b.Status == statusPending {
		b.EscrowAddress = escrowAddress(b.ID)
		if b.Status == statusPending {
			b.Status = statusConfirmed
		}
		if err := st.Put(key, b); err != nil {
			return err
		}
	}
	return c.OutputJSON(map[string]any{
		"success":       true,
		"bookingId":     b.ID,
		"escrowAddress": b.EscrowAddress,
		"depositAmount": usdc.Format(b.Deposit),
		"currency":      "USDC",
		"network":       "Base",
		"status":        b.Status,
		"message": fmt.Sprintf("Escrow ready for %s at %s: deposit %s USDC to confirm the booking. "+
			"The escrow address is a deterministic placeholder derived from the booking id; "+
			"the sandbox has no chain access, so no contract was deployed.", b.Venue, b.Date, usdc.Format(b.Deposit)),
	})
}

func releaseFunds(c *skill.Call) error {
	var in idInput
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	now, err := state.Now(in.Now)
	if err != nil {
		return err
	}
	st, b, key, err := openBooking(c, in.BookingID)
	if err != nil {
		return err
	}
	switch b.Status {
	case statusSettled:
		return skill.Failf("ALREADY_RELEASED", 400, "Funds already released for this booking")
	case statusPending:
		return skill.Failf("BOOKING_NOT_CONFIRMED", 400, "Booking is not confirmed: create the escrow first")
	}
	shares, err := usdc.SplitPercent(b.total(), b.SplitRules, func(r splitRule) int64 { return r.Percentage })
	if err != nil {
		return err
	}
	b.Payouts = make([]payout, len(shares))
	for i, r := range b.SplitRules {
		b.Payouts[i] = payout{Recipient: r.Name, Role: r.Role, Address: r.RecipientAddress, Percentage: r.Percentage, Amount: shares[i]}
	}
	b.Status = statusSettled
	b.ReleasedAt = now
	if b.EscrowAddress == "" {
		b.EscrowAddress = escrowAddress(b.ID)
	}
	if err := st.Put(key, b); err != nil {
		return err
	}
	c.Logf(skill.LevelInfo, "booking %s released: %s USDC to %d recipients", b.ID, usdc.Format(b.total()), len(shares))
	return c.OutputJSON(map[string]any{
		"success":     true,
		"bookingId":   b.ID,
		"totalPayout": usdc.Format(b.total()),
		"currency":    "USDC",
		"network":     "Base",
		"releasedAt":  b.ReleasedAt,
		"splits":      payoutViews(b.Payouts),
		"note":        "Recorded in the skill's ledger; the sandbox has no chain access, so no transaction was sent.",
	})
}

// The original skill's fixed simulation split of guarantee + backend.
type simulationShare struct {
	name, role string
	pct        int64 // percentage units
}

var simulationSplit = []simulationShare{
	{"Artist", "artist", 65 * 10_000},
	{"Agent", "agent", 20 * 10_000},
	{"Manager", "manager", 15 * 10_000},
}

func simulateSettlement(c *skill.Call) error {
	var in struct {
		Booking struct {
			Guarantee json.RawMessage `json:"guarantee"`
			Backend   json.RawMessage `json:"backend"`
			Deposit   json.RawMessage `json:"deposit"`
		} `json:"booking"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	guarantee, err := usdc.Amount("booking.guarantee", in.Booking.Guarantee, false, 500*usdc.Unit)
	if err != nil {
		return err
	}
	backend, err := usdc.Amount("booking.backend", in.Booking.Backend, false, 200*usdc.Unit)
	if err != nil {
		return err
	}
	deposit, err := usdc.Amount("booking.deposit", in.Booking.Deposit, false, 100*usdc.Unit)
	if err != nil {
		return err
	}
	total := guarantee + backend
	if deposit > total {
		return skill.Failf(usdc.CodeInvalidAmount, 400, "booking.deposit (%s) must not exceed guarantee plus backend (%s)",
			usdc.Format(deposit), usdc.Format(total))
	}
	shares, err := usdc.SplitPercent(total, simulationSplit, func(s simulationShare) int64 { return s.pct })
	if err != nil {
		return err
	}
	type splitView struct {
		Recipient  string      `json:"recipient"`
		Role       string      `json:"role"`
		Percentage json.Number `json:"percentage"`
		Amount     string      `json:"amount"`
	}
	splits := make([]splitView, len(shares))
	for i, s := range simulationSplit {
		splits[i] = splitView{Recipient: s.name, Role: s.role, Percentage: usdc.FormatPercent(s.pct), Amount: usdc.Format(shares[i])}
	}
	return c.OutputJSON(map[string]any{
		"success": true,
		"booking": map[string]string{"guarantee": usdc.Format(guarantee), "backend": usdc.Format(backend),
			"deposit": usdc.Format(deposit)},
		"totalPayout":     usdc.Format(total),
		"depositAmount":   usdc.Format(deposit),
		"remainderAmount": usdc.Format(total - deposit),
		"currency":        "USDC",
		"network":         "Base",
		"splits":          splits,
		"timeline": map[string]string{
			"deposit":   "Due now to confirm booking",
			"remainder": "Paid within 7 days of gig completion",
		},
	})
}

func validDate(s string) bool {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return true
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}
