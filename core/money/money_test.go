package money_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/money"
)

func TestParseUSD(t *testing.T) {
	good := []struct {
		in   string
		want int64
	}{
		{"0.05", 50_000},
		{"12", 12_000_000},
		{".5", 500_000},
		{"1.000001", 1_000_001},
		{"0", 0},
		{"0.0", 0},
		{"000", 0},
		{"1.", 1_000_000},
		{"0.000001", 1},
		{"007.50", 7_500_000},
		{"1.000000", 1_000_000},
		{" 3.25\n", 3_250_000},
		{"4611686018427.999999", 4_611_686_018_427_999_999},
	}
	for _, tc := range good {
		got, err := money.ParseUSD(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseUSD(%q) = %v, %v; want %v, nil", tc.in, got, err, tc.want)
		}
	}

	bad := []string{
		"",
		"   ",
		".",
		"-1",
		"-0.5",
		"+1",
		"1.0000001", // too many decimals
		"0.0000000",
		"1e3",
		"abc",
		" 1..2",
		"1.2.3",
		"1,5",
		"$1",
		"1 000",
		"0x10",
		"١", // a non-ASCII digit
		"99999999999999999999",
		"9223372036854775807",
		"4611686018428",
	}
	for _, in := range bad {
		if got, err := money.ParseUSD(in); err == nil {
			t.Errorf("ParseUSD(%q) = %v, nil; want an error", in, got)
		}
	}
}

func TestParseMicroDecimals(t *testing.T) {
	tests := []struct {
		in       string
		decimals int
		want     int64
		wantErr  bool
	}{
		{"12", 0, 12, false},
		{"12.5", 0, 0, true},
		{"1.5", 2, 150, false},
		{"1.05", 2, 105, false},
		{"1.005", 2, 0, true},
		{"0.5", 1, 5, false},
		{"1.000000000000000001", 18, 1_000_000_000_000_000_001, false},
		{"5", 18, 0, true},   // 5e18 is past the supported range
		{"0.5", 20, 0, true}, // 10^20 does not fit in an int64
		{"0.5", 19, 0, true},
		{"1", -1, 0, true},
	}
	for _, tc := range tests {
		got, err := money.ParseMicro(tc.in, tc.decimals)
		if (err != nil) != tc.wantErr || got != tc.want {
			want := "nil"
			if tc.wantErr {
				want = "an error"
			}
			t.Errorf("ParseMicro(%q, %d) = %v, %v; want %v, %s", tc.in, tc.decimals, got, err, tc.want, want)
		}
	}
}

func TestFormatUSD(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{50_000, "0.05"},
		{1, "0.000001"},
		{1_000_000, "1.00"},
		{0, "0.00"},
		{10, "0.00001"},
		{100_000, "0.10"},
		{1_500_000, "1.50"},
		{12_000_000, "12.00"},
		{1_234_567, "1.234567"},
		{1_000_001, "1.000001"},
		{-1, "-0.000001"},
		{-50_000, "-0.05"},
		{-1_000_000, "-1.00"},
		{-12_345_000, "-12.345"},
		{math.MaxInt64, "9223372036854.775807"},
		{math.MinInt64, "-9223372036854.775808"},
	}
	for _, tc := range tests {
		if got := money.FormatUSD(tc.in); got != tc.want {
			t.Errorf("FormatUSD(%d) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatMicroDecimals(t *testing.T) {
	tests := []struct {
		in       int64
		decimals int
		want     string
	}{
		{5, 0, "5.00"},
		{150, 2, "1.50"},
		{105, 2, "1.05"},
		{-105, 2, "-1.05"},
		{5, 1, "0.50"},
		{1, 3, "0.001"},
		{1_000, 3, "1.00"},
	}
	for _, tc := range tests {
		if got := money.FormatMicro(tc.in, tc.decimals); got != tc.want {
			t.Errorf("FormatMicro(%d, %d) = %q; want %q", tc.in, tc.decimals, got, tc.want)
		}
	}
}

// canonical is what FormatUSD renders for a valid non-negative amount: no
// leading zeros, trailing zeros trimmed, at least two decimals.
func canonical(whole, frac string) string {
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return whole + "." + frac
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

// Property: any amount ParseUSD accepts formats back to its canonical form, and
// any formatted non-negative amount parses back to the same value.
func TestUSDRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		whole := digits(r, r.IntN(13)) // up to 12 digits: always within range
		frac := digits(r, r.IntN(7))   // 0..6 decimals
		in := whole
		if frac != "" || r.IntN(2) == 0 {
			in += "." + frac
		}
		if in == "" || in == "." {
			continue
		}
		v, err := money.ParseUSD(in)
		if err != nil {
			t.Fatalf("ParseUSD(%q) = %v; want a value", in, err)
		}
		want := canonical(whole, frac)
		if got := money.FormatUSD(v); got != want {
			t.Fatalf("FormatUSD(ParseUSD(%q)) = %q; want %q", in, got, want)
		}
		if back, err := money.ParseUSD(want); err != nil || back != v {
			t.Fatalf("ParseUSD(%q) = %v, %v; want %v", want, back, err, v)
		}
	}

	edges := []int64{0, 1, 9, 10, 999_999, 1_000_000, 1_000_001, 1 << 40, 1 << 62}
	for range 20_000 {
		edges = append(edges, r.Int64N(1<<62+1))
	}
	for _, v := range edges {
		s := money.FormatUSD(v)
		got, err := money.ParseUSD(s)
		if err != nil || got != v {
			t.Fatalf("ParseUSD(FormatUSD(%d)) = ParseUSD(%q) = %v, %v; want %v", v, s, got, err, v)
		}
		if neg := money.FormatUSD(-v); v != 0 && neg != "-"+s {
			t.Fatalf("FormatUSD(%d) = %q; want %q", -v, neg, "-"+s)
		}
	}
}
