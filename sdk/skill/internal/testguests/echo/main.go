// Command echo is a test guest: it writes its input back unchanged.
package main

import "github.com/agentbot/gateway/sdk/skill"

func main() {}

func init() {
	skill.Handle(func(c *skill.Call) error { return c.Output(c.Input()) })
}
