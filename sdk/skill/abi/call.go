package abi

import (
	"context"
	"errors"
	"fmt"
)

// Capabilities are what the host grants one call; nil fields are not granted.
type Capabilities struct {
	// KV is the call's key-value store, already scoped by the runtime to
	// (user, agent, skill). nil: not granted (kv_* return ErrnoNotGranted).
	KV KV
	// Fetch makes the skill's HTTP requests; it enforces the manifest's host
	// allow-list and caps response bodies. nil: not granted.
	Fetch Fetcher
	// Config is the installation's configuration; config_get of a key not in
	// it (or of any key, when nil) returns ErrnoNotFound.
	Config map[string]string
	// Log receives the skill's log lines (level 0 debug … 3 error). nil: lines
	// are counted and dropped.
	Log func(level int, msg string)
}

// KV is a key-value store scoped to one (user, agent, skill). Errors are the
// backend's; the skill sees ErrnoHostFailure, never the error's text, except
// for ErrQuota (or an error wrapping it) from Set, which it sees as
// ErrnoQuota.
type KV interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, v []byte) error
	Delete(ctx context.Context, key string) error
	// List returns the keys starting with prefix, in ascending order.
	List(ctx context.Context, prefix string) ([]string, error)
}

// ErrQuota is what a KV returns from Set when the store's quota (keys or
// bytes) would be exceeded; the skill sees ErrnoQuota.
var ErrQuota = errors.New("abi: key-value quota exceeded")

// Fetcher makes an HTTP request for a skill. An error (refused host, transport
// failure) reaches the skill as the result {"error": err.Error()}, so it must
// not reveal more than the skill may know.
type Fetcher interface {
	Fetch(ctx context.Context, req *FetchRequest) (*FetchResponse, error)
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context, req *FetchRequest) (*FetchResponse, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context, req *FetchRequest) (*FetchResponse, error) {
	return f(ctx, req)
}

// FetchRequest is the JSON request of http_fetch.
type FetchRequest struct {
	Method  string            `json:"method"` // never empty: "" from the skill becomes GET
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body,omitempty"`
}

// FetchResponse is the JSON result of a successful http_fetch.
type FetchResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"body"`
}

// Limits bound one call. Zero fields take the defaults.
type Limits struct {
	MaxOutput    int // bytes of output; default 1 MiB
	MaxHostCalls int // budgeted host calls (output_write, log, kv_*, http_fetch, config_get); default 1000
	MaxKVValue   int // bytes per KV value; default 100 KiB
	MaxLogBytes  int // bytes of log lines per call, beyond which lines are dropped; default 64 KiB
}

// Default limits.
const (
	DefaultMaxOutput    = 1 << 20
	DefaultMaxHostCalls = 1000
	DefaultMaxKVValue   = 100 << 10
	DefaultMaxLogBytes  = 64 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxOutput <= 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	if l.MaxHostCalls <= 0 {
		l.MaxHostCalls = DefaultMaxHostCalls
	}
	if l.MaxKVValue <= 0 {
		l.MaxKVValue = DefaultMaxKVValue
	}
	if l.MaxLogBytes <= 0 {
		l.MaxLogBytes = DefaultMaxLogBytes
	}
	return l
}

// Failure is how a call failed, as the caller should see it.
type Failure struct {
	Status  int    `json:"status"` // 400–599
	Code    string `json:"code"`
	Message string `json:"error"`
}

func (f *Failure) String() string {
	if f == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%d %s %q", f.Status, f.Code, f.Message)
}

// Call is the state of one invocation bound to an instance: its input,
// grants and limits, the output so far, the failure, the pending result and
// the budget counters. Use a Call for one Run only.
type Call struct {
	input  []byte
	caps   Capabilities
	limits Limits

	output     []byte
	outputFull bool
	failure    *Failure
	pending    []byte // the result announced by the last kv_get, kv_list, http_fetch or config_get
	hostCalls  int
	overBudget bool
	logs       int
	logBytes   int
	hostErrs   []error
	started    bool
	ran        bool
	rc         uint32
}

// NewCall returns the state for one call.
func NewCall(input []byte, caps Capabilities, limits Limits) *Call {
	return &Call{input: input, caps: caps, limits: limits.withDefaults()}
}

// Result reports the call's outcome after Run: the output on success, or the
// failure; and the number of log lines the skill wrote (dropped ones
// included). Host limits take precedence over the skill's own failure.
func (c *Call) Result() (output []byte, failure *Failure, logs int) {
	switch {
	case c.outputFull:
		failure = &Failure{Status: 500, Code: CodeOutputTooLarge, Message: "skill output too large"}
	case c.overBudget:
		failure = &Failure{Status: 500, Code: CodeHostCallLimit, Message: "host call limit exceeded"}
	case c.failure != nil:
		failure = c.failure
	case c.rc != 0 || !c.ran:
		failure = &Failure{Status: 500, Code: CodeSkillFailed, Message: "skill failed"}
	default:
		output = c.output
		if output == nil {
			output = []byte{}
		}
	}
	return output, failure, c.logs
}

// HostError reports the errors of the KV backend during the call, which the
// skill saw only as ErrnoHostFailure; the runtime should log them.
func (c *Call) HostError() error { return errors.Join(c.hostErrs...) }

func (c *Call) hostFailed(err error) { c.hostErrs = append(c.hostErrs, err) }

// HostCalls reports how many budgeted host calls the skill made.
func (c *Call) HostCalls() int { return c.hostCalls }

type callKey struct{}

// WithCall binds call to ctx for the host functions; Run does it.
func WithCall(ctx context.Context, call *Call) context.Context {
	return context.WithValue(ctx, callKey{}, call)
}

func callFrom(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}
