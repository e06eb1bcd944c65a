// Command spin is a test guest that loops: {"n"} rounds, or forever when n is
// 0 or missing; with {"indirect": true} the loop runs in a function called
// through a function value (call_indirect). It answers {"instanceCalls"},
// the calls its instance served.
package main

import "github.com/agentbot/gateway/sdk/skill"

func main() {}

var (
	calls int
	sink  uint64
)

// rounds is called through a function value, which Go compiles to
// call_indirect.
var rounds = func(n int) {
	x := uint64(1)
	for i := 0; n == 0 || i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		sink += x >> 33
	}
}

func init() {
	skill.Handle(func(c *skill.Call) error {
		calls++
		var in struct {
			N        int  `json:"n"`
			Indirect bool `json:"indirect"`
		}
		if err := c.InputJSON(&in); err != nil {
			return err
		}
		if in.Indirect {
			rounds(in.N)
		} else {
			x := uint64(1)
			for i := 0; in.N == 0 || i < in.N; i++ {
				x = x*6364136223846793005 + 1442695040888963407
				sink += x >> 33
			}
		}
		return c.OutputJSON(map[string]any{"instanceCalls": calls})
	})
}
