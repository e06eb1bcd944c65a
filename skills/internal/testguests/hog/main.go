// Command hog is a test guest that allocates {"chunk"} bytes (default 1 MiB)
// {"times"} times (default 1024), touching every page and keeping it all.
package main

import "github.com/agentbot/gateway/sdk/skill"

func main() {}

var hoard [][]byte

func init() {
	skill.Handle(func(c *skill.Call) error {
		in := struct {
			Chunk int `json:"chunk"`
			Times int `json:"times"`
		}{Chunk: 1 << 20, Times: 1024}
		if err := c.InputJSON(&in); err != nil {
			return err
		}
		for range in.Times {
			b := make([]byte, in.Chunk)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			hoard = append(hoard, b)
		}
		return c.OutputJSON(map[string]any{"allocated": in.Chunk * in.Times})
	})
}
