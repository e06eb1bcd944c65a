package agents

import (
	"testing"

	"github.com/agentbot/gateway/agents/loop"
	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/store"
)

// A run that ends in one of the loop's own codes is answered with the status
// the server's code table (and so the OpenAPI document) gives that code.
func TestRunErrorsAnswerWithTheTablesStatus(t *testing.T) {
	for _, code := range []string{loop.CodeRoundTripsExceeded, loop.CodeDeadlineExceeded, loop.CodeBudgetExceeded,
		loop.CodeRepeatedToolCall, loop.CodeModelError, loop.CodeCancelled, loop.CodeTranscriptError} {
		res := &RunResult{Run: &store.AgentRun{ID: "run_1", AgentID: "agt_1"}, Outcome: loop.Outcome{Status: "error", Code: code}}
		e := runError(res)
		if table := api.Code(code); table.Message() == "" || e.Status != table.Status() {
			t.Errorf("run ending in %s: answered %d; the code table has %d (%q)", code, e.Status, table.Status(), table.Message())
		}
	}
}
