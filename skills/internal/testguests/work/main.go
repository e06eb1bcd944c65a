// Command work is a CPU-bound test guest: {"n"} rounds of an FNV-style hash
// over a small buffer, with no host calls in the loop. It answers {"sum"}.
package main

import "github.com/agentbot/gateway/sdk/skill"

func main() {}

func init() {
	skill.Handle(func(c *skill.Call) error {
		var in struct {
			N int `json:"n"`
		}
		if err := c.InputJSON(&in); err != nil {
			return err
		}
		var buf [64]byte
		h := uint64(14695981039346656037)
		for i := 0; i < in.N; i++ {
			b := &buf[i&63]
			*b ^= byte(h)
			h = (h ^ uint64(*b)) * 1099511628211
		}
		return c.OutputJSON(map[string]any{"sum": h})
	})
}
