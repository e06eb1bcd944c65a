// Package heartbeat runs agents' heartbeats: a per-agent schedule
// (30m|1h|2h|3h|6h|12h, kept in the store's heartbeats table) on which the
// agent gets one short, bounded turn and may tell its owner something.
//
// Jobs run on River (github.com/riverqueue/river) over the store's own
// database: PostgreSQL with riverpgxv5, the embedded SQLite with riversqlite.
// A leader-only periodic sweeper claims the due schedules and enqueues one job
// per due slot in the transaction that advances them, so each slot runs once
// however many gateway nodes share the database; slots that passed while no
// scheduler ran are coalesced into one run and logged as missed. A job runs
// the agent only when it is running and under its daily heartbeat budget; a
// reply of HEARTBEAT_OK means nothing to say and is dropped, any other reply
// is delivered to the agent's live channel. RATIONALE.md, "Heartbeats run on
// River".
package heartbeat

import (
	"context"
	"errors"
	"sort"
	"time"
)

// Trigger is the run trigger heartbeats record (agents.TriggerHeartbeat).
const Trigger = "heartbeat"

// OKReply is the reply that means "nothing needs the owner": recorded as ok,
// never delivered.
const OKReply = "HEARTBEAT_OK"

// DefaultPrompt is the message of a heartbeat whose schedule sets none.
const DefaultPrompt = "Heartbeat: this is a scheduled check-in, not a message from your owner. " +
	"If something needs their attention (use your memory and tools if that helps), say it briefly. " +
	"If nothing does, reply exactly " + OKReply + " and nothing else."

// MaxPromptChars bounds a schedule's prompt.
const MaxPromptChars = 4000

// DefaultFrequency is a new schedule's frequency.
const DefaultFrequency = 3 * time.Hour

// Frequencies are the periods a schedule may take, by their API names.
var Frequencies = map[string]time.Duration{
	"30m": 30 * time.Minute, "1h": time.Hour, "2h": 2 * time.Hour, "3h": 3 * time.Hour, "6h": 6 * time.Hour, "12h": 12 * time.Hour,
}

// FrequencyNames lists the names of Frequencies, shortest first.
func FrequencyNames() []string {
	out := make([]string, 0, len(Frequencies))
	for n := range Frequencies {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return Frequencies[out[i]] < Frequencies[out[j]] })
	return out
}

// FrequencyName is d's API name, or d itself ("90s") when it is none.
func FrequencyName(d time.Duration) string {
	for n, f := range Frequencies {
		if f == d {
			return n
		}
	}
	return d.String()
}

// Turn is one heartbeat for the agent to answer.
type Turn struct {
	UserID, AgentID string
	// Prompt is the message the agent gets.
	Prompt string
	// Slot is the scheduled time this turn stands for; Missed counts the
	// earlier slots coalesced into it.
	Slot   time.Time
	Missed int64
}

// Reply is what a turn produced. RunID names the recorded run.
type Reply struct {
	RunID string
	Text  string
}

// ErrNotRunning, from a Runner, means the agent was not running when the
// turn would start: the slot is skipped.
var ErrNotRunning = errors.New("heartbeat: the agent is not running")

// Runner runs one bounded agent turn. A turn that ran but ended in error
// returns its Reply (for the RunID) with the error.
type Runner func(ctx context.Context, t Turn) (*Reply, error)

// Deliverer hands a heartbeat event (JSON with "type":"heartbeat") to the
// agent's live channel.
type Deliverer func(ctx context.Context, agentID string, event []byte)
