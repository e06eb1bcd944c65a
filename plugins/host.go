// Package plugins hosts provider plugins: it starts each declared binary after
// checking its SHA-256, supervises it (health checks, restart with exponential
// backoff, a circuit breaker), puts a deadline on every call, and stops it
// gracefully. A dead plugin's ids fail at once with ErrUnavailable; nothing is
// ever served from a plugin the host cannot vouch for.
package plugins

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/agentbot/gateway/sdk/provider"
)

// Spec declares one plugin.
type Spec struct {
	// Name identifies the plugin in logs and routes.
	Name string `json:"name"`
	// Path is the plugin binary.
	Path string `json:"path"`
	// SHA256 is the binary's hex digest; the plugin is refused if it differs.
	SHA256 string `json:"sha256"`
	// Config is sent to the plugin with Configure, as is.
	Config json.RawMessage `json:"config,omitempty"`
	// Timeout bounds each unary call (Options.CallTimeout when zero).
	Timeout Duration `json:"timeout,omitempty"`
	// StreamTimeout bounds each streaming call (Options.StreamTimeout when zero).
	StreamTimeout Duration `json:"streamTimeout,omitempty"`
}

// Duration is a time.Duration written as "30s" in JSON.
type Duration time.Duration

// UnmarshalJSON reads "30s"-style durations.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("bad duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// Options tune supervision. Zero values take the defaults in brackets.
type Options struct {
	Log           *slog.Logger
	CallTimeout   time.Duration // [30s]
	StreamTimeout time.Duration // [5m]
	// HealthInterval is how often a live plugin is pinged [5s]; a process exit
	// is noticed within ExitPoll [20ms].
	HealthInterval time.Duration
	ExitPoll       time.Duration
	BackoffMin     time.Duration // [50ms], doubled per failed start up to BackoffMax [30s]
	BackoffMax     time.Duration
	// BreakerThreshold consecutive transport failures open the breaker [5] for
	// BreakerCooldown [5s]; then one trial call is let through.
	BreakerThreshold int
	BreakerCooldown  time.Duration
}

