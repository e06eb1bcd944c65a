// Command spin is a test guest that loops: {"n"} rounds, or forever when n is
// 0 or missing. It answers {"instanceCalls"}, the calls its instance served.
package main

import "github.com/agentbot/gateway/sdk/skill"

func main() {}

var (
	calls int
	sink  uint64
)

func init() {
	skill.Handle(func(c *skill.Call) error {
		calls++
		var in struct {
			N int `json:"n"`
		}
		if err := c.InputJSON(&in); err != nil {
			return err
		}
		x := uint64(1)
		for i := 0; in.N == 0 || i < in.N; i++ {
			x = x*6364136223846793005 + 1442695040888963407
			sink += x >> 33
		}
		return c.OutputJSON(map[string]any{"instanceCalls": calls})
	})
}
