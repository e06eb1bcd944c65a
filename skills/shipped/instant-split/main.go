// Command instant-split is the shipped skill that splits royalties in USDC
// between an artist's collaborators by percentage, holding back any share
// below a per-recipient minimum threshold (default $50). Actions
// (POST /api/skills/instant-split {action, …}):
//
//	create_split_rule {splits[{recipientAddress, percentage, role?, name?}], threshold?=50}
//	                                   → {success, rule{id:"rule_<8hex>", splits, minimumThreshold}, message}
//	list_rules                         → {success, rules}
//	create_split {amount, ruleId, trigger?=manual, release?}
//	                                   → {success, split, message}: a pending split of amount USDC
//	list_pending                       → {success, splits}
//	execute_split {splitId}            → {success, splitId, executedAt, results, summary{total, successful, failed, skipped}}
//	get_balance                        → {success, balance, pending, queued, currency, network}
//	simulate {streams=100000, rate=0.003}
//	                                   → {success, input, estimatedEarnings, currency, splits, note}
//
// Rules and splits live in the skill's key-value store, scoped by the
// platform to the calling user and agent; the mock split_1 of the original
// skill (50 USDC at 50/25/25 with a $50 threshold) is seeded on first use.
// Amounts are integer micro-units of USDC, accepted as decimal strings or
// JSON numbers and rendered as decimal strings. Shares are floored to a
// micro-unit and the remainder goes to the first recipient, so they always
// sum to the split's amount.
//
// The sandbox has no chain access, clock or randomness: executing a split
// queues its transfers (status pending_transfer, no transaction hash) for
// the platform to send, ids come from counters in the store, and timestamps
// from the caller's optional "now" field.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o instant-split.wasm .
package main

import "github.com/agentbot/gateway/sdk/skill"

func main() {}

func init() {
	skill.Route(map[string]skill.HandlerFunc{
		"create_split_rule": createSplitRule,
		"list_rules":        listRules,
		"create_split":      createSplit,
		"list_pending":      listPending,
		"execute_split":     executeSplit,
		"get_balance":       getBalance,
		"simulate":          simulate,
	})
}
