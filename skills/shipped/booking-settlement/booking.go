package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/agentbot/gateway/sdk/skill"
	"github.com/agentbot/gateway/skills/shipped/internal/state"
	"github.com/agentbot/gateway/skills/shipped/internal/usdc"
)

// Store layout (per user and agent, by the platform's scoping):
//
//	booking/<n, 12 digits>  a booking (JSON), id "bk_<n>"
//	meta/next               the next booking number
//	meta/seeded             present once the mock bookings were written
const (
	bookingPrefix = "booking/"
	nextKey       = "meta/next"
	seededKey     = "meta/seeded"
	idPrefix      = "bk_"
	// maxBookings bounds a user's bookings, so that list stays within the
	// call's host-call budget.
	maxBookings = 200
)

// Booking statuses.
const (
	statusPending   = "pending"
	statusConfirmed = "confirmed"
	statusCompleted = "completed"
	statusSettled   = "settled"
)

var roles = []string{"artist", "manager", "agent", "venue"}

// splitRule is one recipient of a booking's payout; Percentage is in units
// of 10^-4 % (usdc.Hundred is 100 %).
type splitRule struct {
	RecipientAddress string `json:"recipientAddress"`
	Percentage       int64  `json:"percentage"`
	Role             string `json:"role"`
	Name             string `json:"name"`
}

// payout is one released share.
type payout struct {
	Recipient  string `json:"recipient"`
	Role       string `json:"role"`
	Address    string `json:"address"`
	Percentage int64  `json:"percentage"`
	Amount     int64  `json:"amount"`
}

// booking is the stored record; amounts in micro-USDC.
type booking struct {
	ID            string      `json:"id"`
	Venue         string      `json:"venue"`
	Date          string      `json:"date"`
	Guarantee     int64       `json:"guarantee"`
	Backend       int64       `json:"backend"`
	Deposit       int64       `json:"deposit"`
	Status        string      `json:"status"`
	SplitRules    []splitRule `json:"splitRules"`
	EscrowAddress string      `json:"escrowAddress,omitempty"`
	CreatedAt     *string     `json:"createdAt,omitempty"`
	ReleasedAt    *string     `json:"releasedAt,omitempty"`
	Payouts       []payout    `json:"payouts,omitempty"`
}

func (b *booking) total() int64 { return b.Guarantee + b.Backend }

// seeds are the mock bookings of the original skill, written on first use.
func seeds() []booking {
	return []booking{
		{
			ID: "bk_1", Venue: "Berghain", Date: "2026-04-18",
			Guarantee: 500 * usdc.Unit, Backend: 200 * usdc.Unit, Deposit: 100 * usdc.Unit,
			Status: statusConfirmed,
			SplitRules: []splitRule{
				{RecipientAddress: "0xa11ce00000000000000000000000000000000001", Percentage: 70 * 10_000, Role: "artist", Name: "Artist"},
				{RecipientAddress: "0xa11ce00000000000000000000000000000000002", Percentage: 15 * 10_000, Role: "manager", Name: "Manager"},
				{RecipientAddress: "0xa11ce00000000000000000000000000000000003", Percentage: 15 * 10_000, Role: "agent", Name: "Agent"},
			},
		},
		{
			ID: "bk_2", Venue: "Fabric London", Date: "2026-03-07",
			Guarantee: 800 * usdc.Unit, Backend: 300 * usdc.Unit, Deposit: 200 * usdc.Unit,
			Status: statusCompleted,
			SplitRules: []splitRule{
				{RecipientAddress: "0xa11ce00000000000000000000000000000000001", Percentage: 65 * 10_000, Role: "artist", Name: "Artist"},
				{RecipientAddress: "0xa11ce00000000000000000000000000000000003", Percentage: 20 * 10_000, Role: "agent", Name: "Agent"},
				{RecipientAddress: "0xa11ce00000000000000000000000000000000002", Percentage: 15 * 10_000, Role: "manager", Name: "Manager"},
			},
		},
	}
}

