package money_test

import (
	"math/big"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/money"
)

// FuzzParseMicro: an accepted amount is exactly its decimal value in units of
// 10^-decimals (checked with big.Rat, no float), and formatting it back and
// parsing again gives the same number of units.
func FuzzParseMicro(f *testing.F) {
	for _, s := range []string{"0.05", "12", "1.000001", ".5", "5.", " 7.25 ", "0.0000001", "+1", "-1", "1e3", "1.2.3",
		"4611686018427.387904", "4611686018427.387903", "9223372036854775807", "00000000000000000000001.5", "٣", "", "."} {
		f.Add(s, uint8(6))
	}
	f.Add("0.01", uint8(2))
	f.Add("1", uint8(0))
	f.Add("4.611686018427387904", uint8(18))
	f.Fuzz(func(t *testing.T, s string, d uint8) {
		decimals := int(d % 20)
		v, err := money.ParseMicro(s, decimals)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseMicro(%q, %d) = %d; want a non-negative amount", s, decimals, v)
		}
		want, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		if !ok {
			t.Fatalf("ParseMicro(%q, %d) = %d; big.Rat cannot read it", s, decimals, v)
		}
		want.Mul(want, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)))
		if !want.IsInt() || want.Num().Cmp(big.NewInt(v)) != 0 {
			t.Fatalf("ParseMicro(%q, %d) = %d; want exactly %s", s, decimals, v, want.RatString())
		}
		if decimals >= 2 {
			back, err := money.ParseMicro(money.FormatMicro(v, decimals), decimals)
			if err != nil || back != v {
				t.Fatalf("ParseMicro(FormatMicro(%d, %d) = %q) = %d, %v", v, decimals, money.FormatMicro(v, decimals), back, err)
			}
		}
	})
}

// FuzzFormatUSD: every amount renders as [-]digits.digits with two to six
// decimals; non-negative amounts that ParseUSD can hold read back exactly.
func FuzzFormatUSD(f *testing.F) {
	for _, v := range []int64{0, 1, 10_000, 1_000_000, -50_000, 1 << 62, -1 << 63, 1<<63 - 1} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		s := money.FormatUSD(v)
		digits := strings.TrimPrefix(s, "-")
		whole, frac, ok := strings.Cut(digits, ".")
		if (v < 0) != strings.HasPrefix(s, "-") || !ok || whole == "" || len(frac) < 2 || len(frac) > 6 ||
			strings.Trim(whole+frac, "0123456789") != "" {
			t.Fatalf("FormatUSD(%d) = %q", v, s)
		}
		if v < 0 || v > 1<<62 {
			return
		}
		if back, err := money.ParseUSD(s); err != nil || back != v {
			t.Fatalf("ParseUSD(FormatUSD(%d) = %q) = %d, %v", v, s, back, err)
		}
	})
}
