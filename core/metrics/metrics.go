// Package metrics is the gateway's Prometheus instrumentation: requests and
// latency per route, provider plugin calls, skill calls, payment outcomes,
// rate-limit refusals, and gauges read at scrape time (plugins up and
// restarted, jobs queued). One Metrics serves one node; GET /metrics (admins,
// or a separate listener) exposes it. See the README's "Operations".
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/route"
)

const ns = "agentbot"

// Metrics holds one node's series.
type Metrics struct {
	Registry *prometheus.Registry

	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inflight    prometheus.Gauge
	plugin      *prometheus.CounterVec
	pluginTime  *prometheus.HistogramVec
	skill       *prometheus.CounterVec
	skillTime   *prometheus.HistogramVec
	skillStarts *prometheus.HistogramVec
	payments    *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
}

// Latency buckets, in seconds: a gateway call is tens of microseconds of its
// own plus what it calls (a model: seconds).
var buckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New registers the series (and the Go runtime's and the process's).
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{Registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "http_requests_total",
			Help: "HTTP requests by route (the route table's path), method and status code."}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "http_request_duration_seconds",
			Help: "Time to the end of the response, by route and method.", Buckets: buckets}, []string{"route", "method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "http_requests_in_flight",
			Help: "Requests being served."}),
		plugin: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "plugin_calls_total",
			Help: "Provider plugin calls by gateway id and outcome: ok, failed (the plugin answered with an error), timeout, error (no answer: unavailable, cancelled)."}, []string{"plugin", "outcome"}),
		pluginTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "plugin_call_duration_seconds",
			Help: "Provider plugin call time by gateway id.", Buckets: buckets}, []string{"plugin"}),
		skill: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "skill_calls_total",
			Help: "Skill calls by skill and outcome: ok, failed (the skill's own failure or a host limit), crashed (a trap, out of memory, output not JSON), timeout, error (the platform's)."}, []string{"skill", "outcome"}),
		skillTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "skill_call_duration_seconds",
			Help: "Skill call time by skill.", Buckets: buckets}, []string{"skill"}),
		skillStarts: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "skill_instance_start_seconds",
			Help: "Skill instances started (a cold start, initialisation included) and the time each took, by skill; its _count is the instantiations.", Buckets: buckets}, []string{"skill"}),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "payments_total",
			Help: "Gateway payment step outcomes by method (subscription, credits, byok, mpp, x402, free) and outcome."}, []string{"method", "outcome"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "rate_limited_total",
			Help: "Requests refused with 429, by rate-limit rule."}, []string{"rule"}),
	}
	r.MustRegister(m.requests, m.duration, m.inflight, m.plugin, m.pluginTime, m.skill, m.skillTime, m.skillStarts, m.payments, m.rateLimited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe is route.Deps.Observe: it counts and times each request of rt
// under the route's path (never the raw URL: one series per route).
func (m *Metrics) Observe(rt route.Route, h http.Handler) http.Handler {
	method := rt.Method
	var counters sync.Map // status code → its counter: series appear as codes do
	hist := m.duration.WithLabelValues(rt.Path, method)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inflight.Inc()
		defer m.inflight.Dec()
		rec, ok := w.(*api.StatusRecorder) // the access log's, when it is there
		if !ok {
			rec = &api.StatusRecorder{ResponseWriter: w}
			w = rec
		}
		h.ServeHTTP(w, r)
		code := rec.Status
		if code == 0 {
			code = http.StatusOK
		}
		c, ok := counters.Load(code)
		if !ok {
			c, _ = counters.LoadOrStore(code, m.requests.WithLabelValues(rt.Path, method, strconv.Itoa(code)))
		}
		c.(prometheus.Counter).Inc()
		hist.Observe(time.Since(start).Seconds())
	})
}

// RateLimited is ratelimit.Limiter.Refused.
func (m *Metrics) RateLimited(rule string) { m.rateLimited.WithLabelValues(rule).Inc() }

// Outcomes of a plugin or skill call.
const (
	OK      = "ok"
	Failed  = "failed"  // the target answered with an error of its own
	Crashed = "crashed" // a skill trapped, ran out of memory or wrote no JSON
	Timeout = "timeout" // the call's deadline passed
	Error   = "error"   // no answer otherwise: unavailable, cancelled, the platform's error
)

// PluginCall records one provider plugin call with its outcome.
func (m *Metrics) PluginCall(id string, took time.Duration, outcome string) {
	m.plugin.WithLabelValues(id, outcome).Inc()
	m.pluginTime.WithLabelValues(id).Observe(took.Seconds())
}

// SkillCall records one skill call with its outcome.
func (m *Metrics) SkillCall(skill string, took time.Duration, outcome string) {
	m.skill.WithLabelValues(skill, outcome).Inc()
	m.skillTime.WithLabelValues(skill).Observe(took.Seconds())
}

// SkillStarted records one skill instance started.
func (m *Metrics) SkillStarted(skill string, took time.Duration) {
	m.skillStarts.WithLabelValues(skill).Observe(took.Seconds())
}

// Payment records one outcome of the gateway's payment step.
func (m *Metrics) Payment(method, outcome string) { m.payments.WithLabelValues(method, outcome).Inc() }

// Gauge registers a gauge family read at scrape time: read returns the
// values by label value (bounded: at most the plugins, the queues).
func (m *Metrics) Gauge(name, help, label string, read func(ctx context.Context) (map[string]float64, error)) {
	m.Registry.MustRegister(&gaugeFunc{desc: prometheus.NewDesc(ns+"_"+name, help, []string{label}, nil), read: read})
}

type gaugeFunc struct {
	desc *prometheus.Desc
	read func(ctx context.Context) (map[string]float64, error)
}

func (g *gaugeFunc) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *gaugeFunc) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	vals, err := g.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(g.desc, err)
		return
	}
	for label, v := range vals {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v, label)
	}
}

// Handler serves the exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
