// Command sandbox is a test guest that reports what of its host it can see:
// files, environment, arguments, the clock and randomness.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"time"

	"github.com/agentbot/gateway/sdk/skill"
)

func main() {}

func init() { skill.Handle(probe) }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func probe(c *skill.Call) error {
	_, readErr := os.ReadFile("/etc/hostname")
	_, dirErr := os.ReadDir("/")
	_, createErr := os.Create("/tmp/skill-was-here")
	wd, _ := os.Getwd()
	before := time.Now()
	time.Sleep(50 * time.Millisecond)
	random := make([]byte, 16)
	_, _ = rand.Read(random)
	host, _ := os.Hostname()
	return c.OutputJSON(map[string]any{
		"readFile": errString(readErr),
		"readDir":  errString(dirErr),
		"create":   errString(createErr),
		"home":     os.Getenv("HOME"),
		"path":     os.Getenv("PATH"),
		"environ":  os.Environ(),
		"args":     os.Args,
		"wd":       wd,
		"hostname": host,
		"now":      before.UnixNano(),
		"slept":    time.Since(before).String(),
		"random":   hex.EncodeToString(random),
	})
}
