// Command echo is a test guest: it answers with its input, how many calls its
// instance has served (a package variable: 1 in a fresh instance) and, when
// the KV is granted, a counter it keeps there (key "count").
package main

import (
	"encoding/json"
	"strconv"

	"github.com/agentbot/gateway/sdk/skill"
)

func main() {}

var calls int

func init() {
	skill.Handle(func(c *skill.Call) error {
		calls++
		out := map[string]any{"input": json.RawMessage(c.Input()), "instanceCalls": calls, "kvCount": nil}
		kv := c.KV()
		v, _, err := kv.Get("count")
		if err == nil {
			n, _ := strconv.Atoi(string(v))
			n++
			if err := kv.Set("count", []byte(strconv.Itoa(n))); err != nil {
				return err
			}
			out["kvCount"] = n
		}
		return c.OutputJSON(out)
	})
}
