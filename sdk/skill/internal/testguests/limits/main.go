// Command limits is a test guest that runs into the host's limits.
package main

import (
	"github.com/agentbot/gateway/sdk/skill"
)

func main() {}

func init() {
	skill.Route(map[string]skill.HandlerFunc{
		"flood":     flood,
		"kv-spin":   kvSpin,
		"log-spin":  logSpin,
		"big-value": bigValue,
		"alloc":     alloc,
	})
}

type params struct {
	Bytes  int  `json:"bytes"`
	Chunk  int  `json:"chunk"`
	Times  int  `json:"times"`
	Ignore bool `json:"ignore"` // carry on (and succeed) regardless of errors
}

func input(c *skill.Call) (params, error) {
	var p params
	err := c.InputJSON(&p)
	return p, err
}

// flood writes Bytes of output in Chunk-sized writes.
func flood(c *skill.Call) error {
	p, err := input(c)
	if err != nil {
		return err
	}
	chunk := make([]byte, p.Chunk)
	for i := range chunk {
		chunk[i] = 'x'
	}
	for written := 0; written < p.Bytes; written += len(chunk) {
		if err := c.Output(chunk); err != nil && !p.Ignore {
			return err
		}
	}
	return nil
}

// kvSpin reads a key Times times.
func kvSpin(c *skill.Call) error {
	p, err := input(c)
	if err != nil {
		return err
	}
	for range p.Times {
		if _, _, err := c.KV().Get("k"); err != nil && !p.Ignore {
			return err
		}
	}
	return c.Output([]byte("done"))
}

// logSpin logs Times lines, each Bytes long.
func logSpin(c *skill.Call) error {
	p, err := input(c)
	if err != nil {
		return err
	}
	line := make([]byte, p.Bytes)
	for i := range line {
		line[i] = 'l'
	}
	for range p.Times {
		c.Log(skill.LevelInfo, string(line))
	}
	return c.Output([]byte("done"))
}

// bigValue stores a value of Bytes bytes.
func bigValue(c *skill.Call) error {
	p, err := input(c)
	if err != nil {
		return err
	}
	return c.KV().Set("big", make([]byte, p.Bytes))
}

var hoard [][]byte

// alloc allocates Chunk bytes Times times and keeps them all.
func alloc(c *skill.Call) error {
	p, err := input(c)
	if err != nil {
		return err
	}
	for range p.Times {
		b := make([]byte, p.Chunk)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hoard = append(hoard, b)
	}
	return c.Output([]byte("allocated"))
}
