package loop

import "time"

// Defaults for the zero values of Limits.
const (
	DefaultMaxRoundTrips = 10
	DefaultDeadline      = 2 * time.Minute
	DefaultToolTimeout   = 30 * time.Second
	DefaultConcurrency   = 4
	DefaultMaxRepeats    = 3
)

// Limits bound a run. Zero (or negative) values take the defaults above,
// except BudgetMicroUSD.
type Limits struct {
	// MaxRoundTrips is the number of model calls a run may make.
	MaxRoundTrips int
	// Deadline bounds the whole run, tools included.
	Deadline time.Duration
	// ToolTimeout bounds each tool call; a call that takes longer gets an
	// error result and the run goes on.
	ToolTimeout time.Duration
	// BudgetMicroUSD is what a run may spend on model and tool calls. A call
	// is refused when what was spent plus its price would exceed it. Zero
	// allows free calls only, so a forgotten budget fails closed; pass
	// math.MaxInt64 for no limit.
	BudgetMicroUSD int64
	// Concurrency is how many calls of one assistant message run at a time.
	Concurrency int
	// MaxRepeats stops the run when the same call (name and arguments, the
	// latter compared as canonical JSON) is requested this many times.
	MaxRepeats int
}

func (l Limits) withDefaults() Limits {
	if l.MaxRoundTrips <= 0 {
		l.MaxRoundTrips = DefaultMaxRoundTrips
	}
	if l.Deadline <= 0 {
		l.Deadline = DefaultDeadline
	}
	if l.ToolTimeout <= 0 {
		l.ToolTimeout = DefaultToolTimeout
	}
	if l.BudgetMicroUSD < 0 {
		l.BudgetMicroUSD = 0
	}
	if l.Concurrency <= 0 {
		l.Concurrency = DefaultConcurrency
	}
	if l.MaxRepeats <= 0 {
		l.MaxRepeats = DefaultMaxRepeats
	}
	return l
}