func (o *Options) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&o.CallTimeout, 30*time.Second)
	set(&o.StreamTimeout, 5*time.Minute)
	set(&o.HealthInterval, 5*time.Second)
	set(&o.ExitPoll, 20*time.Millisecond)
	set(&o.BackoffMin, 50*time.Millisecond)
	set(&o.BackoffMax, 30*time.Second)
	set(&o.BreakerCooldown, 5*time.Second)
	if o.BreakerThreshold == 0 {
		o.BreakerThreshold = 5
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Errors of a call, for the gateway to map to HTTP.
var (
	// ErrUnknown: no plugin serves the id (404).
	ErrUnknown = errors.New("plugins: unknown id")
	// ErrUnavailable: the plugin is down, restarting, or its breaker is open
	// (502). It wraps provider.ErrUnavailable, so callers need only the SDK.
	ErrUnavailable = fmt.Errorf("plugins: %w", provider.ErrUnavailable)
)

// Capability is a served gateway id.
type Capability struct {
	provider.Capability
	Plugin string
}

// Route is a REST route a plugin serves.
type Route struct {
	provider.Route
	Plugin string
}

// Host supervises a set of plugins.
type Host struct {
	opts      Options
	instances map[string]*instance // by plugin name

	mu     sync.RWMutex
	byID   map[string]*instance
	caps   map[string]Capability
	routes []Route

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New prepares a host; Start launches the plugins.
func New(specs []Spec, o Options) (*Host, error) {
	o.defaults()
	h := &Host{opts: o, instances: map[string]*instance{}, byID: map[string]*instance{}, caps: map[string]Capability{}}
	for _, s := range specs {
		if s.Name == "" || s.Path == "" {
			return nil, fmt.Errorf("plugin %q: name and path are required", s.Name)
		}
		sum, err := hex.DecodeString(s.SHA256)
		if err != nil || len(sum) != 32 {
			return nil, fmt.Errorf("plugin %q: sha256 must be 64 hex characters", s.Name)
		}
		if _, dup := h.instances[s.Name]; dup {
			return nil, fmt.Errorf("plugin %q declared twice", s.Name)
		}
		inst := &instance{host: h, spec: s, sum: sum, log: o.Log.With("plugin", s.Name),
			timeout: orDefault(time.Duration(s.Timeout), o.CallTimeout), streamTimeout: orDefault(time.Duration(s.StreamTimeout), o.StreamTimeout),
			kick: make(chan struct{}, 1), ready: make(chan struct{})}
		h.instances[s.Name] = inst
	}
	return h, nil
}

func orDefault(v, d time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return d
}

// Start launches every plugin and waits (bounded by ctx) until each has either
// come up once or failed its first start. Plugins that fail keep being retried
// in the background, except a checksum mismatch, which is refused for good.
func (h *Host) Start(ctx context.Context) {
	runCtx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	for _, inst := range h.instances {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			inst.supervise(runCtx)
		}()
	}
	for _, inst := range h.instances {
		select {
		case <-inst.ready:
		case <-ctx.Done():
			return
		}
	}
}

// Close stops every plugin and waits for the supervisors to end.
func (h *Host) Close(ctx context.Context) error {
	if h.cancel != nil {
		h.cancel()
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// register records a plugin's metadata: its ids and routes. An id already
// served by another plugin stays with the first.
func (h *Host) register(inst *instance, m *provider.MetadataResponse) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range m.Capabilities {
		if other, ok := h.byID[c.ID]; ok && other != inst {
			inst.log.Warn("id already served by another plugin; ignored", "id", c.ID, "other", other.spec.Name)
			continue
		}
		h.byID[c.ID] = inst
		h.caps[c.ID] = Capability{Capability: c, Plugin: inst.spec.Name}
	}
	kept := h.routes[:0]
	for _, r := range h.routes {
		if r.Plugin != inst.spec.Name {
			kept = append(kept, r)
		}
	}
	h.routes = kept
	for _, r := range m.Routes {
		h.routes = append(h.routes, Route{Route: r, Plugin: inst.spec.Name})
	}
}

// Lookup returns the capability behind a gateway id.
func (h *Host) Lookup(id string) (Capability, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c, ok := h.caps[id]
	return c, ok
}

// Capabilities lists every served id, sorted.
func (h *Host) Capabilities() []Capability {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]Capability, 0, len(h.caps))
	for _, c := range h.caps {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Routes lists the REST routes the plugins declared.
func (h *Host) Routes() []Route {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return append([]Route(nil), h.routes...)
}

func (h *Host) instanceFor(id string) (*instance, error) {
	h.mu.RLock()
	inst, ok := h.byID[id]
	h.mu.RUnlock()
	if !ok {
		return nil, ErrUnknown
	}
	return inst, nil
}

// Invoke calls the plugin serving req.Capability, under its deadline.
func (h *Host) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	inst, err := h.instanceFor(req.Capability)
	if err != nil {
		return nil, err
	}
	var resp *provider.InvokeResponse
	err = inst.call(ctx, inst.timeout, func(ctx context.Context, c *provider.Client) error {
		var err error
		resp, err = c.Invoke(ctx, req)
		return err
	})
	return resp, err
}

// InvokeStream runs a streaming call, under its deadline.
func (h *Host) InvokeStream(ctx context.Context, req *provider.InvokeRequest, fn func(*provider.Chunk) error) error {
	inst, err := h.instanceFor(req.Capability)
	if err != nil {
		return err
	}
	return inst.call(ctx, inst.streamTimeout, func(ctx context.Context, c *provider.Client) error {
		return c.InvokeStream(ctx, req, fn)
	})
}

// HandleHTTP forwards a request to the plugin that declared the route.
func (h *Host) HandleHTTP(ctx context.Context, plugin string, req *provider.HTTPRequest, fn func(*provider.HTTPResponsePart) error) error {
	inst, ok := h.instances[plugin]
	if !ok {
		return ErrUnknown
	}
	return inst.call(ctx, inst.streamTimeout, func(ctx context.Context, c *provider.Client) error {
		return c.HandleHTTP(ctx, req, fn)
	})
}

// DirectClient returns the live connection to a plugin, bypassing deadlines
// and the breaker: for diagnostics and benchmarks, never for serving.
func (h *Host) DirectClient(plugin string) (*provider.Client, bool) {
	inst, ok := h.instances[plugin]
	if !ok {
		return nil, false
	}
	inst.mu.RLock()
	defer inst.mu.RUnlock()
	if inst.proc == nil {
		return nil, false
	}
	return inst.proc.Client(), true
}

// Status describes each plugin for operators.
type Status struct {
	Name     string `json:"name"`
	Up       bool   `json:"up"`
	Pid      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
	Breaker  string `json:"breaker"`
	Error    string `json:"error,omitempty"`
}

// Status reports every plugin's state.
func (h *Host) Status() []Status {
	out := make([]Status, 0, len(h.instances))
	for _, inst := range h.instances {
		out = append(out, inst.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
