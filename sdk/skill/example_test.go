package skill_test

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/agentbot/gateway/sdk/skill"
)

// A skill's main package registers its handler from init; main is required
// by Go but never run. Build it with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o skill.wasm .
func ExampleHandle() {
	// func main() {}
	// func init() { skill.Handle(greet) }
	greet := func(c *skill.Call) error {
		var in struct {
			Name string `json:"name"`
		}
		if err := c.InputJSON(&in); err != nil {
			return err
		}
		if in.Name == "" {
			return skill.Fail("name is required")
		}
		c.Logf(skill.LevelInfo, "greeting %s", in.Name)
		return c.OutputJSON(map[string]string{"greeting": "Hello, " + in.Name})
	}
	skill.Handle(greet)
}

// Skills called as POST /api/skills/:name {action, …} dispatch on the
// action; the rest of the input is theirs to decode.
func ExampleRoute() {
	// func init() { skill.Route(map[string]skill.HandlerFunc{"count": count}) }
	count := func(c *skill.Call) error {
		store := c.KV() // scoped to the calling user, agent and skill
		v, _, err := store.Get("count")
		if err != nil {
			return err
		}
		n, _ := strconv.Atoi(string(v))
		n++
		if err := store.Set("count", []byte(strconv.Itoa(n))); err != nil {
			return err
		}
		return c.OutputJSON(map[string]int{"count": n})
	}
	skill.Route(map[string]skill.HandlerFunc{"count": count})
}

// Failf chooses the status and code the caller sees.
func ExampleFailf() {
	err := skill.Failf("AMOUNT_TOO_SMALL", 422, "amount %d is below the minimum of %d", 10, 50)
	var e *skill.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, e.Message)
	}
	// Output: 422 AMOUNT_TOO_SMALL amount 10 is below the minimum of 50
}

// Fetch goes through the host, which allows only the manifest's hosts.
func ExampleCall_Fetch() {
	price := func(c *skill.Call) error {
		res, err := c.Fetch(&skill.Request{URL: "https://api.example.com/price?asset=USDC"})
		if err != nil {
			return err
		}
		if res.Status != 200 {
			return skill.Failf("UPSTREAM_ERROR", 502, "price service answered %d", res.Status)
		}
		return c.Output(res.Body)
	}
	_ = price
}
