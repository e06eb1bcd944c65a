// Command booking-settlement is the shipped skill that settles gig bookings
// in USDC on Base: a booking holds a guarantee, a backend and a deposit, and
// split rules that share guarantee + backend between artist, manager, agent
// and venue. Actions (POST /api/skills/booking-settlement {action, …}):
//
//	list                                   → {success, bookings}
//	get {bookingId}                        → {success, booking}
//	create_booking {venue, date, guarantee, backend?, deposit?, splitRules[]}
//	                                       → {success, booking, message}
//	create_escrow {bookingId}              → {success, bookingId, escrowAddress, depositAmount, message}
//	release_funds {bookingId}              → {success, bookingId, totalPayout, currency, network, releasedAt, splits}
//	simulate_settlement {booking?{guarantee=500, backend=200, deposit=100}}
//	                                       → the fixed 65/20/15 split and the payment timeline
//
// Bookings live in the skill's key-value store, which the platform scopes to
// the calling user and agent; two mock bookings (bk_1, bk_2) are seeded on
// first use. Amounts are integer micro-units of USDC (6 decimals), accepted
// as decimal strings or JSON numbers and rendered as decimal strings.
//
// The sandbox has no chain access, clock or randomness: escrow addresses are
// deterministic placeholders derived from the booking id, releases are
// recorded in the store (no transaction is sent, so there is no txHash), and
// timestamps come from the caller's optional "now" field.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o booking-settlement.wasm .
package main

import (
	"github.com/agentbot/gateway/sdk/skill"
)

func main() {}

func init() {
	skill.Route(map[string]skill.HandlerFunc{
		"list":                list,
		"get":                 get,
		"create_booking":      createBooking,
		"create_escrow":       createEscrow,
		"release_funds":       releaseFunds,
		"simulate_settlement": simulateSettlement,
	})
}
