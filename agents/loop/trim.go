package loop

// Trim returns the longest suffix of history that starts a turn (a user
// message) and holds at most maxMessages messages and maxBytes bytes
// (content, tool call names, ids and arguments); a limit ≤ 0 is no limit.
// Cutting only where a user message starts keeps every assistant message
// with its tool results and never leaves a tool message first. When even the
// last turn does not fit, the result is empty. The result shares history's
// backing array.
func Trim(history []Message, maxMessages, maxBytes int) []Message {
	start := len(history)
	count, size := 0, 0
	for i := len(history) - 1; i >= 0; i-- {
		count++
		size += messageBytes(history[i])
		if (maxMessages > 0 && count > maxMessages) || (maxBytes > 0 && size > maxBytes) {
			break
		}
		if history[i].Role == RoleUser {
			start = i
		}
	}
	return history[start:]
}

func messageBytes(m Message) int {
	n := len(m.Content) + len(m.ToolCallID) + len(m.Name)
	for _, c := range m.ToolCalls {
		n += len(c.ID) + len(c.Name) + len(c.Arguments)
	}
	return n
}
