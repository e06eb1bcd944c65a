package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/metrics"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/tracing"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/plugins"
	"github.com/agentbot/gateway/sdk/provider"
)

// meteredDispatcher counts and times the calls of a dispatcher: provider
// plugins (skill false) or skills (skill true).
type meteredDispatcher struct {
	gateway.Dispatcher
	m     *metrics.Metrics
	skill bool
}

func (d meteredDispatcher) kind() string {
	if d.skill {
		return "skill"
	}
	return "plugin"
}

func (d meteredDispatcher) record(id string, start time.Time, err error, answered *provider.Error) {
	outcome := metrics.OK
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		outcome = metrics.Timeout
	case err != nil:
		outcome = metrics.Error
	case answered == nil:
	case answered.Code == "SKILL_TIMEOUT":
		outcome = metrics.Timeout
	case answered.Code == "SKILL_CRASHED" || answered.Code == "SKILL_BAD_OUTPUT":
		outcome = metrics.Crashed
	default:
		outcome = metrics.Failed
	}
	if d.skill {
		d.m.SkillCall(strings.TrimPrefix(id, "skill:"), time.Since(start), outcome)
		return
	}
	d.m.PluginCall(id, time.Since(start), outcome)
}

func (d meteredDispatcher) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	start := time.Now()
	ctx, end := tracing.Call(ctx, d.kind(), req.Capability)
	resp, err := d.Dispatcher.Invoke(ctx, req)
	var answered *provider.Error
	failed := err
	if err == nil && resp != nil && resp.Error != nil {
		answered, failed = resp.Error, resp.Error
	}
	end(failed)
	d.record(req.Capability, start, err, answered)
	return resp, err
}

func (d meteredDispatcher) InvokeStream(ctx context.Context, req *provider.InvokeRequest, fn func(*provider.Chunk) error) error {
	start := time.Now()
	ctx, end := tracing.Call(ctx, d.kind(), req.Capability)
	err := d.Dispatcher.InvokeStream(ctx, req, fn)
	end(err)
	var answered *provider.Error
	noAnswer := err
	if errors.As(err, &answered) {
		noAnswer = nil // the stream ended with the target's own error
	}
	d.record(req.Capability, start, noAnswer, answered)
	return err
}

// newMetrics instruments what Mount assembled and serves GET /metrics:
// on AGENTBOT_METRICS_ADDR when set (its own listener), else on the main
// listener for admins.
func newMetrics(srv *server.Server, host *plugins.Host, g *gateway.Gateway, m *Mounted) ([]route.Route, error) {
	mx := srv.Metrics
	for i, d := range g.Dispatchers {
		switch d.(type) {
		case hostDispatcher, walletDispatcher:
			g.Dispatchers[i] = meteredDispatcher{Dispatcher: d, m: mx}
		case skillDispatcher:
			g.Dispatchers[i] = meteredDispatcher{Dispatcher: d, m: mx, skill: true}
		}
	}
	if m.Skills != nil {
		m.Skills.Started = mx.SkillStarted
	}
	if step, ok := g.Payer.(*payments.Step); ok {
		step.Record = func(method payments.Method, outcome string) { mx.Payment(string(method), outcome) }
	}
	status := func(pick func(plugins.Status) float64) func(context.Context) (map[string]float64, error) {
		return func(context.Context) (map[string]float64, error) {
			out := map[string]float64{}
			for _, s := range host.Status() {
				out[s.Name] = pick(s)
			}
			return out, nil
		}
	}
	mx.Gauge("plugin_up", "1 while the provider plugin's process serves.", "plugin", status(func(s plugins.Status) float64 {
		if s.Up {
			return 1
		}
		return 0
	}))
	mx.Gauge("plugin_restarts", "Times the provider plugin's process was restarted.", "plugin",
		status(func(s plugins.Status) float64 { return float64(s.Restarts) }))
	mx.Gauge("jobs_queued", "Background jobs waiting (River), by queue.", "queue", func(ctx context.Context) (map[string]float64, error) {
		counts, err := srv.Store.QueuedJobs(ctx)
		out := make(map[string]float64, len(counts))
		for q, n := range counts {
			out[q] = float64(n)
		}
		return out, err
	})

	srv.HealthComponents = func(ctx context.Context) map[string]any {
		var down []string
		st := host.Status()
		for _, s := range st {
			if !s.Up {
				down = append(down, s.Name)
			}
		}
		jobs := map[string]any{"state": "off"}
		if m.Heartbeats != nil {
			jobs["state"] = "running"
		}
		if counts, err := srv.Store.QueuedJobs(ctx); err == nil {
			var n int64
			for _, c := range counts {
				n += c
			}
			jobs["queued"] = n
		}
		return map[string]any{"plugins": map[string]any{"up": len(st) - len(down), "total": len(st), "down": down}, "jobs": jobs}
	}
	if addr := srv.Config.MetricsAddr; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", mx.Handler())
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				srv.Log.Error("metrics listener", "addr", addr, "err", err)
			}
		}()
		m.onClose(hs.Shutdown)
		return nil, nil
	}
	h := mx.Handler()
	return []route.Route{{Method: http.MethodGet, Path: "/metrics", Access: route.Admin, Response: route.Text("agentbot_http_requests_total{code=\"200\",method=\"GET\",route=\"/api/agents\"} 3"),
		Handler: func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
			h.ServeHTTP(w, r)
			return nil
		},
		Summary: "Prometheus exposition: requests and latency per route, plugin and skill calls, payment outcomes, rate-limit refusals, plugins up and restarted, jobs queued (admins; on `AGENTBOT_METRICS_ADDR` instead when set)"}}, nil
}

// Targets lists what the wrapped dispatcher serves, when it can.
func (d meteredDispatcher) Targets(ctx context.Context) ([]gateway.Target, error) {
	if l, ok := d.Dispatcher.(interface {
		Targets(ctx context.Context) ([]gateway.Target, error)
	}); ok {
		return l.Targets(ctx)
	}
	return nil, nil
}
