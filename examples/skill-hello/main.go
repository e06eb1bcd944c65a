// Command skill-hello is the smallest complete Agentbot skill. It answers two
// actions: "hello" greets {"name"}, and "count" increments a counter kept in
// the skill's key-value store, which the platform scopes to the calling user
// and agent.
//
// Build it as a WebAssembly reactor and publish it with its manifest:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hello.wasm .
//	curl -H "Authorization: Bearer $AGENTBOT_KEY" \
//	  -F module=@hello.wasm -F manifest=@manifest.json \
//	  https://agentbot.example/api/skills/publish
//
// then call it:
//
//	curl -H "Authorization: Bearer $AGENTBOT_KEY" -H 'Content-Type: application/json' \
//	  -d '{"action":"hello","name":"Ada"}' https://agentbot.example/api/skills/hello
//
// main_test.go runs the built module through package skilltest.
package main

import (
	"strconv"

	"github.com/agentbot/gateway/sdk/skill"
)

func init() {
	skill.Route(map[string]skill.HandlerFunc{
		"hello": hello, // {"action": "hello", "name": "Ada"}
		"count": count, // {"action": "count"}: a per-user counter in the skill's KV
	})
}

func main() {} // required by Go; never run

// hello: {"action":"hello","name":"Ada"} → {"greeting":"Hello, Ada!"}.
func hello(c *skill.Call) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	if in.Name == "" {
		return skill.Fail("name is required")
	}
	return c.OutputJSON(map[string]string{"greeting": "Hello, " + in.Name + "!"})
}

// count: {"action":"count"} → {"count":n}, n going up by one per call.
func count(c *skill.Call) error {
	kv := c.KV()
	v, _, err := kv.Get("count")
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(string(v))
	n++
	if err := kv.Set("count", []byte(strconv.Itoa(n))); err != nil {
		return err
	}
	return c.OutputJSON(map[string]int{"count": n})
}
