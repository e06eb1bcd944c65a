// Command slowinit is a test guest whose initialisation never ends: its init
// function spins, so instantiating it (_initialize) runs until the host stops
// it.
package main

import "github.com/agentbot/gateway/sdk/skill"

func main() {}

var spins int

func init() {
	for {
		spins++
	}
}

func init() {
	skill.Handle(func(c *skill.Call) error { return c.Output([]byte(`"never"`)) })
}
