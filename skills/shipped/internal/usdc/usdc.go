// Package usdc holds the shipped skills' money arithmetic: amounts are int64
// micro-units of USDC (6 decimals), parsed exactly from decimal strings or
// JSON numbers and rendered as decimal strings at the edge. Nothing passes
// through floating point.
package usdc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Decimals is USDC's number of decimal places.
const Decimals = 6

// Unit is one USDC in micro-units.
const Unit int64 = 1_000_000

// MaxAmount bounds every amount a skill accepts: a trillion USDC, far beyond
// any booking or royalty, and small enough that sums of many stay in int64.
const MaxAmount int64 = 1_000_000_000_000 * Unit

// MaxTotal bounds running totals of many amounts (8 × MaxAmount still fits
// in int64).
const MaxTotal int64 = 8 * MaxAmount

// Errors of ParseDecimal; the messages are shown to callers.
var (
	ErrEmpty     = errors.New("is empty")
	ErrMalformed = errors.New("is not a plain decimal number (like 12 or 12.34)")
	ErrNegative  = errors.New("must not be negative")
	ErrTooLarge  = errors.New("is too large")
)

// TooManyDecimalsError reports a fraction longer than the allowed places.
type TooManyDecimalsError struct{ Max int }

func (e *TooManyDecimalsError) Error() string {
	return fmt.Sprintf("has more than %d decimal places", e.Max)
}

// ParseDecimal parses a non-negative decimal ("12", "0.003", ".5", "7.")
// into integer units of 10^-decimals. Signs, exponents, spaces inside the
// number and more than `decimals` fraction digits are refused; values above
// max are ErrTooLarge.
func ParseDecimal(s string, decimals int, max int64) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrEmpty
	}
	if s[0] == '-' {
		return 0, ErrNegative
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, ErrMalformed
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, ErrMalformed
			}
		}
	}
	// Trailing zeros of the fraction carry no value: "1.500000000" is fine.
	frac = strings.TrimRight(frac, "0")
	if len(frac) > decimals {
		return 0, &TooManyDecimalsError{Max: decimals}
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 18 {
		return 0, ErrTooLarge
	}
	w := int64(0)
	if whole != "" {
		var err error
		if w, err = strconv.ParseInt(whole, 10, 64); err != nil {
			return 0, ErrTooLarge
		}
	}
	scale := pow10(decimals)
	if w > max/scale {
		return 0, ErrTooLarge
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", decimals-len(frac)), 10, 64)
	}
	v := w*scale + f
	if v > max {
		return 0, ErrTooLarge
	}
	return v, nil
}

// Text returns the text of a JSON string or number, and false when raw is
// absent or null. Any other JSON value is ErrMalformed.
func Text(raw json.RawMessage) (string, bool, error) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return "", false, nil
	}
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal([]byte(t), &s); err != nil {
			return "", false, ErrMalformed
		}
		return s, true, nil
	}
	if t[0] == '-' || (t[0] >= '0' && t[0] <= '9') {
		// A JSON number as written: "1e3" is then refused as malformed,
		// so no value is ever read through a float.
		return t, true, nil
	}
	return "", false, ErrMalformed
}

// Parse parses a JSON string or number holding a USDC amount. ok is false
// when the value is absent or null.
func Parse(raw json.RawMessage) (v int64, ok bool, err error) {
	return ParseScaled(raw, Decimals, MaxAmount)
}

// ParseScaled is Parse for another number of decimals and bound.
func ParseScaled(raw json.RawMessage, decimals int, max int64) (v int64, ok bool, err error) {
	s, ok, err := Text(raw)
	if err != nil || !ok {
		return 0, ok, err
	}
	v, err = ParseDecimal(s, decimals, max)
	return v, true, err
}

// Format renders micro-units as a decimal string with at least two decimals
// and no trailing zeros beyond them: 455000000 → "455.00", 1 → "0.000001".
func Format(micro int64) string { return FormatScaled(micro, Decimals, 2) }

// FormatScaled renders units of 10^-decimals with at least minDecimals
// fraction digits and no further trailing zeros.
func FormatScaled(v int64, decimals, minDecimals int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	scale := uint64(pow10(decimals))
	s := strconv.FormatUint(u/scale, 10)
	if decimals > 0 {
		frac := fmt.Sprintf("%0*d", decimals, u%scale)
		frac = strings.TrimRight(frac, "0")
		if len(frac) < minDecimals {
			frac += strings.Repeat("0", minDecimals-len(frac))
		}
		if frac != "" {
			s += "." + frac
		}
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Format2 renders micro-units rounded half up to cents, always with two
// decimals: 300000000 → "300.00", 4999 → "0.00", 5000 → "0.01".
func Format2(micro int64) string {
	neg := micro < 0
	u := uint64(micro)
	if neg {
		u = -u
	}
	cents := (u + 5_000) / 10_000
	s := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	if neg && cents != 0 {
		s = "-" + s
	}
	return s
}

// Dollars renders an amount for a message like "$50" or "$12.50".
func Dollars(micro int64) string {
	if micro%Unit == 0 {
		return "$" + strconv.FormatInt(micro/Unit, 10)
	}
	return "$" + Format(micro)
}

// MulDiv returns floor(a·b/c) for non-negative a, b and positive c, through
// a 128-bit product; ErrTooLarge when the result does not fit in int64.
func MulDiv(a, b, c int64) (int64, error) {
	if a < 0 || b < 0 || c <= 0 {
		return 0, errors.New("usdc: MulDiv needs non-negative operands and a positive divisor")
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return 0, ErrTooLarge
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	if q > 1<<63-1 {
		return 0, ErrTooLarge
	}
	return int64(q), nil
}

// Mul returns a·b for non-negative a and b, or ErrTooLarge on overflow.
func Mul(a, b int64) (int64, error) { return MulDiv(a, b, 1) }

// Split divides total by the weights, which must be non-negative and sum to
// weightTotal: each share is floored to a micro-unit and the remainder (fewer
// micro-units than there are shares) goes to the first share, so the shares
// always sum to total exactly.
func Split(total int64, weights []int64, weightTotal int64) ([]int64, error) {
	if len(weights) == 0 {
		return nil, errors.New("usdc: nothing to split between")
	}
	var sum int64
	for _, w := range weights {
		if w < 0 {
			return nil, errors.New("usdc: negative weight")
		}
		sum += w
	}
	if sum != weightTotal {
		return nil, fmt.Errorf("usdc: weights sum to %d, not %d", sum, weightTotal)
	}
	shares := make([]int64, len(weights))
	var given int64
	for i, w := range weights {
		s, err := MulDiv(total, w, weightTotal)
		if err != nil {
			return nil, err
		}
		shares[i] = s
		given += s
	}
	shares[0] += total - given
	return shares, nil
}

// SplitPercent is Split by the percentages of items (units of 10^-4 %, which
// must sum to Hundred) that percent reads.
func SplitPercent[T any](total int64, items []T, percent func(T) int64) ([]int64, error) {
	weights := make([]int64, len(items))
	for i, it := range items {
		weights[i] = percent(it)
	}
	return Split(total, weights, Hundred)
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
