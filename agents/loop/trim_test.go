package loop

import (
	"fmt"
	"strings"
	"testing"
)

func user(s string) Message   { return Message{Role: RoleUser, Content: s} }
func answer(s string) Message { return Message{Role: RoleAssistant, Content: s} }
func asks(ids ...string) Message {
	m := Message{Role: RoleAssistant}
	for _, id := range ids {
		m.ToolCalls = append(m.ToolCalls, ToolCall{ID: id, Name: "t", Arguments: "{}"})
	}
	return m
}
func result(id string) Message {
	return Message{Role: RoleTool, ToolCallID: id, Name: "t", Content: "r"}
}

// show names a history's messages by content, tool call ids or result id.
func show(ms []Message) string {
	var s []string
	for _, m := range ms {
		switch {
		case m.Role == RoleTool:
			s = append(s, "r:"+m.ToolCallID)
		case len(m.ToolCalls) > 0:
			s = append(s, "a:"+m.ToolCalls[0].ID)
		default:
			s = append(s, m.Content)
		}
	}
	return strings.Join(s, " ")
}

func TestTrim(t *testing.T) {
	history := []Message{
		user("u1"), asks("c1"), result("c1"), answer("a1"),
		user("u2"), answer("a2"),
		user("u3"), asks("c3", "c4"), result("c3"), result("c4"), answer("a3"),
	}
	for _, c := range []struct {
		history           []Message
		maxMessages, size int
		want              string
	}{
		{history, 0, 0, "u1 a:c1 r:c1 a1 u2 a2 u3 a:c3 r:c3 r:c4 a3"},
		{history, 11, 0, "u1 a:c1 r:c1 a1 u2 a2 u3 a:c3 r:c3 r:c4 a3"},
		{history, 10, 0, "u2 a2 u3 a:c3 r:c3 r:c4 a3"},
		{history, 7, 0, "u2 a2 u3 a:c3 r:c3 r:c4 a3"},
		{history, 6, 0, "u3 a:c3 r:c3 r:c4 a3"},
		{history, 5, 0, "u3 a:c3 r:c3 r:c4 a3"},
		{history, 4, 0, ""}, // the last turn alone is too long
		// Sizes: u3 2, a:c3 a:c4 (2+1+2)*2=10, r:c3 r:c4 (1+2+1)*2=8, a3 2 → 22; u2 a2 → 4 more.
		{history, 0, 26, "u2 a2 u3 a:c3 r:c3 r:c4 a3"},
		{history, 0, 25, "u3 a:c3 r:c3 r:c4 a3"},
		{history, 0, 22, "u3 a:c3 r:c3 r:c4 a3"},
		{history, 0, 21, ""},
		{history, 6, 26, "u3 a:c3 r:c3 r:c4 a3"},
		// A history that does not start a turn loses its head.
		{[]Message{result("c0"), answer("a0"), user("u1"), answer("a1")}, 0, 0, "u1 a1"},
		{[]Message{asks("c0"), result("c0")}, 0, 0, ""},
		{nil, 3, 3, ""},
	} {
		got := Trim(c.history, c.maxMessages, c.size)
		if show(got) != c.want {
			t.Errorf("Trim(%s, %d, %d) = %q; want %q", show(c.history), c.maxMessages, c.size, show(got), c.want)
		}
	}
}

// Whatever the limits, Trim returns a suffix that starts with a user message
// and keeps each assistant message with all of its results.
func TestTrimKeepsPairs(t *testing.T) {
	var history []Message
	for turn := range 6 {
		history = append(history, user(fmt.Sprint("u", turn)))
		for step := range turn % 3 {
			id := fmt.Sprintf("c%d.%d", turn, step)
			history = append(history, asks(id, id+"b"), result(id), result(id+"b"))
		}
		history = append(history, answer(fmt.Sprint("a", turn)))
	}
	for n := 0; n <= len(history)+1; n++ {
		for _, size := range []int{0, 10, 40, 80, 1000} {
			got := Trim(history, n, size)
			if len(got) == 0 {
				continue
			}
			if got[0].Role != RoleUser || (n > 0 && len(got) > n) {
				t.Errorf("Trim(…, %d, %d) = %s", n, size, show(got))
			}
			if &got[len(got)-1] != &history[len(history)-1] {
				t.Errorf("Trim(…, %d, %d) is not a suffix", n, size)
			}
			for i, m := range got {
				for j := range m.ToolCalls {
					if i+1+j >= len(got) || got[i+1+j].ToolCallID != m.ToolCalls[j].ID {
						t.Errorf("Trim(…, %d, %d) = %s separates a call from its result", n, size, show(got))
					}
				}
			}
		}
	}
}
