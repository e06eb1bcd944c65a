// Package health serves GET /api/health: an unauthenticated liveness and load
// report for the process and its host.
//
// The response is
//
//	{"status":"ok","health":"healthy","timestamp":"2006-01-02T15:04:05Z",
//	 "cpu":{"usage":12.5,"cores":8},
//	 "memory":{"usage":40.12,"total":...,"used":...,"free":...},
//	 "uptime":123.45,
//	 "checks":{"database":"ok"}}
//
// cpu.usage is the 1-minute load average divided by the number of CPUs, as a
// percentage; memory comes from /proc/meminfo (used = MemTotal − MemAvailable,
// free = MemAvailable). health is "healthy" while both usages are ≤ 70%,
// "degraded" while the higher one is ≤ 85% and "unhealthy" above that.
//
// When the host statistics cannot be read (for instance on a system without
// /proc) the answer is 500 with {"status":"error","health":"unhealthy",
// "timestamp":...,"error":...,"code":"INTERNAL"}: the report's shape and the
// API's error members together. When a dependency check fails the answer is
// 503 with status "error", health "unhealthy" and the failing check reported as
// "error: <message>" in checks.
package health

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/agentbot/gateway/core/api"
)

// Thresholds (percent) between the health levels.
const (
	DegradedAbove  = 70.0
	UnhealthyAbove = 85.0
)

// CheckTimeout bounds each dependency check.
const CheckTimeout = 2 * time.Second

// maxCheckMessage bounds the error text reported for a failing check.
const maxCheckMessage = 120

// Health levels.
const (
	Healthy   = "healthy"
	Degraded  = "degraded"
	Unhealthy = "unhealthy"
)

// processStart stands in for Handler.Started when it is zero.
var processStart = time.Now()

// Check is a named dependency probe (e.g. "database", "redis"). Fn gets a
// context that expires after CheckTimeout and reports a problem as an error.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Handler serves the health report. The zero value works: it reads /proc,
// uses the wall clock and reports uptime since the package was initialised.
type Handler struct {
	// Detail shows each failing check's message; the endpoint is public, and
	// a dependency's error can name internal hosts, so only in dev mode.
	Detail bool
	// Log receives failed checks with their full error.
	Log *slog.Logger
	// Started is the process start time used for uptime; zero means the time
	// this package was initialised.
	Started time.Time
	// Checks are run concurrently on every request, each with CheckTimeout.
	Checks []Check
	// ProcDir is the procfs root; "" means "/proc". Tests point it at a fake.
	ProcDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CacheFor, when positive, reuses one reading of the checks and host
	// statistics for that long: a public endpoint polled by load balancers
	// (or anyone, in a loop) must not cost a database ping and two procfs
	// reads per request. Concurrent requests share the reading in flight,
	// and its answer, encoded once: its timestamp and uptime are the
	// reading's.
	CacheFor time.Duration
	// Components, if set, describes the node's moving parts (plugins, the
	// job engine) for the report; it informs and never fails the check.
	Components func(ctx context.Context) map[string]any

	mu   sync.Mutex
	last *reading
}

// reading is one evaluation of the checks and the host statistics.
type reading struct {
	at       time.Time
	checks   map[string]string
	checksOK bool
	cpu      CPU
	mem      Memory
	parts    map[string]any
	err      error

	// The answer, encoded once for every request the reading serves.
	encode sync.Once
	status int
	body   []byte
}

// read evaluates the checks and statistics, or reuses a reading younger
// than CacheFor.
func (h *Handler) read(ctx context.Context, now time.Time) *reading {
	if h.CacheFor <= 0 {
		rd := &reading{at: now}
		rd.checks, rd.checksOK = h.runChecks(ctx)
		rd.cpu, rd.mem, rd.err = h.stats()
		rd.parts = h.components(ctx)
		return rd
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last != nil && now.Sub(h.last.at) < h.CacheFor && now.Sub(h.last.at) >= 0 {
		return h.last
	}
	rd := &reading{at: now}
	rd.checks, rd.checksOK = h.runChecks(context.WithoutCancel(ctx))
	rd.cpu, rd.mem, rd.err = h.stats()
	rd.parts = h.components(context.WithoutCancel(ctx))
	h.last = rd
	return rd
}

func (h *Handler) components(ctx context.Context) map[string]any {
	if h.Components == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	return h.Components(ctx)
}

// Response is the success (200) and failing-check (503) body.
type Response struct {
	Status    string            `json:"status"`
	Health    string            `json:"health"`
	Timestamp string            `json:"timestamp"`
	CPU       CPU               `json:"cpu"`
	Memory    Memory            `json:"memory"`
	Uptime    float64           `json:"uptime"`
	Checks    map[string]string `json:"checks,omitempty"`
	// Components describes the node's parts: plugins (up, total, down) and
	// the job engine (state, queued).
	Components map[string]any `json:"components,omitempty"`
}

// ErrorResponse is the body when the host statistics cannot be read (500):
// the report's own fields, and the API's error members.
type ErrorResponse struct {
	Status    string            `json:"status"`
	Health    string            `json:"health"`
	Timestamp string            `json:"timestamp"`
	Checks    map[string]string `json:"checks,omitempty"`
	Error     string            `json:"error"`
	Code      api.Code          `json:"code"`
}

// CPU is the load report.
type CPU struct {
	Usage float64 `json:"usage"`
	Cores int     `json:"cores"`
}

// Memory is the memory report; sizes are in bytes.
type Memory struct {
	Usage float64 `json:"usage"`
	Total uint64  `json:"total"`
	Used  uint64  `json:"used"`
	Free  uint64  `json:"free"`
}

// ServeHTTP answers GET and HEAD; other methods get 405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		e := api.Errorf(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "Method not allowed")
		e.Header = http.Header{"Allow": {"GET, HEAD"}}
		api.WriteError(w, api.RequestID(r.Context()), e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	rd := h.read(r.Context(), h.now())
	rd.encode.Do(func() { rd.status, rd.body = h.answer(rd) })
	api.RawJSON(w, rd.status, rd.body)
}

// answer is the status and body that report rd: its time is the reading's,
// so one encoding serves every request within CacheFor.
func (h *Handler) answer(rd *reading) (int, []byte) {
	ts := rd.at.UTC().Format(time.RFC3339)
	if rd.err != nil {
		return answerJSON(http.StatusInternalServerError, ErrorResponse{
			Status: "error", Health: Unhealthy, Timestamp: ts, Checks: rd.checks,
			Error: "The host's statistics could not be read", Code: api.CodeInternal,
		})
	}
	started := h.Started
	if started.IsZero() {
		started = processStart
	}
	uptime := max(rd.at.Sub(started).Seconds(), 0)
	resp := Response{
		Status:     "ok",
		Health:     Level(rd.cpu.Usage, rd.mem.Usage),
		Timestamp:  ts,
		CPU:        rd.cpu,
		Memory:     rd.mem,
		Uptime:     round2(uptime),
		Checks:     rd.checks,
		Components: rd.parts,
	}
	status := http.StatusOK
	if !rd.checksOK {
		resp.Status = "error"
		resp.Health = Unhealthy
		status = http.StatusServiceUnavailable
	}
	return answerJSON(status, resp)
}

func answerJSON(status int, v any) (int, []byte) {
	b, err := json.Marshal(v)
	if err != nil { // the types above always encode
		b, status = []byte(`{"error":"Internal server error","code":"INTERNAL"}`), http.StatusInternalServerError
	}
	// With its newline, so that api.RawJSON, writing it for many requests at
	// once, never appends to the shared slice.
	return status, append(b, '\n')
}

// Level classifies cpu and memory usage percentages.
func Level(cpu, mem float64) string {
	m := max(cpu, mem)
	switch {
	case m > UnhealthyAbove || math.IsNaN(m):
		return Unhealthy
	case m > DegradedAbove:
		return Degraded
	}
	return Healthy
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) procDir() string {
	if h.ProcDir != "" {
		return h.ProcDir
	}
	return "/proc"
}

// stats reads CPU load and memory usage.
func (h *Handler) stats() (CPU, Memory, error) {
	dir := h.procDir()
	load, err := readLoadAvg(filepath.Join(dir, "loadavg"))
	if err != nil {
		return CPU{}, Memory{}, err
	}
	cores := runtime.NumCPU()
	cpu := CPU{Usage: round2(load / float64(cores) * 100), Cores: cores}

	total, avail, err := readMemInfo(filepath.Join(dir, "meminfo"))
	if err != nil {
		return CPU{}, Memory{}, err
	}
	avail = min(avail, total)
	used := total - avail
	mem := Memory{
		Usage: round2(float64(used) / float64(total) * 100),
		Total: total,
		Used:  used,
		Free:  avail,
	}
	return cpu, mem, nil
}

// readLoadAvg returns the 1-minute load average from a /proc/loadavg file.
func readLoadAvg(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0, fmt.Errorf("health: %s: empty", path)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("health: %s: bad load average %q", path, fields[0])
	}
	return v, nil
}

// readMemInfo returns MemTotal and MemAvailable in bytes from a /proc/meminfo
// file. Kernels without MemAvailable (< 3.14) get MemFree+Buffers+Cached.
func readMemInfo(path string) (total, avail uint64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()

	vals := make(map[string]uint64, 8)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch key {
		case "MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached":
		default:
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		n, perr := strconv.ParseUint(fields[0], 10, 64)
		if perr != nil {
			return 0, 0, fmt.Errorf("health: %s: bad %s value %q", path, key, fields[0])
		}
		mult := uint64(1)
		if len(fields) > 1 && strings.EqualFold(fields[1], "kB") {
			mult = 1024
		}
		vals[key] = n * mult
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	total, ok := vals["MemTotal"]
	if !ok || total == 0 {
		return 0, 0, fmt.Errorf("health: %s: no MemTotal", path)
	}
	avail, ok = vals["MemAvailable"]
	if !ok {
		free, ok := vals["MemFree"]
		if !ok {
			return 0, 0, fmt.Errorf("health: %s: no MemAvailable or MemFree", path)
		}
		avail = free + vals["Buffers"] + vals["Cached"]
	}
	return total, avail, nil
}

// runChecks runs every check concurrently and reports each as "ok" or
// "error: <message>". A check that ignores its context is abandoned when the
// timeout passes. ok is false when any check failed.
func (h *Handler) runChecks(ctx context.Context) (results map[string]string, ok bool) {
	if len(h.Checks) == 0 {
		return nil, true
	}
	results = make(map[string]string, len(h.Checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	ok = true
	for _, c := range h.Checks {
		wg.Go(func() {
			err := runCheck(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				ok = false
				results[c.Name] = "error"
				if h.Detail {
					results[c.Name] = "error: " + shortMessage(err)
				}
				if h.Log != nil {
					h.Log.Warn("health check failed", "check", c.Name, "err", err)
				}
				return
			}
			if _, dup := results[c.Name]; !dup {
				results[c.Name] = "ok"
			}
		})
	}
	wg.Wait()
	return results, ok
}

func runCheck(parent context.Context, c Check) error {
	if c.Fn == nil {
		return errors.New("no check function")
	}
	ctx, cancel := context.WithTimeout(parent, CheckTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("panic: %v", v)
			}
		}()
		done <- c.Fn(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errors.New("timed out")
		}
		return ctx.Err()
	}
}

// shortMessage is err's first line, cut to maxCheckMessage runes.
func shortMessage(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	s := err.Error()
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxCheckMessage {
		r := []rune(s)
		s = string(r[:maxCheckMessage]) + "…"
	}
	if s == "" {
		s = "failed"
	}
	return s
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
