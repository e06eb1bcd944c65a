package usdc

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1": 1_000_000, "12.34": 12_340_000, "0.000001": 1, ".5": 500_000, "7.": 7_000_000,
		" 3 ": 3_000_000, "1.500000000": 1_500_000, "000123.45": 123_450_000, "1000000000000": MaxAmount,
	} {
		if got, err := ParseDecimal(in, 6, MaxAmount); err != nil || got != want {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]error{
		"": ErrEmpty, "  ": ErrEmpty, ".": ErrMalformed, "-1": ErrNegative, "-0": ErrNegative, "+1": ErrMalformed,
		"1e3": ErrMalformed, "1,000": ErrMalformed, "1 000": ErrMalformed, "0x10": ErrMalformed, "1.2.3": ErrMalformed,
		"NaN": ErrMalformed, "１": ErrMalformed, "1000000000000.000001": ErrTooLarge, "99999999999999999999999": ErrTooLarge,
	} {
		if got, err := ParseDecimal(in, 6, MaxAmount); !errors.Is(err, want) {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %v", in, got, err, want)
		}
	}
	var tm *TooManyDecimalsError
	if _, err := ParseDecimal("0.0000001", 6, MaxAmount); !errors.As(err, &tm) || err.Error() != "has more than 6 decimal places" {
		t.Errorf("7 decimals: %v", err)
	}
}

func TestParseJSON(t *testing.T) {
	for raw, want := range map[string]int64{`"12.5"`: 12_500_000, `12.5`: 12_500_000, `0.1`: 100_000, `100`: 100_000_000} {
		if v, ok, err := Parse(json.RawMessage(raw)); err != nil || !ok || v != want {
			t.Errorf("Parse(%s) = %d %v %v", raw, v, ok, err)
		}
	}
	for _, raw := range []string{``, `null`} {
		if _, ok, err := Parse(json.RawMessage(raw)); ok || err != nil {
			t.Errorf("Parse(%s) should be absent", raw)
		}
	}
	for _, raw := range []string{`true`, `[1]`, `{"a":1}`, `1e2`, `"1e2"`, `"abc"`} {
		if _, _, err := Parse(json.RawMessage(raw)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%s) = %v, want malformed", raw, err)
		}
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[int64]string{
		0: "0.00", 1: "0.000001", 455_000_000: "455.00", 33_333_301: "33.333301", 100_000: "0.10", 123_450_000: "123.45",
		-1_500_000: "-1.50", MaxAmount: "1000000000000.00",
	} {
		if got := Format(v); got != want {
			t.Errorf("Format(%d) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[int64]string{0: "0.00", 4_999: "0.00", 5_000: "0.01", 300_000_000: "300.00", 1_234_995_000: "1235.00", -5_000: "-0.01"} {
		if got := Format2(v); got != want {
			t.Errorf("Format2(%d) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[int64]string{50_000_000: "$50", 12_500_000: "$12.50", 0: "$0"} {
		if got := Dollars(v); got != want {
			t.Errorf("Dollars(%d) = %q, want %q", v, got, want)
		}
	}
	if got := FormatPercent(333_333); got != "33.3333" || FormatPercent(Hundred) != "100" {
		t.Errorf("FormatPercent = %s", got)
	}
}

func TestSplitSumsExactly(t *testing.T) {
	thirds := []int64{333_333, 333_333, 333_334}
	for _, total := range []int64{0, 1, 2, 3, 7, 100_000_000, 100_000_001, 999_999_999_999, MaxAmount, 8 * MaxAmount} {
		for _, w := range [][]int64{thirds, {Hundred}, {650_000, 200_000, 150_000}, {1, Hundred - 1}} {
			shares, err := Split(total, w, Hundred)
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for i, s := range shares {
				sum += s
				if s < 0 {
					t.Errorf("negative share %d", s)
				}
				if i > 0 {
					if floor, _ := MulDiv(total, w[i], Hundred); s != floor {
						t.Errorf("share %d of %d = %d, want the floor %d", i, total, s, floor)
					}
				}
			}
			if sum != total {
				t.Errorf("Split(%d, %v) = %v sums to %d", total, w, shares, sum)
			}
		}
	}
	if s, _ := Split(100_000_001, thirds, Hundred); s[0] != 33_333_301 || s[1] != 33_333_300 || s[2] != 33_333_400 {
		t.Errorf("thirds of 100.000001 = %v", s)
	}
	if _, err := Split(10, []int64{1, 2}, Hundred); err == nil {
		t.Error("weights not summing to the total were accepted")
	}
}

func TestMulDiv(t *testing.T) {
	if v, err := Mul(1_000_000_000_000, MaxAmount/1_000_000_000_000); err != nil || v != MaxAmount {
		t.Errorf("Mul = %d %v", v, err)
	}
	if _, err := Mul(1<<40, 1<<40); !errors.Is(err, ErrTooLarge) {
		t.Errorf("overflow: %v", err)
	}
	if v, err := MulDiv(8*MaxAmount, Hundred-1, Hundred); err != nil || v != 8*MaxAmount-8*MaxAmount/Hundred {
		t.Errorf("MulDiv near the top = %d %v", v, err)
	}
}
