// Command kvuser is a test guest over the KV: actions get, set, delete, list.
package main

import "github.com/agentbot/gateway/sdk/skill"

func main() {}

type params struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Prefix string `json:"prefix"`
}

func input(c *skill.Call) (params, error) {
	var p params
	err := c.InputJSON(&p)
	return p, err
}

func init() {
	skill.Route(map[string]skill.HandlerFunc{
		"get": func(c *skill.Call) error {
			p, err := input(c)
			if err != nil {
				return err
			}
			v, found, err := c.KV().Get(p.Key)
			if err != nil {
				return err
			}
			return c.OutputJSON(map[string]any{"found": found, "value": string(v)})
		},
		"set": func(c *skill.Call) error {
			p, err := input(c)
			if err != nil {
				return err
			}
			if err := c.KV().Set(p.Key, []byte(p.Value)); err != nil {
				return err
			}
			return c.OutputJSON(map[string]any{"ok": true})
		},
		"delete": func(c *skill.Call) error {
			p, err := input(c)
			if err != nil {
				return err
			}
			if err := c.KV().Delete(p.Key); err != nil {
				return err
			}
			return c.OutputJSON(map[string]any{"ok": true})
		},
		"list": func(c *skill.Call) error {
			p, err := input(c)
			if err != nil {
				return err
			}
			keys, err := c.KV().List(p.Prefix)
			if err != nil {
				return err
			}
			if keys == nil {
				keys = []string{}
			}
			return c.OutputJSON(map[string]any{"keys": keys})
		},
	})
}
