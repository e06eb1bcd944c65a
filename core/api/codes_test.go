package api

import (
	"regexp"
	"testing"
)

// Every code in the table has an error status and a message, and is the
// upper-case snake form clients match on.
func TestCodeTable(t *testing.T) {
	form := regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
	for c, s := range codes {
		if s.status < 400 || s.status > 599 || s.message == "" || !form.MatchString(string(c)) {
			t.Errorf("codes[%q] = %+v; want a 4xx/5xx status, a message and an UPPER_SNAKE code", c, s)
		}
		if e := c.Err(); e.Status != s.status || e.Code != c || e.Message != s.message {
			t.Errorf("%s.Err() = %+v", c, e)
		}
	}
	if Code("NOT_IN_THE_TABLE").Status() != 500 {
		t.Error("an unknown code's status is not 500")
	}
}
