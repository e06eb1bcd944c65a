package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var fixedNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))

// fakeProc writes loadavg and meminfo files giving the requested usages.
func fakeProc(t *testing.T, cpuPct, memPct float64) string {
	t.Helper()
	dir := t.TempDir()
	load := cpuPct / 100 * float64(runtime.NumCPU())
	writeFile(t, dir, "loadavg", fmt.Sprintf("%.4f 0.50 0.25 2/345 6789\n", load))
	const totalKB = 1_000_000
	availKB := int(totalKB * (100 - memPct) / 100)
	writeFile(t, dir, "meminfo", fmt.Sprintf(
		"MemTotal:       %d kB\nMemFree:         123 kB\nMemAvailable:   %d kB\nBuffers:           1 kB\n", totalKB, availKB))
	return dir
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func serve(t *testing.T, h *Handler) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/health", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return rec, body
}

func TestLevels(t *testing.T) {
	tests := []struct {
		name     string
		cpu, mem float64
		want     string
	}{
		{"idle", 5, 10, Healthy},
		{"at 70", 70, 70, Healthy},
		{"cpu above 70", 75, 10, Degraded},
		{"mem above 70", 10, 80, Degraded},
		{"at 85", 85, 20, Degraded},
		{"cpu above 85", 90, 10, Unhealthy},
		{"mem above 85", 10, 95, Unhealthy},
		{"overloaded", 250, 10, Unhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{ProcDir: fakeProc(t, tt.cpu, tt.mem), Now: func() time.Time { return fixedNow }}
			rec, body := serve(t, h)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, body %s", rec.Code, rec.Body)
			}
			if body["status"] != "ok" || body["health"] != tt.want {
				t.Fatalf("status/health = %v/%v, want ok/%s; body %s", body["status"], body["health"], tt.want, rec.Body)
			}
			cpu := body["cpu"].(map[string]any)
			if got := cpu["usage"].(float64); got != tt.cpu {
				t.Errorf("cpu.usage = %v, want %v", got, tt.cpu)
			}
			if got := cpu["cores"].(float64); int(got) != runtime.NumCPU() {
				t.Errorf("cpu.cores = %v", got)
			}
			mem := body["memory"].(map[string]any)
			if got := mem["usage"].(float64); got != tt.mem {
				t.Errorf("memory.usage = %v, want %v", got, tt.mem)
			}
			total, used, free := mem["total"].(float64), mem["used"].(float64), mem["free"].(float64)
			if total != 1_000_000*1024 || used+free != total {
				t.Errorf("memory total/used/free = %v/%v/%v", total, used, free)
			}
			if _, ok := body["checks"]; ok {
				t.Errorf("checks present without Checks: %s", rec.Body)
			}
		})
	}
}

func TestBodyShape(t *testing.T) {
	dir := fakeProc(t, 10, 20)
	h := &Handler{
		ProcDir: dir,
		Started: fixedNow.Add(-90*time.Second - 250*time.Millisecond),
		Now:     func() time.Time { return fixedNow },
	}
	rec, body := serve(t, h)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if body["timestamp"] != "2025-03-04T04:06:07Z" {
		t.Errorf("timestamp = %v", body["timestamp"])
	}
	if body["uptime"] != 90.25 {
		t.Errorf("uptime = %v", body["uptime"])
	}
	mem := body["memory"].(map[string]any)
	if mem["used"].(float64) != 200_000*1024 || mem["free"].(float64) != 800_000*1024 {
		t.Errorf("memory = %v", mem)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	// Key order follows the contract.
	want := []string{`"status"`, `"health"`, `"timestamp"`, `"cpu"`, `"memory"`, `"uptime"`}
	s, last := rec.Body.String(), -1
	for _, k := range want {
		i := strings.Index(s, k)
		if i < last {
			t.Fatalf("key %s out of order in %s", k, s)
		}
		last = i
	}
}

func TestRoundsToTwoDecimals(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "loadavg", fmt.Sprintf("%.6f 0 0 1/1 1\n", 0.123456*float64(runtime.NumCPU())))
	writeFile(t, dir, "meminfo", "MemTotal: 3 kB\nMemAvailable: 2 kB\n")
	_, body := serve(t, &Handler{ProcDir: dir})
	if got := body["cpu"].(map[string]any)["usage"]; got != 12.35 {
		t.Errorf("cpu.usage = %v, want 12.35", got)
	}
	if got := body["memory"].(map[string]any)["usage"]; got != 33.33 {
		t.Errorf("memory.usage = %v, want 33.33", got)
	}
}

