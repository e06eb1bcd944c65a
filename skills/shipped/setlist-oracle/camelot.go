package main

import (
	"strconv"
	"strings"
)

// camelot is a position on the Camelot wheel: Num 1–12 and Letter 'A'
// (minor) or 'B' (major).
type camelot struct {
	Num    int
	Letter byte
}

func (k camelot) String() string { return strconv.Itoa(k.Num) + string(k.Letter) }

// compatible reports whether a mix from a to b is harmonic: the same key,
// one step around the wheel (same letter, number ±1, 12 wrapping to 1), or
// the relative major/minor (same number, other letter).
func compatible(a, b camelot) bool {
	if a.Num == b.Num {
		return true
	}
	if a.Letter != b.Letter {
		return false
	}
	d := (a.Num - b.Num + 12) % 12
	return d == 1 || d == 11
}

// parseKey reads a Camelot key ("8A", "12b") or a musical key ("Am", "F#",
// "Bbm", "C# minor", "Eb major", "A♭m").
func parseKey(s string) (camelot, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return camelot{}, false
	}
	// Camelot: 1–12 then A or B.
	last := s[len(s)-1] &^ 0x20 // upper case
	if digits := s[:len(s)-1]; (last == 'A' || last == 'B') && digits != "" && digits[0] != '0' {
		if n, err := strconv.Atoi(digits); err == nil && n >= 1 && n <= 12 {
			return camelot{Num: n, Letter: last}, true
		}
	}
	// Musical: a letter, an optional accidental, an optional mode.
	pcs := map[byte]int{'C': 0, 'D': 2, 'E': 4, 'F': 5, 'G': 7, 'A': 9, 'B': 11}
	pc, ok := pcs[s[0]&^0x20]
	if !ok {
		return camelot{}, false
	}
	rest := s[1:]
	switch {
	case strings.HasPrefix(rest, "#"):
		pc, rest = pc+1, rest[1:]
	case strings.HasPrefix(rest, "♯"):
		pc, rest = pc+1, rest[len("♯"):]
	case strings.HasPrefix(rest, "b"):
		pc, rest = pc-1, rest[1:]
	case strings.HasPrefix(rest, "♭"):
		pc, rest = pc-1, rest[len("♭"):]
	}
	pc = (pc + 12) % 12
	switch strings.ToLower(strings.ReplaceAll(rest, " ", "")) {
	case "", "maj", "major":
		// C major is 8B; each fifth up (+7 semitones) is one step round.
		return camelot{Num: (7*pc+7)%12 + 1, Letter: 'B'}, true
	case "m", "min", "minor":
		// A minor is 8A.
		return camelot{Num: (7*pc+4)%12 + 1, Letter: 'A'}, true
	}
	return camelot{}, false
}
