package channels

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func units(s string) int { return len(utf16.Encode([]rune(s))) }

func TestSplitKeepsEveryPartWithinTheLimit(t *testing.T) {
	long := strings.Repeat("word ", 1000) // 5000 chars
	emoji := strings.Repeat("😀", 3000)    // 2 UTF-16 units each
	para := strings.Repeat("a", 3000) + "\n\n" + strings.Repeat("b", 3000)
	for _, tc := range []struct {
		name, text string
		max        int
		wantParts  int
	}{
		{"short", "hello", 4096, 1},
		{"empty", "   ", 4096, 0},
		{"words", long, 2000, 3},
		{"emoji counted in UTF-16", emoji, 4096, 2},
		{"paragraph boundary", para, 4096, 2},
		{"no spaces", strings.Repeat("x", 9000), 4096, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := Split(tc.text, tc.max)
			if len(parts) != tc.wantParts {
				t.Fatalf("%d parts; want %d", len(parts), tc.wantParts)
			}
			for i, p := range parts {
				if units(p) > tc.max || p == "" || !utf8.ValidString(p) {
					t.Errorf("part %d: %d units, valid %v", i, units(p), utf8.ValidString(p))
				}
			}
			// Nothing but whitespace at the cuts is lost.
			joined := strings.Join(strings.Fields(strings.Join(parts, " ")), "")
			if want := strings.Join(strings.Fields(tc.text), ""); joined != want {
				t.Errorf("text changed by splitting")
			}
		})
	}
	if p := Split(para, 4096); p[0] != strings.Repeat("a", 3000) {
		t.Errorf("did not cut at the paragraph break")
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("hello world", 5)
	f.Add("😀😀😀", 1)
	f.Add("\xff\xfe abc", 2)
	f.Fuzz(func(t *testing.T, text string, max int) {
		if max > 10000 || max < -5 {
			return
		}
		for _, p := range Split(text, max) {
			if p == "" {
				t.Fatal("empty part")
			}
			if max >= 2 && units(p) > max {
				t.Fatalf("part of %d units > %d", units(p), max)
			}
		}
	})
}
