package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/secrets"
)

func newBox(key []byte) (*secrets.Box, error) { return secrets.New(key) }

func killPID(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// requireNode skips (or fails under CI=true) when node or the npm package is
// missing; `npm ci` in dir installs it (.ci/run does).
func requireNode(t testing.TB, dir, pkg string) {
	t.Helper()
	_, errNode := exec.LookPath("node")
	_, errPkg := os.Stat(filepath.Join(dir, "node_modules", pkg))
	if errNode == nil && errPkg == nil {
		return
	}
	msg := "node or " + pkg + " missing: run `npm ci` in " + dir
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func runNode(dir, script string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}

// runNodeEnv is runNode with extra environment variables.
func runNodeEnv(dir string, env []string, script string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}