// open returns the store, seeding the mock bookings on the user's first call.
func open(c *skill.Call) (state.Store, error) {
	st := state.New(c)
	var seeded bool
	ok, err := st.Get(seededKey, &seeded)
	if err != nil || ok {
		return st, err
	}
	for i, b := range seeds() {
		if err := st.Put(state.SeqKey(bookingPrefix, int64(i+1)), b); err != nil {
			return st, err
		}
	}
	if err := st.SetCounter(nextKey, int64(len(seeds())+1)); err != nil {
		return st, err
	}
	return st, st.Put(seededKey, true)
}

// openBooking opens the store and finds the booking id in it, returning it
// with its key: 400 without an id, 404 BOOKING_NOT_FOUND when there is no
// such booking.
func openBooking(c *skill.Call, id string) (state.Store, *booking, string, error) {
	st, err := open(c)
	if err != nil {
		return st, nil, "", err
	}
	b, key, err := state.Load[booking](st, id, idPrefix, bookingPrefix, "bookingId", "BOOKING_NOT_FOUND", "Booking not found")
	return st, b, key, err
}

// escrowAddress is the booking's escrow address: "0x" and the first 20
// bytes of SHA-256("agentbot/booking-settlement/escrow/" + id). It is a
// deterministic placeholder, not a deployed contract: the sandbox has no
// chain access.
func escrowAddress(id string) string {
	sum := sha256.Sum256([]byte("agentbot/booking-settlement/escrow/" + id))
	return "0x" + hex.EncodeToString(sum[:20])
}

// Views: what callers see, amounts as decimal strings.

type ruleView struct {
	RecipientAddress string      `json:"recipientAddress"`
	Percentage       json.Number `json:"percentage"`
	Role             string      `json:"role"`
	Name             string      `json:"name"`
}

type payoutView struct {
	Recipient  string      `json:"recipient"`
	Role       string      `json:"role"`
	Address    string      `json:"address"`
	Percentage json.Number `json:"percentage"`
	Amount     string      `json:"amount"`
	Status     string      `json:"status"`
}

type bookingView struct {
	ID            string       `json:"id"`
	Venue         string       `json:"venue"`
	Date          string       `json:"date"`
	Guarantee     string       `json:"guarantee"`
	Backend       string       `json:"backend"`
	Deposit       string       `json:"deposit"`
	TotalPayout   string       `json:"totalPayout"`
	Currency      string       `json:"currency"`
	Status        string       `json:"status"`
	SplitRules    []ruleView   `json:"splitRules"`
	EscrowAddress string       `json:"escrowAddress,omitempty"`
	CreatedAt     *string      `json:"createdAt,omitempty"`
	ReleasedAt    *string      `json:"releasedAt,omitempty"`
	Payouts       []payoutView `json:"payouts,omitempty"`
}

func (b *booking) view() bookingView {
	v := bookingView{
		ID: b.ID, Venue: b.Venue, Date: b.Date,
		Guarantee: usdc.Format(b.Guarantee), Backend: usdc.Format(b.Backend), Deposit: usdc.Format(b.Deposit),
		TotalPayout: usdc.Format(b.total()), Currency: "USDC", Status: b.Status,
		SplitRules:    make([]ruleView, len(b.SplitRules)),
		EscrowAddress: b.EscrowAddress, CreatedAt: b.CreatedAt, ReleasedAt: b.ReleasedAt,
		Payouts: payoutViews(b.Payouts),
	}
	for i, r := range b.SplitRules {
		v.SplitRules[i] = ruleView{RecipientAddress: r.RecipientAddress, Percentage: usdc.FormatPercent(r.Percentage),
			Role: r.Role, Name: r.Name}
	}
	return v
}

func payoutViews(ps []payout) []payoutView {
	if len(ps) == 0 {
		return nil
	}
	out := make([]payoutView, len(ps))
	for i, p := range ps {
		out[i] = payoutView{Recipient: p.Recipient, Role: p.Role, Address: p.Address,
			Percentage: usdc.FormatPercent(p.Percentage), Amount: usdc.Format(p.Amount), Status: "released"}
	}
	return out
}
