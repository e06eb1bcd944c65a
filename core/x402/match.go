package x402

import (
	"encoding/json"
	"reflect"
)

// Matches reports whether accepted, the requirement a client echoed in its
// PaymentPayload, is r, one this server advertised: the core fields are
// equal, and every key of r.Extra is in accepted.Extra with an equal JSON
// value (a client may add keys; it may not drop or change ours). This binds
// a payment to the exact price, asset, recipient and token domain offered.
//
// Unlike @x402/core, a nested object under an r.Extra key must be equal as
// a whole, not merely contained.
func (r Requirements) Matches(accepted Requirements) bool {
	if r.Scheme != accepted.Scheme || r.Network != accepted.Network || r.Amount != accepted.Amount ||
		r.Asset != accepted.Asset || r.PayTo != accepted.PayTo || r.MaxTimeoutSeconds != accepted.MaxTimeoutSeconds {
		return false
	}
	for k, want := range r.Extra {
		got, ok := accepted.Extra[k]
		if !ok || !jsonEqual(want, got) {
			return false
		}
	}
	return true
}

// jsonEqual compares a and b as JSON values, so that a Go int in our config
// equals the float64 that json.Unmarshal produced for the client's copy.
func jsonEqual(a, b any) bool {
	na, okA := normalize(a)
	nb, okB := normalize(b)
	return okA && okB && reflect.DeepEqual(na, nb)
}

func normalize(v any) (any, bool) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, false
	}
	return out, true
}
