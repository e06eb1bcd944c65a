package skills_test

import (
	"testing"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/sdk/skill/abi"
)

// The failures the host sets on a skill's behalf are answered with the
// status and code the server's code table (and so its OpenAPI document)
// gives them.
func TestHostFailureCodesAreInTheTable(t *testing.T) {
	for _, c := range []string{abi.CodeOutputTooLarge, abi.CodeHostCallLimit, abi.CodeSkillFailed} {
		if got := api.Code(c); got.Message() == "" || got.Status() != 500 {
			t.Errorf("api.Code(%q) = status %d, message %q; want in the table with 500, the status the host sets (abi.Call)",
				c, got.Status(), got.Message())
		}
	}
}
