package agents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentbot/gateway/core/api"
)

// Config is an agent's validated configuration (GET/PUT
// /api/agents/:id/config). Zero fields take the defaults below when a run
// starts; what is stored is what the owner sent, normalised.
type Config struct {
	// SystemPrompt is the agent's instructions, at most 20,000 characters.
	SystemPrompt string `json:"systemPrompt,omitempty"`
	// Temperature is passed to the model (0 to 2); nil leaves the model's default.
	Temperature *float64 `json:"temperature,omitempty"`
	// MaxRoundTrips bounds the model calls of one run (1 to 50) [10].
	MaxRoundTrips int `json:"maxRoundTrips,omitempty"`
	// RunTimeoutSeconds bounds a run's wall-clock time (5 to 600) [120].
	RunTimeoutSeconds int `json:"runTimeoutSeconds,omitempty"`
	// ToolTimeoutSeconds bounds one tool call (1 to 120) [30].
	ToolTimeoutSeconds int `json:"toolTimeoutSeconds,omitempty"`
	// ToolConcurrency bounds the tool calls of one turn run at once (1 to 8) [4].
	ToolConcurrency int `json:"toolConcurrency,omitempty"`
	// RunBudgetMicroUSD bounds what one run may spend on model and tool
	// calls, in micro-USD (1 to 100,000,000) [500,000 = $0.50].
	RunBudgetMicroUSD int64 `json:"runBudgetMicroUsd,omitempty"`
	// HistoryMessages is how many earlier messages a run shows the model
	// (0 to 200) [40]; -1 shows none.
	HistoryMessages int `json:"historyMessages,omitempty"`
	// PaidFetch, when set, offers the agent the paid_fetch tool: HTTP calls
	// to the listed hosts that may answer an HTTP 402 by paying from the
	// agent's own wallet. Off (nil) by default.
	PaidFetch *PaidFetchConfig `json:"paidFetch,omitempty"`
}

// PaidFetchConfig is the owner's side of paid_fetch.
type PaidFetchConfig struct {
	// Hosts are the host names (or IP literals) the agent may call, exact
	// and lower-case; 1 to 20.
	Hosts []string `json:"hosts"`
	// MaxPerCallMicroUSD is the most one call may pay, in micro-USD
	// (1 to 100,000,000); the model's own maxPriceUsd can only lower it.
	MaxPerCallMicroUSD int64 `json:"maxPerCallMicroUsd"`
}

// Defaults of a run's limits.
const (
	DefaultMaxRoundTrips     = 10
	DefaultRunTimeout        = 120 * time.Second
	DefaultToolTimeout       = 30 * time.Second
	DefaultToolConcurrency   = 4
	DefaultRunBudgetMicroUSD = 500_000
	DefaultHistoryMessages   = 40
)

// parseConfig validates a config object; errors are 400s naming the field.
// Unknown fields are refused, so that a misspelt limit is not silently
// ignored.
func parseConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return c, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, api.Validation(fmt.Sprintf("config: %s", jsonProblem(err)))
	}
	if dec.More() {
		return c, api.Validation("config must be one JSON object")
	}
	return c, c.validate()
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("field %q must be of type %s", te.Field, te.Type.String())
	}
	return err.Error()
}

func (c Config) validate() error {
	bad := func(format string, args ...any) error { return api.Validation(fmt.Sprintf(format, args...)) }
	switch {
	case utf8.RuneCountInString(c.SystemPrompt) > 20000:
		return bad("config.systemPrompt must be at most 20000 characters")
	case c.Temperature != nil && (*c.Temperature < 0 || *c.Temperature > 2):
		return bad("config.temperature must be between 0 and 2")
	case c.MaxRoundTrips < 0 || c.MaxRoundTrips > 50:
		return bad("config.maxRoundTrips must be from 1 to 50")
	case c.RunTimeoutSeconds != 0 && (c.RunTimeoutSeconds < 5 || c.RunTimeoutSeconds > 600):
		return bad("config.runTimeoutSeconds must be from 5 to 600")
	case c.ToolTimeoutSeconds < 0 || c.ToolTimeoutSeconds > 120:
		return bad("config.toolTimeoutSeconds must be from 1 to 120")
	case c.ToolConcurrency < 0 || c.ToolConcurrency > 8:
		return bad("config.toolConcurrency must be from 1 to 8")
	case c.RunBudgetMicroUSD < 0 || c.RunBudgetMicroUSD > 100_000_000:
		return bad("config.runBudgetMicroUsd must be from 1 to 100000000 (micro-USD)")
	case c.HistoryMessages < -1 || c.HistoryMessages > 200:
		return bad("config.historyMessages must be from -1 to 200")
	}
	if pf := c.PaidFetch; pf != nil {
		if len(pf.Hosts) == 0 || len(pf.Hosts) > 20 {
			return bad("config.paidFetch.hosts must list 1 to 20 hosts")
		}
		for _, h := range pf.Hosts {
			if !validHost(h) {
				return bad("config.paidFetch.hosts: %q is not a lower-case host name or IP address", h)
			}
		}
		if pf.MaxPerCallMicroUSD < 1 || pf.MaxPerCallMicroUSD > 100_000_000 {
			return bad("config.paidFetch.maxPerCallMicroUsd must be from 1 to 100000000 (micro-USD)")
		}
	}
	return nil
}

// validHost accepts a lower-case DNS name or an IP literal (IPv6 without
// brackets), as url.URL.Hostname returns them; no wildcards, ports or paths.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if len(h) == 0 || len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") || strings.Contains(h, "..") {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// limits are the config with defaults applied.
type limits struct {
	maxRoundTrips, toolConcurrency, history int
	runTimeout, toolTimeout                 time.Duration
	budget                                  int64
}

func (c Config) limits() limits {
	l := limits{maxRoundTrips: c.MaxRoundTrips, toolConcurrency: c.ToolConcurrency, history: c.HistoryMessages,
		runTimeout: time.Duration(c.RunTimeoutSeconds) * time.Second, toolTimeout: time.Duration(c.ToolTimeoutSeconds) * time.Second,
		budget: c.RunBudgetMicroUSD}
	if l.maxRoundTrips == 0 {
		l.maxRoundTrips = DefaultMaxRoundTrips
	}
	if l.toolConcurrency == 0 {
		l.toolConcurrency = DefaultToolConcurrency
	}
	if l.history == 0 {
		l.history = DefaultHistoryMessages
	} else if l.history < 0 {
		l.history = 0
	}
	if l.runTimeout == 0 {
		l.runTimeout = DefaultRunTimeout
	}
	if l.toolTimeout == 0 {
		l.toolTimeout = DefaultToolTimeout
	}
	if l.budget == 0 {
		l.budget = DefaultRunBudgetMicroUSD
	}
	return l
}
