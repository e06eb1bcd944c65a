// Package money parses and formats amounts held as integer minor units. Amounts
// never pass through floating point.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MicroPerUSD is the number of micro-dollars in a dollar.
const MicroPerUSD = 1_000_000

// ParseMicro parses a non-negative decimal with at most `decimals` fraction
// digits ("0.05", "12", "1.000001") into integer units of 10^-decimals.
func ParseMicro(s string, decimals int) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty amount")
	}
	if decimals < 0 || decimals > 18 {
		return 0, fmt.Errorf("unsupported number of decimal places %d", decimals)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, fmt.Errorf("amount %q has no digits", s)
	}
	if whole == "" {
		whole = "0"
	}
	if len(frac) > decimals {
		return 0, fmt.Errorf("amount %q has more than %d decimal places", s, decimals)
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("amount %q is not a non-negative decimal number", s)
			}
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q is too large", s)
	}
	scale := int64(1)
	for range decimals {
		scale *= 10
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", decimals-len(frac)), 10, 64)
	}
	if w > (1<<62)/scale {
		return 0, fmt.Errorf("amount %q is too large", s)
	}
	return w*scale + f, nil
}

// ParseUSD parses a dollar amount into micro-dollars.
func ParseUSD(s string) (int64, error) { return ParseMicro(s, 6) }

// FormatMicro renders units of 10^-decimals as a decimal string with trailing
// zeros trimmed but at least two decimals ("0.05", "1.00", "0.000001").
func FormatMicro(v int64, decimals int) string {
	neg := v < 0
	// The magnitude as uint64, so that -math.MinInt64 does not overflow.
	u := uint64(v)
	if neg {
		u = -u
	}
	scale := uint64(1)
	for range decimals {
		scale *= 10
	}
	s := fmt.Sprintf("%d.%0*d", u/scale, decimals, u%scale)
	s = strings.TrimRight(s, "0")
	if i := strings.IndexByte(s, '.'); len(s)-i-1 < 2 {
		s += strings.Repeat("0", 2-(len(s)-i-1))
	}
	if neg {
		s = "-" + s
	}
	return s
}

// FormatUSD renders micro-dollars as dollars.
func FormatUSD(micro int64) string { return FormatMicro(micro, 6) }
