// Command verbs is a test guest with one action per verb of package skill.
package main

import (
	"errors"

	"github.com/agentbot/gateway/sdk/skill"
)

func main() {}

func init() {
	skill.Route(map[string]skill.HandlerFunc{
		"raw":    raw,
		"json":   jsonSum,
		"fail":   fail,
		"error":  func(*skill.Call) error { return errors.New("plain error") },
		"panic":  func(*skill.Call) error { panic("boom") },
		"log":    logLines,
		"kv":     kv,
		"config": config,
		"fetch":  fetch,
	})
}

// raw writes the input back, in two writes.
func raw(c *skill.Call) error {
	in := c.Input()
	if err := c.Output(in[:len(in)/2]); err != nil {
		return err
	}
	return c.Output(in[len(in)/2:])
}

func jsonSum(c *skill.Call) error {
	var in struct {
		Numbers []int  `json:"numbers"`
		Label   string `json:"label"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	sum := 0
	for _, n := range in.Numbers {
		sum += n
	}
	return c.OutputJSON(map[string]any{"label": in.Label, "sum": sum})
}

func fail(c *skill.Call) error {
	var in struct {
		Code    string `json:"code"`
		Status  int    `json:"status"`
		Message string `json:"message"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	_ = c.Output([]byte("discarded"))
	if in.Code == "" {
		return skill.Fail("bad %s", in.Message)
	}
	return skill.Failf(in.Code, in.Status, "%s", in.Message)
}

func logLines(c *skill.Call) error {
	c.Log(skill.LevelDebug, "debug line")
	c.Log(skill.LevelInfo, "info line")
	c.Logf(skill.LevelWarn, "warn %d", 2)
	c.Logf(skill.LevelError, "error %s", "three")
	return nil
}

// kv runs one store operation and reports its result.
func kv(c *skill.Call) error {
	var in struct {
		Op    string `json:"op"`
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	store := c.KV()
	switch in.Op {
	case "get":
		v, ok, err := store.Get(in.Key)
		if err != nil {
			return err
		}
		return c.OutputJSON(map[string]any{"found": ok, "value": string(v)})
	case "set":
		return store.Set(in.Key, []byte(in.Value))
	case "delete":
		return store.Delete(in.Key)
	case "list":
		keys, err := store.List(in.Key)
		if err != nil {
			return err
		}
		return c.OutputJSON(map[string]any{"keys": keys})
	}
	return skill.Fail("unknown op %q", in.Op)
}

func config(c *skill.Call) error {
	var in struct {
		Key string `json:"key"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	v, ok := c.Config(in.Key)
	return c.OutputJSON(map[string]any{"value": v, "ok": ok})
}

func fetch(c *skill.Call) error {
	var in struct {
		Request skill.Request `json:"request"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	res, err := c.Fetch(&in.Request)
	if err != nil {
		return err
	}
	return c.OutputJSON(map[string]any{"status": res.Status, "headers": res.Headers, "body": string(res.Body)})
}
