package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/server"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/internal/app"
)

// repoRoot is the repository's top directory (this package is cmd/agentbot).
const repoRoot = "../.."

// result is one run of the command.
type result struct {
	stdout, stderr string
	code           int
}

// session runs agentbot in-process: its environment (nothing of the process's
// own), a credentials file of its own, and stdin.
type session struct {
	t      *testing.T
	env    map[string]string
	config string
	stdin  string
	stdout io.Writer // also receives stdout, if set
}

func newTerm(t *testing.T, env map[string]string) *session {
	return &session{t: t, env: env, config: filepath.Join(t.TempDir(), "agentbot", "config.json")}
}

func (tm *session) run(args ...string) result {
	tm.t.Helper()
	var out, errb strings.Builder
	var stdout io.Writer = &out
	if tm.stdout != nil {
		stdout = io.MultiWriter(&out, tm.stdout)
	}
	c := &cli{stdin: strings.NewReader(tm.stdin), stdout: stdout, stderr: &errb,
		getenv: func(k string) string { return tm.env[k] }}
	code := c.run(context.Background(), append([]string{"--credentials", tm.config}, args...))
	return result{out.String(), errb.String(), code}
}

// ok runs args and fails the test unless they exit 0.
func (tm *session) ok(args ...string) result {
	tm.t.Helper()
	r := tm.run(args...)
	if r.code != 0 {
		tm.t.Fatalf("agentbot %s = exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// expect runs args and fails the test unless they exit with code.
func (tm *session) expect(code int, args ...string) result {
	tm.t.Helper()
	r := tm.run(args...)
	if r.code != code {
		tm.t.Fatalf("agentbot %s = exit %d; want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// jsonOf decodes a command's --json output.
func jsonOf[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
	}
	return v
}

// gatewayServer is the whole application on SQLite, without plugins.
func gatewayServer(t *testing.T, vars map[string]string) *servertest.Env {
	t.Helper()
	env := map[string]string{"AGENTBOT_PLUGIN_DIR": t.TempDir(), "AGENTBOT_SKILL_DIR": t.TempDir(),
		"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/v1/gateway=100000-M"}
	maps.Copy(env, vars)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return servertest.New(t, "sqlite", env, func(srv *server.Server) ([]route.Route, error) {
		m, err := app.Mount(context.Background(), srv, log)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { m.Close(context.Background()) })
		return m.Routes, nil
	})
}

// account signs up a verified user and returns an API key of theirs.
func account(t *testing.T, se *servertest.Env, email string) string {
	t.Helper()
	c := se.Client(t)
	_, csrf := c.SignUp(email, "password-"+email)
	return c.Do("POST", "/api/keys", map[string]any{"name": "setup"}, "X-CSRF-Token", csrf).Expect(t, 201, "").Str("key")
}

// fakeGateway serves h, for what a real server cannot be made to do on cue.
func fakeGateway(t *testing.T, h http.HandlerFunc) *session {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return newTerm(t, map[string]string{"AGENTBOT_URL": srv.URL, "AGENTBOT_KEY": "sk_fake"})
}

// notifyWriter signals each time something is written.
type notifyWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	wrote chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func writeFile(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
}
