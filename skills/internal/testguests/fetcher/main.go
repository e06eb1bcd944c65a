// Command fetcher is a test guest: it fetches {"url", "method"} through the
// host and reports the response ({"status", "body"}) or the error
// ({"error"}) as its output; it never fails on a refused request.
package main

import "github.com/agentbot/gateway/sdk/skill"

func main() {}

func init() {
	skill.Handle(func(c *skill.Call) error {
		var in struct {
			URL    string `json:"url"`
			Method string `json:"method"`
		}
		if err := c.InputJSON(&in); err != nil {
			return err
		}
		resp, err := c.Fetch(&skill.Request{Method: in.Method, URL: in.URL})
		if err != nil {
			return c.OutputJSON(map[string]any{"error": err.Error()})
		}
		return c.OutputJSON(map[string]any{"status": resp.Status, "body": string(resp.Body)})
	})
}
