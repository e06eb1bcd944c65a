// Command flood is a test guest that writes {"bytes"} of output (default
// 100 MB) in {"chunk"}-byte writes (default 64 KiB); with {"ignore": true} it
// carries on after the host refuses a write.
package main

import "github.com/agentbot/gateway/sdk/skill"

func main() {}

func init() {
	skill.Handle(func(c *skill.Call) error {
		in := struct {
			Bytes  int  `json:"bytes"`
			Chunk  int  `json:"chunk"`
			Ignore bool `json:"ignore"`
		}{Bytes: 100_000_000, Chunk: 64 << 10}
		if err := c.InputJSON(&in); err != nil {
			return err
		}
		chunk := make([]byte, in.Chunk)
		for i := range chunk {
			chunk[i] = 'x'
		}
		for written := 0; written < in.Bytes; written += len(chunk) {
			if err := c.Output(chunk); err != nil && !in.Ignore {
				return err
			}
		}
		return nil
	})
}