func TestMemAvailableFallback(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "loadavg", "0.00 0.00 0.00 1/1 1\n")
	writeFile(t, dir, "meminfo", "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 50 kB\n")
	_, body := serve(t, &Handler{ProcDir: dir})
	mem := body["memory"].(map[string]any)
	if mem["free"].(float64) != 200*1024 || mem["usage"].(float64) != 80 {
		t.Errorf("memory = %v", mem)
	}
	if body["health"] != Degraded {
		t.Errorf("health = %v", body["health"])
	}
}

func TestUnreadable(t *testing.T) {
	cases := map[string]func(t *testing.T) string{
		"missing dir": func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") },
		"no meminfo": func(t *testing.T) string {
			d := t.TempDir()
			writeFile(t, d, "loadavg", "0.1 0.1 0.1 1/1 1\n")
			return d
		},
		"garbage loadavg": func(t *testing.T) string {
			d := fakeProc(t, 1, 1)
			writeFile(t, d, "loadavg", "nan?\n")
			return d
		},
		"no MemTotal": func(t *testing.T) string {
			d := fakeProc(t, 1, 1)
			writeFile(t, d, "meminfo", "MemAvailable: 5 kB\n")
			return d
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			h := &Handler{ProcDir: mk(t), Now: func() time.Time { return fixedNow }}
			rec, body := serve(t, h)
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500", rec.Code)
			}
			want := map[string]any{"status": "error", "health": "unhealthy", "timestamp": "2025-03-04T04:06:07Z",
				"error": "The host's statistics could not be read", "code": "INTERNAL"}
			if len(body) != len(want) {
				t.Fatalf("body = %s, want exactly %v", rec.Body, want)
			}
			for k, v := range want {
				if body[k] != v {
					t.Errorf("%s = %v, want %v", k, body[k], v)
				}
			}
		})
	}
}

func TestChecks(t *testing.T) {
	dir := fakeProc(t, 10, 10)
	ok := Check{Name: "redis", Fn: func(context.Context) error { return nil }}

	t.Run("all pass", func(t *testing.T) {
		rec, body := serve(t, &Handler{Detail: true, ProcDir: dir, Checks: []Check{ok, {Name: "database", Fn: ok.Fn}}})
		if rec.Code != 200 || body["status"] != "ok" || body["health"] != Healthy {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
		checks := body["checks"].(map[string]any)
		if checks["redis"] != "ok" || checks["database"] != "ok" || len(checks) != 2 {
			t.Errorf("checks = %v", checks)
		}
	})

	t.Run("one fails", func(t *testing.T) {
		bad := Check{Name: "database", Fn: func(context.Context) error {
			return errors.New("connection refused\nsecond line with details")
		}}
		rec, body := serve(t, &Handler{Detail: true, ProcDir: dir, Checks: []Check{ok, bad}})
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", rec.Code)
		}
		if body["status"] != "error" || body["health"] != Unhealthy {
			t.Errorf("status/health = %v/%v", body["status"], body["health"])
		}
		checks := body["checks"].(map[string]any)
		if checks["database"] != "error: connection refused" || checks["redis"] != "ok" {
			t.Errorf("checks = %v", checks)
		}
		if _, ok := body["cpu"]; !ok {
			t.Errorf("stats missing from 503 body: %s", rec.Body)
		}
	})

	t.Run("times out", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits for CheckTimeout")
		}
		release := make(chan struct{})
		defer close(release)
		stuck := Check{Name: "database", Fn: func(ctx context.Context) error {
			<-release // ignores ctx on purpose
			return nil
		}}
		slow := Check{Name: "redis", Fn: func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}}
		start := time.Now()
		rec, body := serve(t, &Handler{Detail: true, ProcDir: dir, Checks: []Check{stuck, slow}})
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %v", d)
		}
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d", rec.Code)
		}
		checks := body["checks"].(map[string]any)
		if checks["database"] != "error: timed out" || checks["redis"] != "error: timed out" {
			t.Errorf("checks = %v", checks)
		}
	})

	t.Run("panics and nil", func(t *testing.T) {
		p := Check{Name: "p", Fn: func(context.Context) error { panic("boom") }}
		n := Check{Name: "n"}
		rec, body := serve(t, &Handler{Detail: true, ProcDir: dir, Checks: []Check{p, n}})
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d", rec.Code)
		}
		checks := body["checks"].(map[string]any)
		if checks["p"] != "error: panic: boom" || !strings.HasPrefix(checks["n"].(string), "error: ") {
			t.Errorf("checks = %v", checks)
		}
	})

	t.Run("long message cut", func(t *testing.T) {
		long := Check{Name: "x", Fn: func(context.Context) error { return errors.New(strings.Repeat("é", 500)) }}
		_, body := serve(t, &Handler{Detail: true, ProcDir: dir, Checks: []Check{long}})
		msg := body["checks"].(map[string]any)["x"].(string)
		if n := len([]rune(msg)); n > maxCheckMessage+len("error: ")+1 {
			t.Errorf("message has %d runes", n)
		}
	})

	t.Run("with unreadable stats", func(t *testing.T) {
		rec, body := serve(t, &Handler{ProcDir: filepath.Join(dir, "missing"), Checks: []Check{ok}})
		if rec.Code != 500 || body["status"] != "error" || body["checks"].(map[string]any)["redis"] != "ok" {
			t.Errorf("got %d %s", rec.Code, rec.Body)
		}
	})
}

