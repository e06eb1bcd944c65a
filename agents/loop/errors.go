package loop

import "fmt"

// The codes a run can end with, besides a model's own (Error.Code).
const (
	CodeRoundTripsExceeded = "ROUND_TRIPS_EXCEEDED"
	CodeDeadlineExceeded   = "DEADLINE_EXCEEDED"
	CodeBudgetExceeded     = "BUDGET_EXCEEDED"
	CodeRepeatedToolCall   = "REPEATED_TOOL_CALL"
	CodeModelError         = "MODEL_ERROR"
	CodeCancelled          = "CANCELLED"
	// CodeTranscriptError: the conversation could not be stored.
	CodeTranscriptError = "TRANSCRIPT_ERROR"
	// CodeInvalidRun: the Run lacks a Model or a Transcript (a wiring bug).
	CodeInvalidRun = "INVALID_RUN"
)

// Error is a failure with a machine-readable code. A Model returns it for
// failures the caller should see as they are; the run then ends with its Code,
// Message and Status (an HTTP status, 0 if none).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }
