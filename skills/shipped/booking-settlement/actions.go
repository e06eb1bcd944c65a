package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentbot/gateway/sdk/skill"
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
	keys, err := st.Keys(bookingPrefix)
	if err != nil {
		return err
	}
	views := make([]bookingView, 0, len(keys))
	for _, k := range keys {
		var b booking
		ok, err := st.Get(k, &b)
		if err != nil {
			return err
		}
		if ok {
			views = append(views, b.view())
		}
	}
	return c.OutputJSON(map[string]any{"success": true, "bookings": views})
}

func get(c *skill.Call) error {
	var in idInput
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	st, err := open(c)
	if err != nil {
		return err
	}
	b, _, err := load(st, in.BookingID)
	if err != nil {
		return err
	}
	return c.OutputJSON(map[string]any{"success": true, "booking": b.view()})
}

func createBooking(c *skill.Call) error {
	var in struct {
		Venue      string          `json:"venue"`
		Date       string          `json:"date"`
		Guarantee  json.RawMessage `json:"guarantee"`
		Backend    json.RawMessage `json:"backend"`
		Deposit    json.RawMessage `json:"deposit"`
		SplitRules []struct {
			RecipientAddress string          `json:"recipientAddress"`
			Percentage       json.RawMessage `json:"percentage"`
			Role             string          `json:"role"`
			Name             string          `json:"name"`
		} `json:"splitRules"`
		Now string `json:"now"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	b := booking{Venue: strings.TrimSpace(in.Venue), Date: strings.TrimSpace(in.Date), Status: statusPending}
	if b.Venue == "" {
		return usdc.Missing("venue")
	}
	if utf8.RuneCountInString(b.Venue) > 200 {
		return invalid("venue must be at most 200 characters")
	}
	if b.Date == "" {
		return usdc.Missing("date")
	}
	if !validDate(b.Date) {
		return invalid("date must be a date like 2026-06-12 or an RFC 3339 time")
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
	if len(in.SplitRules) == 0 {
		return usdc.Missing("splitRules (at least one recipient)")
	}
	if len(in.SplitRules) > 20 {
		return invalid("splitRules may have at most 20 recipients")
	}
	var sum int64
	for i, r := range in.SplitRules {
		field := fmt.Sprintf("splitRules[%d]", i)
		rule := splitRule{RecipientAddress: strings.TrimSpace(r.RecipientAddress), Role: strings.ToLower(strings.TrimSpace(r.Role)),
			Name: strings.TrimSpace(r.Name)}
		if rule.RecipientAddress == "" {
			return usdc.Missing(field + ".recipientAddress")
		}
		if !validAddress(rule.RecipientAddress) {
			return invalid("%s.recipientAddress must be a 0x-prefixed address of 40 hex digits", field)
		}
		if rule.Percentage, err = usdc.Percent(field+".percentage", r.Percentage); err != nil {
			return err
		}
		if rule.Role == "" {
			rule.Role = "artist"
		}
		if !slices.Contains(roles, rule.Role) {
			return invalid("%s.role must be one of %s", field, strings.Join(roles, ", "))
		}
		if rule.Name == "" {
			rule.Name = strings.ToUpper(rule.Role[:1]) + rule.Role[1:]
		}
		if utf8.RuneCountInString(rule.Name) > 100 {
			return invalid("%s.name must be at most 100 characters", field)
		}
		sum += rule.Percentage
		b.SplitRules = append(b.SplitRules, rule)
	}
	if sum != usdc.Hundred {
		return skill.Failf(usdc.CodeInvalidPercentage, 400, "splitRules percentages must total 100 (got %s)",
			usdc.FormatPercent(sum))
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
	st, err := open(c)
	if err != nil {
		return err
	}
	b, key, err := load(st, in.BookingID)
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
	st, err := open(c)
	if err != nil {
		return err
	}
	b, key, err := load(st, in.BookingID)
	if err != nil {
		return err
	}
	switch b.Status {
	case statusSettled:
		return skill.Failf("ALREADY_RELEASED", 400, "Funds already released for this booking")
	case statusPending:
		return skill.Failf("BOOKING_NOT_CONFIRMED", 400, "Booking is not confirmed: create the escrow first")
	}
	weights := make([]int64, len(b.SplitRules))
	for i, r := range b.SplitRules {
		weights[i] = r.Percentage
	}
	shares, err := usdc.Split(b.total(), weights, usdc.Hundred)
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
var simulationSplit = []struct {
	name, role string
	pct        int64 // percentage units
}{
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
	weights := make([]int64, len(simulationSplit))
	for i, s := range simulationSplit {
		weights[i] = s.pct
	}
	shares, err := usdc.Split(total, weights, usdc.Hundred)
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

func invalid(format string, args ...any) error {
	return skill.Failf(usdc.CodeInvalidField, 400, format, args...)
}

func validDate(s string) bool {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return true
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}