func TestMethodNotAllowed(t *testing.T) {
	rec := httptest.NewRecorder()
	(&Handler{}).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/health", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("got %d Allow=%q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestRealProc(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip("no /proc on this system")
	}
	h := &Handler{Started: time.Now().Add(-time.Minute)}
	rec, body := serve(t, h)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
	if body["status"] != "ok" {
		t.Errorf("status = %v", body["status"])
	}
	switch body["health"] {
	case Healthy, Degraded, Unhealthy:
	default:
		t.Errorf("health = %v", body["health"])
	}
	if _, err := time.Parse(time.RFC3339, body["timestamp"].(string)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	if !strings.HasSuffix(body["timestamp"].(string), "Z") {
		t.Errorf("timestamp not UTC: %v", body["timestamp"])
	}
	mem := body["memory"].(map[string]any)
	if mem["total"].(float64) <= 0 || mem["used"].(float64)+mem["free"].(float64) != mem["total"].(float64) {
		t.Errorf("memory = %v", mem)
	}
	if u := mem["usage"].(float64); u < 0 || u > 100 {
		t.Errorf("memory.usage = %v", u)
	}
	if c := body["cpu"].(map[string]any); c["usage"].(float64) < 0 || int(c["cores"].(float64)) != runtime.NumCPU() {
		t.Errorf("cpu = %v", c)
	}
	if up := body["uptime"].(float64); up < 59 || up > 3600 {
		t.Errorf("uptime = %v", up)
	}
}

func TestCheckMessagesHiddenWithoutDetail(t *testing.T) {
	dir := fakeProc(t, 10, 10)
	bad := Check{Name: "database", Fn: func(context.Context) error { return errors.New("dial tcp 10.0.0.5:5432: refused") }}
	_, body := serve(t, &Handler{ProcDir: dir, Checks: []Check{bad}})
	checks, _ := body["checks"].(map[string]any)
	if checks["database"] != "error" {
		t.Errorf("public check result = %v; want a bare \"error\" without the internal address", checks["database"])
	}
}

// With CacheFor, one reading serves every request for that long: checks run
// once however many requests come, and again once it has aged.
func TestHealthReadingIsShared(t *testing.T) {
	var runs atomic.Int64
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	h := &Handler{ProcDir: fakeProc(t, 10, 20),
		CacheFor: time.Second, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Checks: []Check{{Name: "db", Fn: func(context.Context) error { runs.Add(1); return nil }}}}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/health", nil))
			if rec.Code != 200 {
				t.Errorf("status %d", rec.Code)
			}
		}()
	}
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Errorf("checks ran %d times for 50 requests within CacheFor; want 1", n)
	}
	mu.Lock()
	now = now.Add(1500 * time.Millisecond)
	mu.Unlock()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/health", nil))
	if n := runs.Load(); n != 2 {
		t.Errorf("checks ran %d times after the reading aged; want 2", n)
	}
}
