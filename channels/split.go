package channels

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Split cuts text into parts of at most max UTF-16 code units each (the
// strictest way channels count: Telegram counts UTF-16 units, the others
// characters, and a character is at least one unit), preferring to cut
// after a paragraph, then a line, then a sentence, then a space, and never
// inside a character. Whitespace at the cuts is dropped; empty parts are
// never returned.
func Split(text string, max int) []string {
	if max < 1 {
		max = 1
	}
	var parts []string
	for text = strings.TrimSpace(text); text != ""; {
		n := prefixUnits(text, max)
		if n == len(text) {
			parts = append(parts, text)
			break
		}
		cut := bestCut(text[:n])
		parts = append(parts, strings.TrimRightFunc(text[:cut], isSpace))
		text = strings.TrimLeftFunc(text[cut:], isSpace)
	}
	return parts
}

// prefixUnits is the byte length of text's longest prefix of at most max
// UTF-16 code units (at least one character).
func prefixUnits(text string, max int) int {
	units := 0
	for i, r := range text {
		units += utf16.RuneLen(r)
		if r == utf8.RuneError || utf16.RuneLen(r) < 0 {
			units++ // an invalid byte travels as U+FFFD
		}
		if units > max {
			if i == 0 {
				_, size := utf8.DecodeRuneInString(text)
				return size
			}
			return i
		}
	}
	return len(text)
}

// bestCut is where to end a part within head (the longest prefix that
// fits): after the last paragraph break, line break, sentence end or space
// in its second half, else at its end.
func bestCut(head string) int {
	half := len(head) / 2
	for _, sep := range []string{"\n\n", "\n", ". ", "! ", "? ", " "} {
		if i := strings.LastIndex(head, sep); i >= half && i > 0 {
			return i + len(sep)
		}
	}
	return len(head)
}

func isSpace(r rune) bool { return r == ' ' || r == '\n' || r == '\t' || r == '\r' }
